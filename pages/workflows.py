"""/workflows: built-in and imported ComfyUI workflow templates and their bindings."""

from __future__ import annotations

from nicegui import ui

from components.frame import frame
from data.models import User


def page(user: User) -> None:
    with frame("Workflows", user):
        ui.label("Coming soon")
