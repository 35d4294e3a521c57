"""A confirmation that says exactly what goes before anything a user made is removed."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui


def confirm(title: str, message: str, action: str, on_confirm: Callable[[], object], *, danger: bool = True) -> None:
    with ui.dialog() as dialog, ui.card().classes("w-[440px]"):
        ui.label(title).classes("text-h6")
        ui.label(message).classes("whitespace-pre-line").props('data-testid="confirm-message"')

        def go() -> None:
            dialog.close()
            on_confirm()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button(action, on_click=go).props('unelevated data-testid="confirm-action"').props(
                "color=negative" if danger else "color=primary"
            )
    dialog.open()
