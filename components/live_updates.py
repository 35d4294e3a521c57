"""Refreshing a page when a project changes elsewhere, without paying for it on every edit.

A drag on the timeline commits several times a second; every open dashboard of that project would
rebuild its scene list each time. So: only tabs that are connected react, bursts collapse into one
refresh after a short quiet moment, and the tab that made the edit skips its own echo (it redraws
what it changed itself; a late echo could also replace an element under the user's next click).
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import background_tasks, ui

from app.services import events


class ProjectWatch:
    def __init__(self, project_id: int | None, refresh: Callable[[], None], *, delay: float = 0.25) -> None:
        """project_id None watches every project (the projects list)."""
        self.project_id = project_id
        self.refresh = refresh
        self.delay = delay
        self.client = ui.context.client
        self._pending = False
        events.project_changed.subscribe(self._changed)

    def _changed(self, project_id: int) -> None:
        if events.origin_client() is self.client or (self.project_id is not None and project_id != self.project_id):
            return
        if not self.client.has_socket_connection or self._pending:
            return
        self._pending = True
        background_tasks.create(self._later(), name="project watch refresh")

    async def _later(self) -> None:
        import asyncio

        await asyncio.sleep(self.delay)
        self._pending = False
        if self.client.is_deleted:
            return
        with self.client:
            self.refresh()
