"""Servers that hang or die: their jobs move to another server at once, and what was left on them never runs."""

from __future__ import annotations

import time

from sqlmodel import select

from app.dispatch import claims, endings, results
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.prompts import Prompt
from data.engine import session_scope
from data.models import AbandonedPrompt, ComfyServer, GalleryItem, GenerationJob
from tests.fakes import fake_media

from .conftest import add_runpod_endpoint, add_server, all_finished, drive, job_states, make_job

# The product's promise: a hung server's jobs run elsewhere within this many seconds of the hang.
MOVE_LIMIT_SECONDS = 15.0


def _abandoned() -> list[AbandonedPrompt]:
    with session_scope() as session:
        return list(session.exec(select(AbandonedPrompt).order_by(AbandonedPrompt.prompt_id)))


def _gallery(clip_id: int) -> list[GalleryItem]:
    with session_scope() as session:
        return list(session.exec(select(GalleryItem).where(GalleryItem.clip_id == clip_id)))


def _status(server_id: int) -> str:
    with session_scope() as session:
        return session.get(ComfyServer, server_id).status  # type: ignore[union-attr]  # the row exists


async def test_a_hung_servers_jobs_run_elsewhere_in_time_and_its_abandoned_prompts_never_run(
    db, clip, fakes, dispatcher
) -> None:
    owner, target = clip
    frozen = fakes(job_seconds=30)  # long enough to be mid-run when it hangs
    hung = add_server(db, frozen, "frozen", max_jobs=2)
    first = make_job(db, owner, target, seed=1, created_offset=-1)
    second = make_job(db, owner, target, seed=2)

    def one_running_one_waiting() -> bool:
        states = job_states([first.id, second.id])
        return states[first.id].status == "running" and frozen.pending_prompt_ids == [
            states[second.id].remote_prompt_id
        ]

    await drive(dispatcher, one_running_one_waiting)
    left = {job_id: job.remote_prompt_id for job_id, job in job_states([first.id, second.id]).items()}
    healthy = fakes(job_seconds=0.05)
    spare = add_server(db, healthy, "spare", max_jobs=2)

    frozen.hang()  # accepts connections, answers nothing, its websocket goes silent
    hung_at = time.monotonic()
    await drive(dispatcher, all_finished([first.id, second.id]), timeout=MOVE_LIMIT_SECONDS + 5)
    moved_in = time.monotonic() - hung_at

    assert moved_in < MOVE_LIMIT_SECONDS, moved_in
    states = job_states([first.id, second.id])
    for job in states.values():
        assert job.status == "completed" and job.server_id == spare.id, job.error
        assert job.attempts == 1  # the server failed, not the job: no attempt used
    assert len(healthy.executions) == 2
    assert _status(hung.id) == "offline"
    assert [(row.server_id, row.prompt_id, row.running) for row in _abandoned()] == sorted(
        [(hung.id, left[first.id], True), (hung.id, left[second.id], False)], key=lambda row: row[1]
    )

    # A late result of a moved prompt is never stored: the job no longer carries that prompt id.
    late = Prompt(prompt_id=left[first.id], job_id=first.id, server_id=hung.id, project_id=first.project_id, graph={})
    image = fake_media.png_bytes(16, 16, seed="late")
    outputs = [results.Output("2", "late.png", "image", image)]
    assert await endings.write(late, endings.stored(outputs), "frozen") is None
    assert len(_gallery(target.id)) == 2

    # The app restarts while the server is hung: the list of abandoned prompts was kept in the database.
    await dispatcher.close()
    restarted = Dispatcher(worker_id="test-worker")
    try:
        frozen.wake()
        await drive(restarted, lambda: not _abandoned(), timeout=10)
    finally:
        await restarted.close()

    deleted = {prompt_id for entry in frozen.queue_deletes for prompt_id in entry["deleted"]}
    assert deleted == {left[second.id]}, frozen.queue_deletes
    assert {entry["prompt_id"] for entry in frozen.interrupts if entry["applied"]} == {left[first.id]}
    assert all(entry["prompt_id"] in left.values() for entry in frozen.interrupts)  # never anyone else's prompt
    runs = {run["prompt_id"]: run["outcome"] for run in frozen.executions}
    assert runs == {left[first.id]: "interrupted"}, frozen.executions  # the waiting one never started
    assert frozen.pending_prompt_ids == [] and frozen.running_prompt_id is None
    assert len(_gallery(target.id)) == 2


