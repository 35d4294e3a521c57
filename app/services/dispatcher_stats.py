"""How long this process's dispatcher ticks take, for administrators and the scale bench.

A tick that runs long delays every free GPU's next job; the figures are kept in memory (the last
few thousand ticks) because they describe this process, not the studio, and vanish with it.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

KEPT_TICKS = 2000

_lock = threading.Lock()
_tick_ms: deque[float] = deque(maxlen=KEPT_TICKS)
_total = 0


@dataclass(frozen=True)
class TickSummary:
    ticks: int  # since the process started
    recent: int  # how many of them the figures below describe
    tick_ms_p50: float
    tick_ms_p95: float
    tick_ms_max: float


def record_tick(milliseconds: float) -> None:
    global _total
    with _lock:
        _tick_ms.append(milliseconds)
        _total += 1


def summary() -> TickSummary:
    with _lock:
        values = sorted(_tick_ms)
        total = _total
    if not values:
        return TickSummary(ticks=total, recent=0, tick_ms_p50=0.0, tick_ms_p95=0.0, tick_ms_max=0.0)

    def at(share: float) -> float:
        return round(values[min(len(values) - 1, int(share * len(values)))], 2)

    return TickSummary(
        ticks=total, recent=len(values), tick_ms_p50=at(0.5), tick_ms_p95=at(0.95), tick_ms_max=round(values[-1], 2)
    )


def reset() -> None:
    global _total
    with _lock:
        _tick_ms.clear()
        _total = 0
