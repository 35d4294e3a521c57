"""Names for controls that show only a picture: a screen reader reads the name, not the icon or the tooltip.

An icon button says what it does in its tooltip, which only a pointer sees. `name_icon_buttons` gives every
icon-only button under an element its tooltip's words as its accessible name, when it has no name of its own;
`name_dialog` names a dialog (screen readers announce it when it opens). The frame runs the first over each
page once it is built; a page runs both over a dialog it opens later. Names are property values (never
parsed), so user text in a tooltip stays text.
"""

from __future__ import annotations

from nicegui import ui


def name_icon_buttons(root: ui.element) -> None:
    """Every button under `root` (and `root` itself) without text or name takes its tooltip's words.

    `element.tooltip(text)` places the tooltip beside the element, aimed at it by `target="#c<id>"`.
    """
    elements = [root, *root.descendants()]
    tips = {
        str(element.props.get("target")): str(element.text)
        for element in elements
        if isinstance(element, ui.tooltip) and element.text and element.props.get("target")
    }
    for element in elements:
        if not isinstance(element, ui.button) or element.text or element.props.get("aria-label"):
            continue
        tip = tips.get(f"#{element.html_id}")
        if tip:
            element.props["aria-label"] = tip
            element.update()


def name_dialog(dialog: ui.dialog, name: str) -> None:
    """The dialog's accessible name, and names for its icon buttons."""
    dialog.props["aria-label"] = name
    name_icon_buttons(dialog)
    dialog.update()