async def test_a_busy_server_that_answers_is_not_called_hung(db, clip, fakes, dispatcher) -> None:
    """A long job with a silent websocket on a slow server: /queue still answers, so the job stays there."""
    owner, target = clip
    busy = fakes(job_seconds=13, ws_silent=True, slow_seconds=1.0)
    idle = fakes(job_seconds=0.05)
    server = add_server(db, busy, "busy", max_jobs=1)
    job = make_job(db, owner, target)
    await drive(dispatcher, lambda: bool(busy.prompts))
    add_server(db, idle, "idle", max_jobs=1)

    await drive(dispatcher, all_finished([job.id]), timeout=25)

    done = job_states([job.id])[job.id]
    assert done.status == "completed" and done.server_id == server.id and done.attempts == 1
    assert idle.prompts == [] and _abandoned() == []
    assert _status(server.id) == "online"


async def test_a_timeout_while_the_apps_own_loop_stalled_is_not_counted_against_the_server(
    db, fakes, dispatcher, monkeypatch
) -> None:
    """The poll's timer runs on the app's loop: when the loop itself stalls, the answer can sit unread in the
    socket while the timer runs out. Such a timeout says nothing about the server; one in a quiet loop does."""
    import asyncio

    from app.dispatch import failover
    from app.integrations.comfyui import ComfyError

    monkeypatch.setattr(failover, "HUNG_AFTER_SECONDS", 0.3)  # the real 6 s, shortened
    server = add_server(db, fakes(), "gpu", max_jobs=1)
    timeout = ComfyError("timeout", "gpu did not answer within 3 s.")
    watch = asyncio.create_task(dispatcher.loop_watch.run())
    try:
        await asyncio.sleep(0.25)
        asked = time.monotonic()
        time.sleep(0.9)  # the app's loop is stuck (a big page, a busy machine)
        assert not dispatcher.note_unreachable(server, timeout, asked_at=asked)
        await asyncio.sleep(0.2)
        assert not dispatcher.note_unreachable(server, timeout, asked_at=asked)
        assert _status(server.id) == "online"
        quiet = time.monotonic()
        await asyncio.sleep(0.4)
        assert dispatcher.note_unreachable(server, timeout, asked_at=quiet)
        assert _status(server.id) == "offline"
    finally:
        watch.cancel()


