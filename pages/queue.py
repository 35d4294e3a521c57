"""/queue: every generation job, live, with filters and per-job and bulk actions."""

from __future__ import annotations

from nicegui import ui

from components.frame import frame
from data.models import User


def page(user: User) -> None:
    with frame("Queue", user):
        ui.label("Coming soon")
