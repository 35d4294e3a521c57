"""Events services emit after they commit; pages subscribe small refreshables to them.

Services also run in the API's worker threads and in the CLI, so emitting hops onto
NiceGUI's event loop: subscribers touch UI elements, which is only safe on that loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import Event, core

# Payload: the id of the project that changed.
project_changed: Event[int] = Event()


def emit(event: Event[Any], *args: Any) -> None:
    loop = core.loop
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None or running is loop:
        event.emit(*args)
    elif loop.is_running():
        loop.call_soon_threadsafe(event.emit, *args)