async def test_a_dead_servers_job_moves_at_once_without_using_an_attempt(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    flaky = fakes(job_seconds=0.05, stall_next=1)  # runs until interrupted
    steady = fakes(job_seconds=0.05)
    down = add_server(db, flaky, "flaky", max_jobs=1)
    job = make_job(db, owner, target, max_attempts=1)
    await drive(dispatcher, lambda: job_states([job.id])[job.id].status == "running")
    add_server(db, steady, "steady", max_jobs=1)

    flaky.go_down()  # connections refused
    died_at = time.monotonic()
    await drive(dispatcher, all_finished([job.id]), timeout=10)

    assert time.monotonic() - died_at < 3.0  # no retry wait (5 s at least by default)
    done = job_states([job.id])[job.id]
    assert done.status == "completed" and done.server_id != down.id, done.error
    assert done.attempts == 1  # its only attempt was given back, or it would have failed
    assert _status(down.id) == "offline"


async def test_a_submit_refused_by_a_dead_server_goes_elsewhere_without_using_an_attempt(
    db, clip, fakes, dispatcher
) -> None:
    owner, target = clip
    gone = fakes()
    gone.go_down()
    dead = add_server(db, gone, "gone", max_jobs=1)  # still listed online: the health check has not run yet
    job = make_job(db, owner, target, max_attempts=1)
    await drive(dispatcher, lambda: _status(dead.id) == "offline")
    live = fakes(job_seconds=0.05)
    add_server(db, live, "live", max_jobs=1)
    started = time.monotonic()

    await drive(dispatcher, all_finished([job.id]), timeout=10)

    assert time.monotonic() - started < 3.0
    done = job_states([job.id])[job.id]
    assert done.status == "completed" and done.attempts == 1, done.error
    assert _abandoned() == []  # a refused POST never arrived: nothing to delete there


def _claimed(db, owner, target, server_id: int, prompt_id: str, **fields) -> GenerationJob:  # type: ignore[no-untyped-def]
    job = make_job(db, owner, target, **fields)
    assert claims.claim(db, job.id, server_id, "test-worker", prompt_id, 30)
    return job


def test_move_back_gives_the_attempt_back_and_writes_the_abandoned_prompt_with_it(db, clip, fakes) -> None:
    owner, target = clip
    server = add_server(db, fakes(), "gpu-1")
    job = _claimed(db, owner, target, server.id, "p-1")

    assert claims.move_back(db, job.id, "p-1", "gpu-1 stopped answering.", abandoned_on=server.id, running=True) == (
        "queued"
    )
    moved = job_states([job.id])[job.id]
    assert (moved.attempts, moved.next_attempt_at, moved.server_id, moved.remote_prompt_id) == (0, None, None, None)
    assert moved.status == "queued" and "does not count as an attempt" in (moved.error or "")
    assert [(row.prompt_id, row.running) for row in _abandoned()] == [("p-1", True)]
    assert claims.move_back(db, job.id, "p-1", "again", abandoned_on=server.id) is None  # no longer current

    cancelled = _claimed(db, owner, target, server.id, "p-2", seed=2)
    cancelled.cancel_requested = True
    db.add(cancelled)
    db.commit()
    assert claims.move_back(db, cancelled.id, "p-2", "gone", abandoned_on=server.id) == "cancelled"
    assert {row.prompt_id for row in _abandoned()} == {"p-1", "p-2"}  # still to delete on the server

    counted = _claimed(db, owner, target, server.id, "p-3", seed=3, max_attempts=1)
    assert claims.move_back(db, counted.id, "p-3", "gone", give_back=False) == "failed"

    claims.forget_abandoned(db, server.id, ["p-1", "p-2"])
    assert _abandoned() == []


async def test_a_job_that_keeps_moving_counts_its_attempts_again(db, clip, fakes, dispatcher) -> None:
    """A job that itself brings servers down must not move between them forever."""
    owner, target = clip
    server = add_server(db, fakes(), "gpu-1", status="offline")  # no tick of the dispatcher's claims it meanwhile
    job = make_job(db, owner, target, max_attempts=1)
    for move in range(3):
        prompt_id = f"p-{move}"
        assert claims.claim(db, job.id, server.id, dispatcher.worker_id, prompt_id, 30)
        prompt = dispatcher.track(prompt_id, job_states([job.id])[job.id], server.id)
        await dispatcher.end(prompt, endings.moved("gpu-1 stopped answering."), server)
        db.expire_all()
    done = job_states([job.id])[job.id]
    assert done.status == "failed" and "stopped answering" in (done.error or "")


async def test_a_runpod_endpoint_that_stops_answering_hands_its_job_on_and_the_job_is_cancelled_there(
    db, clip, fakes, dispatcher
) -> None:
    """The RunPod API hangs while our job runs there: the job moves to a free server in time without using an
    attempt, and once the API answers again the job left on RunPod is cancelled (it would bill and be thrown away)."""
    from tests.fakes.fake_runpod import FakeRunpod

    owner, target = clip
    runpod = FakeRunpod(job_seconds=60).start()
    try:
        endpoint = add_runpod_endpoint(db, runpod, max_jobs=1)
        job = make_job(db, owner, target)
        await drive(dispatcher, lambda: job_states([job.id])[job.id].status == "running")
        left_there = job_states([job.id])[job.id].remote_prompt_id
        spare = add_server(db, fakes(job_seconds=0.05), "spare", max_jobs=1)

        runpod.hang()
        hung_at = time.monotonic()
        await drive(dispatcher, all_finished([job.id]), timeout=MOVE_LIMIT_SECONDS + 5)
        assert time.monotonic() - hung_at < MOVE_LIMIT_SECONDS

        done = job_states([job.id])[job.id]
        assert (done.status, done.server_id, done.attempts) == ("completed", spare.id, 1), done.error
        assert _status(endpoint.id) == "offline"
        assert [(row.server_id, row.prompt_id) for row in _abandoned()] == [(endpoint.id, left_there)]
        assert runpod.cancels == []

        runpod.wake()
        await drive(dispatcher, lambda: not _abandoned(), timeout=10)
        assert [entry["job_id"] for entry in runpod.cancels] == [left_there]
    finally:
        runpod.stop()


async def test_the_loop_watch_runs_when_the_first_tick_came_from_a_wake_up(db, dispatcher) -> None:
    """A job queued before the scheduler's first tick wakes the dispatcher first; its stall watch starts anyway."""
    import asyncio

    dispatcher.kick()
    await asyncio.sleep(0.35)
    assert dispatcher.loop_watch.started
    assert dispatcher.loop_watch.stalled_since(time.monotonic() - 0.3) is False
    assert dispatcher.loop_watch._last_wake is not None  # it has woken: it is running
