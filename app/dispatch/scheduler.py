"""APScheduler on NiceGUI's event loop: the dispatcher's tick and the servers' health checks.

Started by the app's start-up handler (AsyncIOScheduler must start inside the running loop)
and stopped at shutdown, which also closes the dispatcher's websockets.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.config import get_settings

from . import dispatcher as dispatch

log = logging.getLogger("storycanvas.dispatch")

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
