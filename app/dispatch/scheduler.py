"""APScheduler on NiceGUI's event loop: the dispatcher's tick and the servers' health checks.

Started by the app's start-up handler (AsyncIOScheduler must start inside the running loop)
and stopped at shutdown, which also closes the dispatcher's websockets.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.config import get_settings

from . import dispatcher as dispatch

log = logging.getLogger("storycanvas.dispatch")

TRIM_EVERY_SECONDS = 30.0

_scheduler: AsyncIOScheduler | None = None
last_heartbeat: datetime | None = None


async def tick() -> None:
    global last_heartbeat
    last_heartbeat = datetime.now(UTC)
    current = dispatch.current()
    if current is not None:
        await current.tick()


async def health() -> None:
    from app.services import server_health

    await asyncio.to_thread(server_health.run_checks_off_the_loop)


async def probe_offline() -> None:
    """Offline servers are asked every few seconds: one that comes back gets work at once."""
    from app.services import server_health

    await asyncio.to_thread(server_health.run_checks_off_the_loop, only_offline=True)


def _libc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where there is one (Linux with glibc); None elsewhere."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
        return trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _libc_trim()


async def trim_memory() -> None:
    """Hand freed heap memory back to the system.

    A busy hour (thousands of results stored, big pages built and dropped) leaves glibc holding freed
    memory in its arenas; without this the process's resident size only ever grows."""
    if _malloc_trim is not None:
        await asyncio.to_thread(_malloc_trim, 0)


def start() -> AsyncIOScheduler:
    """Must run inside the running loop (an app start-up handler)."""
    global _scheduler
    if _scheduler is not None and _scheduler.running:
        return _scheduler
    settings = get_settings()
    if settings.run_dispatcher and dispatch.current() is None:
        dispatch.install(dispatch.Dispatcher())
    _scheduler = AsyncIOScheduler(timezone=UTC)
    common = {"max_instances": 1, "coalesce": True, "next_run_time": datetime.now(UTC)}
    _scheduler.add_job(tick, "interval", seconds=settings.dispatch_tick_seconds, id="dispatch", **common)
    _scheduler.add_job(trim_memory, "interval", seconds=TRIM_EVERY_SECONDS, id="trim-memory", **common)
    if settings.run_dispatcher:
        _scheduler.add_job(health, "interval", seconds=settings.health_interval_seconds, id="health", **common)
        _scheduler.add_job(
            probe_offline, "interval", seconds=settings.offline_probe_seconds, id="probe-offline", **common
        )
    _scheduler.start()
    return _scheduler


async def stop() -> None:
    global _scheduler
    if _scheduler is not None and _scheduler.running:
        _scheduler.shutdown(wait=False)
    _scheduler = None
    current = dispatch.current()
    if current is not None:
        dispatch.install(None)
        await current.close()


def is_running() -> bool:
    return _scheduler is not None and _scheduler.running
