"""/login: sign in, or create an account (the very first one becomes the administrator)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from app.services import browser_sessions, login_throttle, studio_settings, users
from components.field_errors import FieldErrors
from components.frame import apply_theme
from components.service_call import read, read_off_loop
from components.session import current_user, sign_in
from data.errors import DomainError, Invalid


def page(next: str | None = None) -> RedirectResponse | None:
    if current_user() is not None:
        return RedirectResponse(browser_sessions.safe_next(next), status_code=303)
    ui.page_title("Sign in · StoryCanvas")
    apply_theme()
    first_run = read(users.count_users) == 0
    registration_open = first_run or read(studio_settings.open_registration)

    async def do_login() -> None:
        login_error.set_text("")
        address = ui.context.client.ip or "unknown"
        name, password = login_name.value or "", login_password.value or ""

        def check() -> object:
            return read(users.authenticate, name, password)

        user = await login_throttle.attempt(name, address, check)
        if user is None:
            login_error.set_text("Wrong username or password.")
            return
        sign_in(user, next)  # type: ignore[arg-type]  # a new session cookie, then on to `next` if it is ours

    async def do_register() -> None:
        errors = register_errors
        errors.clear()
        if reg_password.value != reg_confirm.value:
            errors.show(Invalid("Repeat password: type the same password twice.", field="confirm"))
            return
        try:
            data = users.validate_registration(reg_name.value or "", reg_email.value or "", reg_password.value or "")
            user = await read_off_loop(users.register, data)
        except DomainError as error:
            errors.show(error)
            return
        if user is None:  # the server is stopping: NiceGUI's run gives no result then
            return
        sign_in(user, "/projects")

    with ui.element("main").classes("column absolute-center items-center gap-4 w-96 max-w-[94vw]"):
        TextElement(tag="h1", text="StoryCanvas").classes("text-h5 sc-brand m-0")
        ui.label("From idea to editor").classes("sc-muted -mt-3")
        if first_run:
            ui.label("No accounts yet: create the first one, it becomes the administrator.").classes(
                "text-warning text-center"
            ).props('data-testid="first-run"')
        with ui.card().classes("w-full p-0"):
            with ui.tabs().classes("w-full") as tabs:
                sign_in_tab = ui.tab("Sign in")
                register_tab = ui.tab("Create account")
            with ui.tab_panels(tabs, value=register_tab if first_run else sign_in_tab).classes("w-full"):
                with ui.tab_panel(sign_in_tab).classes("gap-2"):
                    login_name = ui.input("Username or email").props("outlined dense autofocus").classes("w-full")
                    login_password = ui.input("Password", password=True).props("outlined dense").classes("w-full")
                    login_password.on("keydown.enter", do_login)
                    login_error = ui.label("").classes("text-negative").props('data-testid="login-error"')
                    ui.button("Sign in", on_click=do_login).props("unelevated").classes("w-full")
                with ui.tab_panel(register_tab).classes("gap-2"):
                    if not registration_open:
                        ui.label(users.REGISTRATION_CLOSED).props('data-testid="registration-closed"')
                    reg_name = ui.input("Username").props("outlined dense").classes("w-full")
                    reg_email = ui.input("Email").props("outlined dense type=email").classes("w-full")
                    reg_password = (
                        ui.input("Password (8+ characters)", password=True).props("outlined dense").classes("w-full")
                    )
                    reg_confirm = ui.input("Repeat password", password=True).props("outlined dense").classes("w-full")
                    reg_confirm.on("keydown.enter", do_register)
                    register_error = ui.label("").classes("text-negative").props('data-testid="register-error"')
                    register_errors = FieldErrors(
                        {"username": reg_name, "email": reg_email, "password": reg_password, "confirm": reg_confirm},
                        register_error,
                    )
                    ui.button("Create account", on_click=do_register).props("unelevated").classes("w-full").set_enabled(
                        registration_open
                    )
    return None


def register() -> None:
    ui.page("/login")(page)
