"""Events services emit after they commit; pages subscribe small refreshables to them.

Services also run in the API's worker threads and in the CLI, so emitting hops onto
NiceGUI's event loop: subscribers touch UI elements, which is only safe on that loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import Client, Event, context, core
from nicegui.slot import Slot

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

_origin: Client | None = None


def origin_client() -> Client | None:
    """The browser tab whose action caused the event being delivered (None: the API, the CLI, a job)."""
    return _origin


def emit(event: Event[Any], *args: Any) -> None:
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
