"""A long writer elsewhere never freezes the event loop: a session there gives up soon and says the database is busy."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text

from data.engine import LOOP_LOCK_WAIT_MS, get_engine, is_busy, session_scope
from data.errors import Busy
from data.models import Project


def _hold_the_lock(project_id: int, seconds: float, holding: threading.Event) -> threading.Thread:
    """Another writer (an import, a backup) keeps the project's row, or SQLite's write lock, for a while."""

    def work() -> None:
        with get_engine().connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.execute(text("SELECT id FROM projects WHERE id = :id FOR UPDATE"), {"id": project_id})
            holding.set()
            time.sleep(seconds)
            connection.rollback()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


async def test_a_write_on_the_event_loop_gives_up_soon_when_another_writer_holds_the_lock(
    make_user, make_project
) -> None:
    project = make_project(make_user())
    holding = threading.Event()
    holder = _hold_the_lock(project.id, 3.0, holding)
    await asyncio.to_thread(holding.wait, 10)
    started = time.perf_counter()
    with pytest.raises(Busy) as raised, session_scope() as session:  # on the loop: the loop's engine
        row = session.get(Project, project.id)
        assert row is not None
        row.description = "changed while an import runs"
        session.add(row)
        session.commit()
    waited = time.perf_counter() - started
    await asyncio.to_thread(holder.join, 10)
    assert is_busy(raised.value.__cause__)  # the database's own "locked", in words a person can act on
    assert waited < 3 * LOOP_LOCK_WAIT_MS / 1000  # not the worker threads' ten seconds, nor the holder's three
    with session_scope() as session:  # and once the writer is done, the same change goes in
        row = session.get(Project, project.id)
        row.description = "changed after"  # type: ignore[union-attr]  # the row exists
        session.add(row)
        session.commit()


def test_the_page_message_says_busy_and_what_to_do() -> None:
    assert "busy" in Busy().message and "try again" in Busy().message
    assert not is_busy(ValueError("database is locked"))  # only the database's own error counts
    assert Busy.status_code == 503  # the REST API says: try again
