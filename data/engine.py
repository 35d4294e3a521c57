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
from sqlmodel import Session, create_engine

_engine: Engine | None = None
_loop_engine: Engine | None = None
# Connections kept open for the event loop; past this it opens more rather than wait.
LOOP_POOL_SIZE = 4


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """`max_overflow=-1` opens a connection beyond the pool whenever one is asked for, never waiting."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


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
        _loop_engine = make_engine(_engine_settings().url, pool_size=LOOP_POOL_SIZE, max_overflow=-1)
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
        yield session
