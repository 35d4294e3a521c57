"""Work queued anywhere wakes the dispatcher at once, without waiting for its timer.

A synchronous REST route runs in a worker thread with no event loop; services emit `jobs_queued`
there and the dispatcher hands the wake-up to its own loop.
"""

from __future__ import annotations

import asyncio
import time

from app.services import generation, jobs, workflows
from data.engine import session_scope
from data.models import GenerationJob

from .conftest import add_server


async def _wait_for(condition, timeout: float = 3.0) -> float:  # type: ignore[no-untyped-def]  # a test helper over plain lambdas
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError("the dispatcher was not woken: the job waited for the timer")


async def test_a_job_queued_in_a_worker_thread_is_sent_without_a_tick(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05, checkpoints=["dreamshaper_8.safetensors"])
    add_server(db, fake, "gpu-1")
    workflows.ensure_builtin_workflows(db)
    await dispatcher.tick()  # running on this loop, with nothing to do; the scheduler's timer is not running

    def queue_like_a_rest_route() -> None:
        with session_scope() as session:
            request = generation.parse_request(mode="image", checkpoint="dreamshaper_8.safetensors", seed=3)
            generation.create_generation(session, owner, target.id, request)

    await asyncio.to_thread(queue_like_a_rest_route)
    waited = await _wait_for(lambda: len(fake.prompts) == 1)
    assert waited < 1.0


async def test_a_retry_wakes_the_dispatcher_too(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05, checkpoints=["dreamshaper_8.safetensors"])
    add_server(db, fake, "gpu-1")
    workflows.ensure_builtin_workflows(db)
    request = generation.parse_request(mode="image", checkpoint="dreamshaper_8.safetensors", seed=4)
    (job,) = generation.create_generation(db, owner, target.id, request)
    job.status, job.error = "failed", "the GPU ran out of memory"
    db.add(job)
    db.commit()
    await dispatcher.tick()
    assert fake.prompts == []

    def retry_like_a_rest_route() -> None:
        with session_scope() as session:
            jobs.retry_job(session, owner, job.id)  # type: ignore[arg-type]  # stored rows have ids

    await asyncio.to_thread(retry_like_a_rest_route)
    await _wait_for(lambda: len(fake.prompts) == 1)
    with session_scope() as session:
        assert session.get(GenerationJob, job.id).status in ("dispatched", "running", "completed")  # type: ignore[union-attr]  # the row exists
