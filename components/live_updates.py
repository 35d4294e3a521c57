"""Refreshing a page when a project changes elsewhere, without paying for it on every edit.

A drag on the timeline commits several times a second; every open dashboard of that project would
rebuild its scene list each time. So: only tabs that are connected react, bursts collapse into one
refresh after a short quiet moment, and the tab that made the edit skips its own echo (it redraws
what it changed itself; a late echo could also replace an element under the user's next click).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui import background_tasks, ui

from app.services import events


class Coalesced:
    """`request()` as often as events arrive; `action` runs once, `delay` seconds after the first of a
    burst, in the tab's context — and not at all for a tab that is gone or not connected."""

    def __init__(self, action: Callable[[], None], *, delay: float = 0.25, name: str = "refresh") -> None:
        self.action = action
        self.delay = delay
        self.name = name
        self.client = ui.context.client
        self._pending = False

    def request(self) -> None:
        if self._pending or self.client.is_deleted or not self.client.has_socket_connection:
            return
        self._pending = True
        background_tasks.create(self._later(), name=self.name)

    async def _later(self) -> None:
        await asyncio.sleep(self.delay)
        self._pending = False
        if self.client.is_deleted:
            return
        with self.client:
            self.action()


class ProjectWatch:
    def __init__(self, project_id: int | None, refresh: Callable[[], None], *, delay: float = 0.25) -> None:
        """project_id None watches every project (the projects list)."""
        self.project_id = project_id
        self.client = ui.context.client
        self._refresh = Coalesced(refresh, delay=delay, name="project watch refresh")
        events.project_changed.subscribe(self._changed)

    def _changed(self, project_id: int) -> None:
        if events.origin_client() is self.client or (self.project_id is not None and project_id != self.project_id):
            return
        self._refresh.request()
