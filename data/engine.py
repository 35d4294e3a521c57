"""Two engines per process, configured by the application; sessions keep objects readable after commit.

Why two: sessions opened on the event loop (page builders, the dispatcher's tick) must never
wait for a connection, because the connections they would wait for are handed back by code
that needs the loop to run (FastAPI closes a sync route's session from a worker thread the
loop schedules). So the loop has a pool of its own that never makes it wait, and the pool of
the worker threads holds a connection for every thread that can ask for one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from .errors import Busy

_engine: Engine | None = None
_loop_engine: Engine | None = None
# Connections kept open for the event loop; past this it opens more rather than wait.
LOOP_POOL_SIZE = 4


# How long a session on the event loop waits for a lock another writer holds (a long import, a backup):
# waiting there would freeze every tab, so it gives up soon and the page says the database is busy.
LOOP_LOCK_WAIT_MS = 500
WORKER_LOCK_WAIT_MS = 10_000


def _sqlite_pragmas(busy_ms: int) -> Any:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")  # first: switching to WAL may wait for a lock
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return apply


def make_engine(
    url: str, pool_size: int = 10, max_overflow: int = 20, *, lock_wait_ms: int = WORKER_LOCK_WAIT_MS
) -> Engine:
    """`max_overflow=-1` opens a connection beyond the pool whenever one is asked for, never waiting."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": lock_wait_ms / 1000},
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        event.listen(engine, "connect", _sqlite_pragmas(lock_wait_ms))
        return engine
    options = {"options": f"-c lock_timeout={int(lock_wait_ms)}"} if lock_wait_ms < WORKER_LOCK_WAIT_MS else {}
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, connect_args=options
    )


def is_busy(error: BaseException) -> bool:
    """True for "another writer holds the lock" (SQLite's busy, PostgreSQL's lock_timeout): try again soon."""
    if not isinstance(error, OperationalError):
        return False
    return "database is locked" in str(error) or getattr(error.orig, "sqlstate", None) == "55P03"


@dataclass(frozen=True)
class EngineSettings:
    """What the engines need, handed down by the application (data/ never reads the app's settings)."""

    url: str
    pool_size: int = 10


_source: Callable[[], EngineSettings] | None = None


def configure(source: Callable[[], EngineSettings]) -> None:
    """The application says where the database is; asked again after every dispose (a restore, a test)."""
    global _source
    _source = source
    dispose_engine()


def _engine_settings() -> EngineSettings:
    if _source is None:
        raise RuntimeError("The database engine has no settings: the application calls data.engine.configure() first.")
    return _source()


def get_engine() -> Engine:
    """The worker threads' engine: one pooled connection for each thread that may use the database."""
    global _engine
    if _engine is None:
        settings = _engine_settings()
        _engine = make_engine(settings.url, pool_size=settings.pool_size, max_overflow=10)
    return _engine


def get_loop_engine() -> Engine:
    """The event loop's engine: a small pool that opens another connection rather than block the loop."""
    global _loop_engine
    if _loop_engine is None:
        _loop_engine = make_engine(
            _engine_settings().url, pool_size=LOOP_POOL_SIZE, max_overflow=-1, lock_wait_ms=LOOP_LOCK_WAIT_MS
        )
    return _loop_engine


def dispose_engine() -> None:
    """Drop the engines so the next use reads the settings again (tests, CLI restore)."""
    global _engine, _loop_engine
    for engine in (_engine, _loop_engine):
        if engine is not None:
            engine.dispose()
    _engine = _loop_engine = None


def on_event_loop() -> bool:
    """True in the thread that runs an asyncio loop (NiceGUI's pages, the dispatcher), where waiting freezes all."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextmanager
def session_scope() -> Iterator[Session]:
    engine = get_loop_engine() if on_event_loop() else get_engine()
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except OperationalError as error:
            if is_busy(error):  # every page and route says it in words, as for any domain error
                raise Busy() from error
            raise
