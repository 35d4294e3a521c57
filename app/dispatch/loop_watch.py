"""How late the app's own event loop has been running.

A request's timeout is timed on the loop: when the loop itself stalls (a big page build, a burst of work on
two busy cores), the answer may sit unread in the socket while the timer runs out, and the server is blamed
for the app's delay. The failover asks this watch before it counts a timeout towards calling a server hung.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

# The watch wakes this often; each wake measures how late it came.
PERIOD_SECONDS = 0.1
# A wake later than this was a stall of the loop.
LATE_SECONDS = 0.5


class LoopWatch:
    def __init__(self) -> None:
        self._stalls: deque[tuple[float, float]] = deque(maxlen=256)  # (stall began, stall ended), monotonic
        self._last_wake: float | None = None
        self.started = False  # the dispatcher starts run() once, at its first tick

    async def run(self) -> None:
        while True:
            self._last_wake = before = time.monotonic()
            await asyncio.sleep(PERIOD_SECONDS)
            after = time.monotonic()
            if after - before - PERIOD_SECONDS > LATE_SECONDS:
                self._stalls.append((before + PERIOD_SECONDS, after))

    def stalled_since(self, since: float) -> bool:
        """True when the loop stalled at some point from `since` until now (a stall still going on included:
        the timeout's callback may run before the watch's own late wake)."""
        now = time.monotonic()
        if self._last_wake is not None and now - self._last_wake > PERIOD_SECONDS + LATE_SECONDS:
            return True
        return any(ended >= since for _, ended in self._stalls)
