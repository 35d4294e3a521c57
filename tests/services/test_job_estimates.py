"""Queue positions and wait estimates, on fixed timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.services.job_estimates import DEFAULT_DURATION_S, duration_model, estimate_queue

from .test_jobs_service import add_job, add_server

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _finished(db, project, server, seconds: float, checkpoint: str | None = None, minutes_ago: int = 10):
    finished = NOW - timedelta(minutes=minutes_ago)
    return add_job(
        db,
        project,
        status="completed",
        server_id=server.id if server else None,
        checkpoint=checkpoint,
        started_at=finished - timedelta(seconds=seconds),
        finished_at=finished,
    )


def test_duration_model_falls_back_from_pair_to_server_to_checkpoint_to_all_to_default() -> None:
    model = duration_model([(1, "a", 10.0), (1, "a", 20.0), (1, "b", 40.0), (2, "c", 100.0)])
    assert model.expected(1, "a") == 15.0  # median of the pair
    assert model.expected(1, "zzz") == 20.0  # the server's median of 10, 20, 40
    assert model.expected(None, "c") == 100.0  # the checkpoint anywhere
    assert model.expected(3, None) == 30.0  # everything: median of 10, 20, 40, 100
    assert duration_model([]).expected(1, "a") == DEFAULT_DURATION_S


def test_positions_follow_priority_then_age_with_retries_waiting_last(db, make_user, make_project) -> None:
    project = make_project(make_user())
    add_server(db, status="online", max_jobs=1)
    hour = timedelta(hours=1)
    retry = add_job(db, project, priority=10, created_at=NOW - hour, next_attempt_at=NOW + hour)
    due_retry = add_job(db, project, priority=0, created_at=NOW - timedelta(hours=2), next_attempt_at=NOW)
    old = add_job(db, project, priority=0, created_at=NOW - timedelta(minutes=30))
    urgent = add_job(db, project, priority=3, created_at=NOW - timedelta(minutes=1))
    running = add_job(db, project, status="running")

    estimates = estimate_queue(db, [retry, due_retry, old, urgent, running], now=NOW)
    assert {job_id: position for job_id, (position, _) in estimates.items()} == {
        urgent.id: 1,
        due_retry.id: 2,
        old.id: 3,
        retry.id: 4,
        running.id: None,
    }
    assert estimates[running.id] == (None, None)


def test_wait_is_work_ahead_over_capacity_using_recent_medians(db, make_user, make_project) -> None:
    project = make_project(make_user())
    gpu1 = add_server(db, "gpu-1", status="online", max_jobs=1)
    add_server(db, "gpu-2", status="degraded", max_jobs=1)
    add_server(db, "gpu-off", status="offline", max_jobs=8)
    add_server(db, "gpu-disabled", status="online", max_jobs=8, enabled=False)
    for seconds in (50, 60, 70):
        _finished(db, project, gpu1, seconds, checkpoint="sdxl")
    _finished(db, project, gpu1, 600, checkpoint="flux")
    # Running on gpu-1 with sdxl (60 s expected), 25 % done: 45 s left.
    add_job(db, project, status="running", server_id=gpu1.id, checkpoint="sdxl", progress=0.25)
    first = add_job(db, project, checkpoint="sdxl", created_at=NOW - timedelta(minutes=3))
    second = add_job(db, project, checkpoint="flux", created_at=NOW - timedelta(minutes=2))
    third = add_job(db, project, checkpoint=None, created_at=NOW - timedelta(minutes=1))

    estimates = estimate_queue(db, [first, second, third], now=NOW)
    # Two working slots. Ahead of first: 45 s running → 22.5 s; then + sdxl 60 s; then + flux 600 s.
    assert estimates[first.id] == (1, 22.5)
    assert estimates[second.id] == (2, pytest.approx((45 + 60) / 2))
    assert estimates[third.id] == (3, pytest.approx((45 + 60 + 600) / 2))


def test_only_the_last_fifty_runs_count(db, make_user, make_project) -> None:
    project = make_project(make_user())
    server = add_server(db, status="online", max_jobs=1)
    for _ in range(50):
        _finished(db, project, server, 10, minutes_ago=5)
    for _ in range(60):
        _finished(db, project, server, 1000, minutes_ago=500)  # older: forgotten
    ahead = add_job(db, project, created_at=NOW - timedelta(minutes=2))
    mine = add_job(db, project, created_at=NOW - timedelta(minutes=1))
    assert estimate_queue(db, [ahead, mine], now=NOW)[mine.id] == (2, 10.0)


def test_without_history_a_job_counts_thirty_seconds(db, make_user, make_project) -> None:
    project = make_project(make_user())
    add_server(db, status="online", max_jobs=1)
    jobs = [add_job(db, project, created_at=NOW - timedelta(minutes=10 - n)) for n in range(3)]
    assert estimate_queue(db, jobs, now=NOW)[jobs[2].id] == (3, 60.0)


def test_a_retry_waits_at_least_until_its_next_attempt(db, make_user, make_project) -> None:
    project = make_project(make_user())
    add_server(db, status="online", max_jobs=4)
    job = add_job(db, project, next_attempt_at=NOW + timedelta(seconds=90))
    assert estimate_queue(db, [job], now=NOW)[job.id] == (1, 90.0)


def test_no_working_server_means_no_estimate(db, make_user, make_project) -> None:
    project = make_project(make_user())
    add_server(db, status="offline")
    job = add_job(db, project)
    assert estimate_queue(db, [job], now=NOW)[job.id] == (1, None)
