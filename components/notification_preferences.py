"""The account page's notification card: which events, sound, and desktop notices (opt-in, browser permission).

Every change is saved at once. Desktop notices are switched on only after the browser said yes to
Notification.requestPermission(): a preference the browser would silently ignore would mislead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from app.services import notifications
from data.models import User

from . import browser_script
from .feedback import success
from .service_call import call, read

EVENT_LABELS = {
    "job_completed": "A generation finished",
    "job_failed": "A generation failed",
    "batch_finished": "A batch finished (one summary instead of one notice per job)",
}
BLOCKED_HELP = (
    "Your browser blocks notifications from this site. To allow them, click the padlock or info icon "
    "left of the address, open Site settings (Firefox: Permissions), set Notifications to Allow, "
    "reload this page and press Enable again."
)
DISMISSED_HELP = "The browser's question was closed without an answer: press Enable again and choose Allow."
UNSUPPORTED_HELP = "This browser cannot show desktop notifications; toasts and the bell still work."


def notification_preferences_card(user: User) -> None:
    def save(**changes: Any) -> notifications.Preferences | None:
        saved = call(notifications.update_preferences, user, **changes)
        if saved is not None:
            saved_label.set_text("Saved")
        return saved

    prefs = read(notifications.own_preferences, user)
    with ui.card().classes("w-[480px] gap-2").props('data-testid="notification-preferences"'):
        with ui.row().classes("w-full items-center"):
            ui.label("Notifications").classes("text-subtitle1 grow")
            saved_label = ui.label("").classes("sc-muted text-xs").props('data-testid="preferences-saved"')
        ui.label(
            "Toasts appear bottom-right while StoryCanvas is open; every notice also stays in the bell's list."
        ).classes("sc-muted text-xs")
        ui.label("Tell me when").classes("text-xs mt-1")
        for kind, label in EVENT_LABELS.items():
            ui.checkbox(
                label, value=prefs.wants(kind), on_change=lambda e, k=kind: save(events={k: bool(e.value)})
            ).props("dense").mark(f"pref-{kind}")
        with ui.row().classes("items-center gap-2"):
            ui.checkbox("Play a short sound", value=prefs.sound, on_change=lambda e: save(sound=bool(e.value))).props(
                "dense"
            ).mark("pref-sound")
            ui.button("Test", icon="volume_up", on_click=lambda: ui.run_javascript("window.scAlerts.beep()")).props(
                "flat dense size=sm no-caps"
            )
        ui.separator().classes("my-1")
        _desktop_section(prefs, save)


def _desktop_section(prefs: notifications.Preferences, save: Callable[..., notifications.Preferences | None]) -> None:
    state = {"desktop": prefs.desktop}

    async def enable() -> None:
        help_label.set_visibility(False)
        answer = await browser_script.call("window.scAlerts.request", timeout=120)
        if answer == "granted":
            if save(desktop=True) is not None:
                state["desktop"] = True
                success("Desktop notifications are on for this browser.")
                switch.refresh()
            return
        help_label.set_text(
            BLOCKED_HELP if answer == "denied" else DISMISSED_HELP if answer == "default" else UNSUPPORTED_HELP
        )
        help_label.set_visibility(True)

    def turn_off() -> None:
        if save(desktop=False) is not None:
            state["desktop"] = False
            switch.refresh()

    @ui.refreshable
    def switch() -> None:
        on = state["desktop"]
        with ui.row().classes("w-full items-center gap-2 no-wrap"):
            ui.icon("desktop_windows" if on else "desktop_access_disabled", size="20px").classes(
                "text-primary" if on else "sc-muted"
            )
            with ui.column().classes("grow gap-0"):
                ui.label("Desktop notifications").classes("text-sm")
                ui.label(
                    "On: shown while StoryCanvas is in a background tab." if on else "Off: nothing outside this tab."
                ).classes("sc-muted text-xs").props('data-testid="desktop-state"')
            if on:
                ui.button("Turn off", on_click=turn_off).props('flat dense no-caps data-testid="desktop-off"')
            else:
                ui.button("Enable", icon="notifications_active", on_click=enable).props(
                    'unelevated dense no-caps color=primary data-testid="desktop-enable"'
                )

    switch()
    help_label = ui.label("").classes("text-warning text-xs").props('data-testid="desktop-help"')
    help_label.set_visibility(False)
    with ui.row().classes("items-center gap-2"):
        ui.label("Only for work that took at least").classes("text-xs")
        ui.number(
            value=prefs.desktop_min_seconds,
            min=0,
            max=86_400,
            step=10,
            format="%d",
            on_change=lambda e: save(desktop_min_seconds=int(e.value)) if e.value is not None else None,
        ).props("dense outlined suffix=s debounce=500").classes("w-24").mark("pref-desktop-min")
