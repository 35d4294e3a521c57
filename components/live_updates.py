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

from app.services import events, job_views
from data.models import GenerationJob, User

from .service_call import read


class Coalesced:
    """`request()` as often as events arrive; `action` runs once, `delay` seconds after the first of a
    burst, in the tab's context — and not at all for a tab that is gone or not connected."""

    def __init__(self, action: Callable[[], object], *, delay: float = 0.25, name: str = "refresh") -> None:
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
    def __init__(self, project_id: int | None, refresh: Callable[[], object], *, delay: float = 0.25) -> None:
        """project_id None watches every project (the projects list)."""
        self.project_id = project_id
        self.client = ui.context.client
        self._refresh = Coalesced(refresh, delay=delay, name="project watch refresh")
        events.project_changed.subscribe(self._changed)

    def _changed(self, project_id: int) -> None:
        if events.origin_client() is self.client or (self.project_id is not None and project_id != self.project_id):
            return
        self._refresh.request()


class JobProgressFeed:
    """Progress ticks of running jobs, delivered to the rows that show them without redrawing a list.

    A running job reports several times a second; the ticks of a short moment are gathered and each
    shown job is read once (through the viewer's own visibility rules). `wants(job_id)` keeps the
    cost of other people's jobs to one lookup; `apply(job, has_preview)` updates a row and says False
    when the row cannot show the change (then `stale()` asks for a full redraw)."""

    def __init__(
        self,
        user: User,
        wants: Callable[[int], bool],
        apply: Callable[[GenerationJob, bool], bool],
        stale: Callable[[], None],
        *,
        delay: float = 0.15,
        name: str = "job progress",
    ) -> None:
        self.user = user
        self.wants = wants
        self.apply = apply
        self.stale = stale
        self.delay = delay
        self.name = name
        self.client = ui.context.client
        self._pending: set[int] = set()
        events.job_progress.subscribe(self._tick)

    def close(self) -> None:
        """For a feed that ends before its tab does (a dialog that closes)."""
        events.job_progress.unsubscribe(self._tick)

    def _tick(self, job_id: int) -> None:
        if self.client.is_deleted or not self.wants(job_id):
            return
        if not self._pending:
            background_tasks.create(self._later(), name=self.name)
        self._pending.add(job_id)

    async def _later(self) -> None:
        await asyncio.sleep(self.delay)
        pending, self._pending = self._pending, set()
        if self.client.is_deleted:
            return
        stale = False
        with self.client:
            for found in read(job_views.progress_of, self.user, pending).values():
                if found is None:
                    stale = True
                    continue
                stale |= not self.apply(*found)
        if stale:
            with self.client:
                self.stale()
