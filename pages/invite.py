"""/invite/{token}: the invitee's side of an invitation link — create an account, or learn why the link is dead.

Open to anyone: the token is the permission. The rule that the link works once, until it expires
and while it is not revoked, lives in app/services/invitations; this page says what it answered.
"""

from __future__ import annotations

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from app.services import invitations, users
from components.frame import apply_theme
from components.service_call import read, read_off_loop
from components.session import sign_in
from data.errors import DomainError


def page(token: str) -> None:
    ui.page_title("Join · StoryCanvas")
    apply_theme()
    try:
        invitation = read(invitations.open_invitation, token)
        problem = None
    except DomainError as error:
        invitation, problem = None, error.message

    with ui.element("main").classes("column absolute-center items-center gap-4 w-96 max-w-[94vw]"):
        TextElement(tag="h1", text="StoryCanvas").classes("text-h5 sc-brand m-0")
        if invitation is None:
            ui.icon("link_off", size="40px").classes("sc-muted")
            ui.label("This invitation link cannot be used").classes("text-h6 text-center")
            ui.label(problem or invitations.NOT_VALID).classes("text-center").props('data-testid="invite-problem"')
            ui.link("Go to sign in", "/login")
            return
        _form(token, invitation.email, invitation.is_admin, f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC")


def _form(token: str, email_for: str | None, as_admin: bool, expires: str) -> None:
    role = "an administrator" if as_admin else "a member"
    ui.label(f"You are invited to join this studio as {role}.").classes("text-center").props(
        'data-testid="invite-welcome"'
    )
    ui.label(f"The link creates one account and works until {expires}.").classes("sc-muted text-xs text-center")
    with ui.card().classes("w-full gap-2"):
        name = ui.input("Username").props("outlined dense autofocus").classes("w-full")
        email = ui.input("Email", value=email_for or "").props("outlined dense type=email").classes("w-full")
        if email_for:
            email.props("readonly")
            ui.label("This invitation is for this address.").classes("sc-muted text-xs -mt-2")
        password = ui.input("Password (8+ characters)", password=True).props("outlined dense").classes("w-full")
        repeat = ui.input("Repeat password", password=True).props("outlined dense").classes("w-full")
        error = ui.label("").classes("text-negative").props('data-testid="invite-error"')

        async def create() -> None:
            error.set_text("")
            if password.value != repeat.value:
                error.set_text("The two passwords differ: type the same password twice.")
                return
            try:
                data = users.validate_registration(name.value or "", email.value or "", password.value or "")
                user = await read_off_loop(users.register, data, invitation=token)
            except DomainError as failure:
                error.set_text(failure.message)
                return
            if user is None:  # the server is stopping: NiceGUI's run gives no result then
                return
            sign_in(user, "/projects")

        repeat.on("keydown.enter", create)
        ui.button("Create account", on_click=create).props('unelevated data-testid="invite-create"').classes("w-full")


def register() -> None:
    ui.page("/invite/{token}")(page)
