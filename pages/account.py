"""/account: change password, theme, third-party API keys (stored encrypted, shown masked) and notifications."""

from __future__ import annotations

from nicegui import ui

from app.services import browser_sessions, users
from components.feedback import success
from components.frame import frame
from components.notification_preferences import notification_preferences_card
from components.service_call import call, read
from components.session import sign_in
from data.errors import DomainError
from data.models import User

PROVIDER_LABELS = {
    "openai": "OpenAI-compatible (video generation)",
    "comfyui": "ComfyUI (default bearer key)",
    "civitai": "CivitAI (model metadata)",
}


def page(user: User, password: str | None = None) -> None:
    with frame("Account", user), ui.row().classes("w-full gap-4 items-start"):
        _password_card(user, changed=password == "changed")
        _api_keys_card(user)
        notification_preferences_card(user)


def _password_card(user: User, *, changed: bool = False) -> None:
    with ui.card().classes("w-96 gap-2"):
        ui.label("Change password").classes("text-subtitle1")
        role = " · administrator" if user.is_admin else ""
        ui.label(f"Signed in as {user.username} ({user.email}){role}").classes("sc-muted text-xs")
        current = ui.input("Current password", password=True).props("outlined dense").classes("w-full")
        new = ui.input("New password (8+ characters)", password=True).props("outlined dense").classes("w-full")
        repeat = ui.input("Repeat new password", password=True).props("outlined dense").classes("w-full")
        error = ui.label("").classes("text-negative").props('data-testid="password-error"')
        if changed:
            ui.label("Password changed. Every other browser and API token was signed out.").classes(
                "text-positive"
            ).props('data-testid="password-changed"')

        def change() -> None:
            error.set_text("")
            if new.value != repeat.value:
                error.set_text("The new passwords differ: type the same one twice.")
                return
            try:
                updated = read(browser_sessions.change_password, user, current.value, new.value)
            except DomainError as failure:
                error.set_text(failure.message)
                return
            # Every session of the account ended, this one too: this browser gets a new one.
            sign_in(updated, "/account?password=changed")

        ui.button("Change password", on_click=change).props("unelevated")


def _api_keys_card(user: User) -> None:
    with ui.card().classes("w-[480px] gap-2"):
        ui.label("API keys").classes("text-subtitle1")
        ui.label("Stored encrypted; only the first and last characters are ever shown again.").classes(
            "sc-muted text-xs"
        )

        @ui.refreshable
        def keys() -> None:
            views = read(users.list_api_keys, user)
            for view in views:
                with ui.column().classes("w-full gap-1"):
                    with ui.row().classes("w-full items-center gap-2"):
                        ui.label(PROVIDER_LABELS[view.provider]).classes("grow")
                        hint = ui.label(view.hint if view.configured else "not set").classes("sc-muted text-xs")
                        hint.props["data-testid"] = f"key-hint-{view.provider}"
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        key = (
                            ui.input("New key", password=True, password_toggle_button=True)
                            .props("outlined dense")
                            .classes("grow")
                            .mark(f"key-{view.provider}")
                        )
                        base_url = None
                        if view.provider == "openai":
                            base_url = (
                                ui.input("Base URL", value=view.base_url or "").props("outlined dense").classes("w-40")
                            )

                        def save(
                            provider: str = view.provider, key: ui.input = key, base_url: ui.input | None = base_url
                        ) -> None:
                            saved = call(
                                users.save_api_key, user, provider, key.value, base_url.value if base_url else None
                            )
                            if saved is None:
                                return
                            success("Key saved" if key.value else "Key removed")
                            keys.refresh()

                        save_button = ui.button(icon="save", on_click=save).props("flat dense")
                        save_button.props["aria-label"] = "Save the key"
                        save_button.props["data-testid"] = f"save-key-{view.provider}"
                        save_button.mark(f"save-key-{view.provider}").tooltip("Save (empty removes)")

        keys()
