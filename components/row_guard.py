"""One row of a list built on its own: if it fails, an error row takes its place and the page still works.

A stored row nobody can show (a graph nested hundreds of levels, JSON of the wrong shape, a value another tool
wrote) used to make the whole page answer 500 for everyone who could see that row. `guarded` builds a row,
removes whatever half of it was made when it fails, logs why and shows `unreadable_row` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from nicegui import context, ui

from app.services.unreadable_rows import describe

log = logging.getLogger("storycanvas.rows")


def guarded(build: Callable[[], None], on_failure: Callable[[str], None], what: str) -> bool:
    """Run `build` in the current container; on failure, undo its elements and call on_failure(reason).

    `what` names the row in the log ("project 7"). Returns whether the row was built."""
    slot = context.slot
    before = len(slot.children)
    try:
        build()
    except Exception as error:  # this row only: the rest of the list still renders
        log.warning("%s could not be shown", what, exc_info=error)
        for child in list(slot.children[before:]):
            child.delete()
        on_failure(describe(error))
        return False
    return True


def unreadable_row(
    noun: str,
    row_id: int,
    reason: str,
    *,
    name: str | None = None,
    on_delete: Callable[[], None] | None = None,
    card: bool = False,
) -> None:
    """A compact error in place of a row (or a card, in a grid): what it is, why, and what to do."""
    box = ui.card() if card else ui.row()
    box.classes("sc-card gap-1 p-3 w-64" if card else "sc-card w-full items-center no-wrap gap-3 px-3 py-2 rounded")
    box.props["data-testid"] = "unreadable-row"
    box.props["data-row-id"] = str(row_id)
    with box:
        with ui.row().classes("items-center no-wrap gap-2 min-w-0 grow"):
            ui.icon("error_outline", size="20px").classes("text-negative")
            with ui.column().classes("gap-0 min-w-0"):
                advice = "delete it or ask an administrator" if on_delete else "ask an administrator"
                ui.label(f"This {noun} could not be shown: {reason} — {advice}.").classes(
                    "text-xs whitespace-normal"
                ).props('data-testid="unreadable-message"')
                ui.label(f"{noun.capitalize()} {row_id}" + (f" · {name}" if name else "")).classes(
                    "sc-muted text-xs ellipsis"
                )
        if on_delete is not None:
            button = ui.button("Delete…", icon="delete", on_click=on_delete).props(
                'flat dense no-caps color=red-3 data-testid="delete-unreadable"'
            )
            button.props["aria-label"] = f"Delete {noun} {row_id}"
