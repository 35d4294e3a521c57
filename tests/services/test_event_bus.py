"""Live updates between app processes on one PostgreSQL (LISTEN/NOTIFY); SQLite stays one process."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from app.services import event_bus, events
from data.engine import get_engine

POSTGRES = os.environ.get("STORYCANVAS_TEST_DB", "sqlite").lower() in ("postgresql", "postgres", "pg")


def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _url() -> str:
    return get_engine().url.render_as_string(hide_password=False)


def test_sqlite_needs_no_bus() -> None:
    assert event_bus.psycopg_url("sqlite:////data/storycanvas.db") is None
    assert event_bus.psycopg_url("postgresql+psycopg://db:5432/studio") == "postgresql://db:5432/studio"
    if not POSTGRES:
        assert events.share_between_processes(_url()) is False and event_bus.current() is None


@pytest.mark.skipif(not POSTGRES, reason="LISTEN/NOTIFY is PostgreSQL's; the PostgreSQL run covers it")
def test_what_one_process_emits_reaches_the_others_and_not_itself() -> None:
    heard_a: list[tuple[str, int]] = []
    heard_b: list[tuple[str, int]] = []
    url = event_bus.psycopg_url(_url())
    assert url is not None
    a = event_bus.EventBus(url, lambda name, value: heard_a.append((name, value))).start()
    b = event_bus.EventBus(url, lambda name, value: heard_b.append((name, value))).start()
    try:
        assert a.wait_listening() and b.wait_listening()
        a.publish("jobs_changed", 41)
        a.publish("job_progress", 42)
        assert _eventually(lambda: heard_b == [("jobs_changed", 41), ("job_progress", 42)]), heard_b
        time.sleep(0.2)
        assert heard_a == []  # a process does not hear its own events twice
    finally:
        a.stop()
        b.stop()


@pytest.mark.skipif(not POSTGRES, reason="LISTEN/NOTIFY is PostgreSQL's; the PostgreSQL run covers it")
def test_the_apps_events_travel_both_ways() -> None:
    """This process's emits reach another process's bus, and that process's notices reach this one's subscribers."""
    other_heard: list[tuple[str, int]] = []
    here: list[int] = []
    events.jobs_changed.subscribe(here.append)
    assert events.share_between_processes(_url())
    url = event_bus.psycopg_url(_url())
    assert url is not None
    other = event_bus.EventBus(url, lambda name, value: other_heard.append((name, value))).start()
    try:
        bus = event_bus.current()
        assert bus is not None and bus.wait_listening() and other.wait_listening()
        events.emit(events.notifications_changed, 7)
        assert _eventually(lambda: ("notifications_changed", 7) in other_heard), other_heard
        other.publish("jobs_changed", 99)
        assert _eventually(lambda: 99 in here), here
        other.publish("no_such_event", 1)  # from a newer version, say: ignored
        other.publish("jobs_changed", 100)
        assert _eventually(lambda: here[-1] == 100), here
    finally:
        other.stop()
        events.stop_sharing()
    assert event_bus.current() is None
