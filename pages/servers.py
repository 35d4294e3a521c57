"""/servers: the ComfyUI fleet — status lights, queue depth, GPU/VRAM; add, edit, test, enable, delete."""

from __future__ import annotations

from nicegui import ui

from components.frame import frame
from data.models import User


def page(user: User) -> None:
    with frame("Servers", user):
        ui.label("Coming soon")
