"""A burst of requests larger than the worker threads and the pool answers, and the loop stays free.

The assessment's freeze: routes whose session held a connection while waiting for a worker
thread, and threads waiting for connections, so 100 concurrent requests took minutes and most
answered 500. Here the threads and the pool are made small, so the same burst that froze the
app would time out in the pool at once if that could still happen.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app import api
from app.config import reset_settings
from data import engine as engine_module

THREADS = 2
BURST = 60


@pytest.fixture
def few_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STORYCANVAS_WORKER_THREADS", str(THREADS))
    reset_settings()
    engine_module.dispose_engine()
    yield
    monkeypatch.delenv("STORYCANVAS_WORKER_THREADS")
    reset_settings()
    engine_module.dispose_engine()


async def test_a_burst_of_reads_and_edits_all_answer(few_threads: None, make_user, make_project) -> None:
    from app.services import scenes

    owner = make_user("alice")
    project = make_project(owner)
    from data.engine import session_scope

    with session_scope() as session:
        scene = scenes.create_scene(session, owner, project.id, "One")
        session.commit()
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    application = FastAPI()
    api.mount(application)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
        token = (
            await client.post("/api/v1/auth/token", data={"username": "alice", "password": "correct-horse-1"})
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        clip = (
            await client.post(f"/api/v1/scenes/{scene.id}/clips", json={"start": 0, "duration": 2}, headers=headers)
        ).json()

        async def one(index: int) -> int:
            if index % 2:
                response = await client.patch(
                    f"/api/v1/clips/{clip['id']}", json={"image_prompt": f"take {index}"}, headers=headers
                )
            else:
                response = await client.get("/api/v1/projects", headers=headers)
            return response.status_code

        started = time.monotonic()
        statuses = await asyncio.wait_for(asyncio.gather(*(one(index) for index in range(BURST))), timeout=25)
        elapsed = time.monotonic() - started
    assert sorted(set(statuses)) == [200], statuses
    assert elapsed < 20, f"{BURST} requests took {elapsed:.1f} s"


async def test_a_session_on_the_event_loop_never_waits_for_the_threads_connections(few_threads: None) -> None:
    """Every pooled connection of the worker threads is busy: a page builder on the loop still reads."""
    workers = engine_module.get_engine()
    capacity = workers.pool.size() + workers.pool._max_overflow  # type: ignore[attr-defined]
    held = [workers.connect() for _ in range(capacity)]
    try:
        blocked = threading.Event()

        def would_wait() -> None:
            try:
                with engine_module.get_engine().connect():
                    pass
            except Exception:
                blocked.set()

        # The threads' pool is exhausted: another thread would wait (and time out).
        engine_module.get_engine().pool._timeout = 0.2  # type: ignore[attr-defined]
        await asyncio.to_thread(would_wait)
        assert blocked.is_set()
        started = time.monotonic()
        with engine_module.session_scope() as session:
            assert session.exec(text("SELECT 1")).one()[0] == 1  # type: ignore[call-overload]
        assert time.monotonic() - started < 1
    finally:
        for connection in held:
            connection.close()
