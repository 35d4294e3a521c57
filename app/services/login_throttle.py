"""Slows repeated sign-in failures from one address, without telling an attacker which names exist."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from app.config import get_settings

_WINDOW_SECONDS = 15 * 60
_MAX_DELAY_SECONDS = 8.0


@dataclass
class _Record:
    failures: int = 0
    last_failure: float = 0.0


_records: dict[str, _Record] = {}


def delay_for(address: str) -> float:
    """Seconds to wait before answering the next attempt from this address."""
    record = _records.get(address)
    if record is None or time.monotonic() - record.last_failure > _WINDOW_SECONDS:
        return 0.0
    extra = record.failures - get_settings().login_failures_before_delay
    if extra < 0:
        return 0.0
    return min(_MAX_DELAY_SECONDS, 0.5 * 2**extra)


def record_failure(address: str) -> None:
    record = _records.setdefault(address, _Record())
    if time.monotonic() - record.last_failure > _WINDOW_SECONDS:
        record.failures = 0
    record.failures += 1
    record.last_failure = time.monotonic()


def record_success(address: str) -> None:
    _records.pop(address, None)


async def wait_before_attempt(address: str) -> None:
    delay = delay_for(address)
    if delay:
        await asyncio.sleep(delay)


def reset() -> None:
    _records.clear()
