"""Events services emit after they commit; pages subscribe small refreshables to them.

Services also run in the API's worker threads and in the CLI, so emitting hops onto
NiceGUI's event loop: subscribers touch UI elements, which is only safe on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from nicegui import Client, Event, context, core
from nicegui.slot import Slot

from . import event_bus

# Payload: the id of the project that changed.
project_changed: Event[int] = Event()
# Payload: the id of the server whose settings, health or catalog changed.
servers_changed: Event[int] = Event()
# Payload: the id of the project whose jobs were created, changed status or were removed.
jobs_changed: Event[int] = Event()
# Payload: the id of a running job with new progress, node or preview (frequent; keep handlers cheap).
job_progress: Event[int] = Event()
# Payload: the id of the user whose notifications or notification preferences changed.
notifications_changed: Event[int] = Event()



class Signal:
    """An engine-side event: subscribers run in the emitter's thread (a REST worker, the loop, the CLI).

    The dispatcher is its subscriber; services emit it and never import the dispatcher, which is
    installed above them. Subscribers must be cheap and thread-safe.
    """

    def __init__(self) -> None:
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        if callback not in self._subscribers:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(callback)

    def emit(self) -> None:
        for callback in list(self._subscribers):
            callback()


# Work entered the queue (new jobs, retries, a batch's failures sent again): wake the dispatcher.
jobs_queued = Signal()

_origin: Client | None = None


def origin_client() -> Client | None:
    """The browser tab whose action caused the event being delivered (None: the API, the CLI, a job)."""
    return _origin


# The events other app processes hear too (event_bus.py); their payload is one id.
SHARED: dict[str, Event[int]] = {
    "project_changed": project_changed,
    "servers_changed": servers_changed,
    "jobs_changed": jobs_changed,
    "job_progress": job_progress,
    "notifications_changed": notifications_changed,
}
_SHARED_NAMES = {id(event): name for name, event in SHARED.items()}


def share_between_processes(database_url: str) -> bool:
    """On PostgreSQL, events travel to the other app processes on the same database; False on SQLite."""
    return event_bus.start(database_url, _deliver_from_another_process) is not None


def stop_sharing() -> None:
    event_bus.stop()


def _deliver_from_another_process(name: str, value: int) -> None:
    event = SHARED.get(name)
    if event is not None:
        _emit_here(event, value)


def emit(event: Event[Any], *args: Any) -> None:
    bus = event_bus.current()
    name = _SHARED_NAMES.get(id(event))
    if bus is not None and name is not None and len(args) == 1 and isinstance(args[0], int):
        bus.publish(name, args[0])
    _emit_here(event, *args)


def _emit_here(event: Event[Any], *args: Any) -> None:
    global _origin
    loop = core.loop
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None or running is loop or not loop.is_running():
        # No UI loop to hop to (a stopped one left behind, or none yet): deliver here.
        _origin = context.client if Slot.get_stack() else None
        try:
            event.emit(*args)
        finally:
            _origin = None
    elif loop.is_running():
        loop.call_soon_threadsafe(event.emit, *args)
