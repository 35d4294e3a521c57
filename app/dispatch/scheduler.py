"""APScheduler on NiceGUI's event loop; started at app start-up and stopped at shutdown.

For now it only beats a heartbeat; the generation queue's tick replaces it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("storycanvas.dispatch")

_scheduler: AsyncIOScheduler | None = None
last_heartbeat: datetime | None = None


async def heartbeat() -> None:
    global last_heartbeat
    last_heartbeat = datetime.now(UTC)


def start() -> AsyncIOScheduler:
    """Must run inside the running loop (an app start-up handler)."""
    global _scheduler
    if _scheduler is not None and _scheduler.running:
        return _scheduler
    _scheduler = AsyncIOScheduler(timezone=UTC)
    _scheduler.add_job(
        heartbeat,
        "interval",
        seconds=5,
        id="heartbeat",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
    )
    _scheduler.start()
    return _scheduler


def stop() -> None:
    global _scheduler
    if _scheduler is not None and _scheduler.running:
        _scheduler.shutdown(wait=False)
    _scheduler = None


def is_running() -> bool:
    return _scheduler is not None and _scheduler.running
