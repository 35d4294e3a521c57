"""Live updates across app processes on one PostgreSQL: the same small id-only events, over LISTEN/NOTIFY.

A studio that runs several processes shares one database; a tab is served by one process, while the
job it watches may be finished by another. Each process publishes what it emits locally and delivers
what the others published, so toasts, progress and live lists reach every tab. SQLite stays
single-process and needs none of this.

One thread per process owns one autocommit connection: it sends the queued notices and listens for
the others' in the same loop (a notice waits at most `POLL_SECONDS` to go out). A lost connection is
opened again with a growing pause; events meanwhile are dropped, not queued without bound (pages
also refresh on their own timers, so a missed event costs a few seconds of staleness, not data).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable

log = logging.getLogger("storycanvas.events")

CHANNEL = "storycanvas_events"
POLL_SECONDS = 0.05
MAX_WAITING = 10_000  # notices waiting to go out while the database is away; past this they are dropped


def psycopg_url(sqlalchemy_url: str) -> str | None:
    """The libpq address of a PostgreSQL SQLAlchemy URL; None for any other database."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if sqlalchemy_url.startswith(prefix):
            return "postgresql://" + sqlalchemy_url[len(prefix) :]
    return None


class EventBus:
    """Publishes `name:id` notices and hands the other processes' notices to `deliver(name, id)`."""

    def __init__(self, url: str, deliver: Callable[[str, int], None]) -> None:
        self.url = url
        self.origin = uuid.uuid4().hex[:12]
        self._deliver = deliver
        self._outgoing: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-bus", daemon=True)

    def start(self) -> EventBus:
        self._thread.start()
        return self

    def wait_listening(self, timeout: float = 10.0) -> bool:
        """True once the bus hears the others (tests and start-up use it)."""
        return self._listening.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def publish(self, name: str, value: int) -> None:
        if self._outgoing.qsize() < MAX_WAITING:
            self._outgoing.put(f"{self.origin}:{name}:{int(value)}")

    def _run(self) -> None:
        pause = 0.5
        while not self._stop.is_set():
            try:
                self._serve()
                pause = 0.5
            except Exception as error:  # the database went away or restarted: open again after a pause
                self._listening.clear()
                log.warning("Live updates between app processes paused (%s); retrying in %.1f s", error, pause)
                self._stop.wait(pause)
                pause = min(pause * 2, 10.0)

    def _serve(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._listening.set()
            while not self._stop.is_set():
                while True:
                    try:
                        payload = self._outgoing.get_nowait()
                    except queue.Empty:
                        break
                    connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                for notice in connection.notifies(timeout=POLL_SECONDS):
                    self._receive(notice.payload)

    def _receive(self, payload: str) -> None:
        origin, _, rest = payload.partition(":")
        name, _, value = rest.partition(":")
        if origin == self.origin or not name or not value.isdigit():
            return  # our own notice coming back, or one no process of ours wrote
        try:
            self._deliver(name, int(value))
        except Exception:
            log.exception("Delivering the event %s from another process failed", name)


_bus: EventBus | None = None


def current() -> EventBus | None:
    return _bus


def start(url: str, deliver: Callable[[str, int], None]) -> EventBus | None:
    """Starts the process's bus on PostgreSQL (None on SQLite, where one process is the whole app)."""
    global _bus
    address = psycopg_url(url)
    if address is None:
        return None
    stop()
    _bus = EventBus(address, deliver).start()
    return _bus


def stop() -> None:
    global _bus
    if _bus is not None:
        _bus.stop()
    _bus = None

