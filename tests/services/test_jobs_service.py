"""The queue as people see it: who sees which jobs, their views, and cancel / retry / delete rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from app.config import get_settings
from app.services import clips, events, job_views, jobs, scenes
from data.errors import Conflict, Invalid, NotFound
from data.models import ComfyServer, GalleryItem, GenerationJob, Project

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def add_server(session: Session, name: str = "gpu-1", **fields: Any) -> ComfyServer:
    server = ComfyServer(name=name, base_url=f"http://{name}.lan:8188", **fields)
    session.add(server)
    session.commit()
    session.refresh(server)
    return server


def add_job(session: Session, project: Project, **fields: Any) -> GenerationJob:
    """A job row as the generation service would make it (owner: the project's owner)."""
    values: dict[str, Any] = {
        "kind": "image",
        "project_id": project.id,
        "owner_id": project.owner_id,
        "params": {"prompt": "a lighthouse at dusk", "seed": 7},
    }
    values.update(fields)
    job = GenerationJob(**values)
    session.add(job)
    session.commit()
    session.refresh(job)
    return job


def write_preview(job: GenerationJob) -> str:
    relative = f"jobs/{job.id}/preview.jpg"
    path = get_settings().media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    return relative


@pytest.fixture
def emitted() -> list[int]:
    seen: list[int] = []
    events.jobs_changed.subscribe(seen.append)
    return seen


def _reload(db: Session, job_id: int) -> GenerationJob | None:
    db.expire_all()
    return db.get(GenerationJob, job_id)


# --- visibility and views -------------------------------------------------------------------------


def test_users_see_only_their_projects_jobs_and_admins_see_all(db, make_user, make_project) -> None:
    alice, bob, admin = make_user("alice"), make_user("bob"), make_user("root", admin=True)
    mine = add_job(db, make_project(alice, "Mine"))
    theirs = add_job(db, make_project(bob, "Theirs"))

    assert [view.id for view in job_views.list_jobs(db, alice)] == [mine.id]
    assert {view.id for view in job_views.list_jobs(db, admin)} == {mine.id, theirs.id}
    with pytest.raises(NotFound, match=f"Job {theirs.id} does not exist or is not yours"):
        job_views.get_job(db, alice, theirs.id)
    with pytest.raises(NotFound):
        jobs.cancel_job(db, alice, theirs.id)
    with pytest.raises(NotFound):
        job_views.list_jobs(db, alice, project_id=theirs.project_id)
    assert job_views.get_job(db, admin, theirs.id).id == theirs.id


def test_view_names_project_clip_position_and_server(db, make_user, make_project) -> None:
    alice = make_user()
    project = make_project(alice, "Harbour")
    scene = scenes.create_scene(db, alice, project.id, "Opening")
    first = clips.create_clip(db, alice, scene.id, start=0, duration=2)
    third = clips.create_clip(db, alice, scene.id, start=10, duration=2)
    second = clips.create_clip(db, alice, scene.id, start=4, duration=2)
    server = add_server(db)
    job = add_job(
        db,
        project,
        clip_id=third.id,
        server_id=server.id,
        status="completed",
        params={"prompt": "word " * 100},
        started_at=T0,
        finished_at=T0 + timedelta(seconds=42.5),
        checkpoint="sdxl.safetensors",
    )
    add_job(db, project, clip_id=first.id)

    views = {view.id: view for view in job_views.list_jobs(db, alice)}
    view = views[job.id]
    assert (view.project_name, view.clip_label, view.scene_id) == ("Harbour", "Opening · #3", scene.id)
    assert (view.server_name, view.duration_s, view.checkpoint) == ("gpu-1", 42.5, "sdxl.safetensors")
    assert len(view.prompt) <= job_views.PROMPT_PREVIEW and view.prompt.endswith("…")
    assert view.queue_position is None and view.estimated_wait_s is None
    assert second.id not in {v.clip_id for v in views.values()}
    assert views[job.id + 1].clip_label == "Opening · #1"


def test_list_is_newest_first_and_filters(db, make_user, make_project) -> None:
    alice = make_user()
    film, short = make_project(alice, "Film"), make_project(alice, "Short")
    server = add_server(db)
    old = add_job(db, film, status="failed", created_at=T0)
    new = add_job(db, film, status="running", server_id=server.id, created_at=T0 + timedelta(minutes=1))
    other = add_job(db, short, created_at=T0 + timedelta(minutes=2))

    assert [v.id for v in job_views.list_jobs(db, alice)] == [other.id, new.id, old.id]
    assert [v.id for v in job_views.list_jobs(db, alice, project_id=film.id)] == [new.id, old.id]
    assert [v.id for v in job_views.list_jobs(db, alice, status="failed")] == [old.id]
    assert [v.id for v in job_views.list_jobs(db, alice, server_id=server.id)] == [new.id]
    assert [v.id for v in job_views.list_jobs(db, alice, limit=1)] == [other.id]
    assert job_views.status_counts(db, alice, project_id=film.id) == {
        "queued": 0,
        "dispatched": 0,
        "running": 1,
        "completed": 0,
        "failed": 1,
        "cancelled": 0,
    }
    with pytest.raises(Invalid, match="Unknown status"):
        job_views.list_jobs(db, alice, status="sleeping")


def test_queued_jobs_list_in_queue_order_with_positions(db, make_user, make_project) -> None:
    alice = make_user()
    project = make_project(alice)
    add_server(db, status="online", max_jobs=1)
    later_retry = add_job(db, project, priority=9, created_at=T0, next_attempt_at=datetime(2999, 1, 1, tzinfo=UTC))
    low = add_job(db, project, priority=0, created_at=T0)
    high = add_job(db, project, priority=5, created_at=T0 + timedelta(minutes=5))
    add_job(db, project, status="completed")

    views = job_views.list_jobs(db, alice, status="queued")
    assert [(v.id, v.queue_position) for v in views] == [(high.id, 1), (low.id, 2), (later_retry.id, 3)]
    assert views[0].estimated_wait_s == 0.0


def test_details_carry_params_graph_results_and_timings(db, make_user, make_project) -> None:
    alice = make_user()
    project = make_project(alice)
    scene = scenes.create_scene(db, alice, project.id, "S")
    clip = clips.create_clip(db, alice, scene.id, duration=2)
    job = add_job(
        db,
        project,
        clip_id=clip.id,
        status="completed",
        resolved_graph={"3": {"class_type": "KSampler"}},
        created_at=T0,
        started_at=T0 + timedelta(seconds=10),
        finished_at=T0 + timedelta(seconds=40),
    )
    item = GalleryItem(clip_id=clip.id, project_id=project.id, job_id=job.id, kind="image", file_path="x.png")
    db.add(item)
    db.commit()

    details = job_views.job_details(db, alice, job.id)
    assert details.params["seed"] == 7
    assert details.resolved_graph == {"3": {"class_type": "KSampler"}}
    assert details.gallery_item_ids == [item.id]
    assert (details.waited_s, details.duration_s) == (10.0, 30.0)


def test_has_preview_only_when_the_file_exists(db, make_user, make_project) -> None:
    alice = make_user()
    project = make_project(alice)
    job = add_job(db, project, status="running", preview_path="jobs/999/missing.jpg")
    assert job_views.job_view(db, alice, job.id).has_preview is False
    job.preview_path = write_preview(job)
    db.add(job)
    db.commit()
    assert job_views.job_view(db, alice, job.id).has_preview is True
    outside = add_job(db, project, status="running", preview_path="../../etc/passwd")
    assert job_views.job_view(db, alice, outside.id).has_preview is False


def test_progress_ticks_are_read_through_the_viewers_rules(db, make_user, make_project) -> None:
    alice, bob = make_user(), make_user("bob")
    project = make_project(alice)
    running = add_job(db, project, status="running", progress=0.5)
    running.preview_path = write_preview(running)
    db.add(running)
    db.commit()
    quiet = add_job(db, project, status="queued")
    found = job_views.progress_of(db, alice, [running.id, quiet.id, 999_999])  # type: ignore[list-item]
    assert found[running.id] is not None and found[running.id][0].progress == 0.5  # type: ignore[index]
    assert found[running.id][1] is True  # type: ignore[index]
    assert found[quiet.id] == (found[quiet.id][0], False)  # type: ignore[index]
    assert found[999_999] is None
    assert job_views.progress_of(db, bob, [running.id]) == {running.id: None}  # type: ignore[list-item]


# --- cancel ---------------------------------------------------------------------------------------


def test_cancel_queued_job_is_immediate(db, make_user, make_project, emitted) -> None:
    alice = make_user()
    project = make_project(alice)
    job = add_job(db, project)

    cancelled = jobs.cancel_job(db, alice, job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert _reload(db, job.id).status == "cancelled"  # type: ignore[union-attr]
    assert emitted == [project.id]


def test_cancel_running_job_asks_the_dispatcher(db, make_user, make_project) -> None:
    alice = make_user()
    project = make_project(alice)
    server = add_server(db)
    job = add_job(db, project, status="running", server_id=server.id)

    flagged = jobs.cancel_job(db, alice, job.id)
    assert (flagged.status, flagged.cancel_requested) == ("running", True)
    assert jobs.cancel_job(db, alice, job.id).cancel_requested is True  # asking twice is harmless


def test_cancel_finished_job_is_a_conflict(db, make_user, make_project) -> None:
    alice = make_user()
    job = add_job(db, make_project(alice), status="completed")
    with pytest.raises(Conflict, match=rf"Job {job.id} already finished \(completed\): nothing to cancel\."):
        jobs.cancel_job(db, alice, job.id)


def test_cancel_falls_through_when_the_dispatcher_claims_first(db, make_user, make_project) -> None:
    """The dispatcher's claim commits between our read (queued) and our compare-and-set UPDATE."""
    from sqlalchemy import event

    from data.engine import session_scope

    alice = make_user()
    job = add_job(db, make_project(alice))
    engine = db.get_bind()
    claimed: list[int] = []

    def claim_first(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE GENERATION_JOBS") and not claimed:
            claimed.append(job.id)  # type: ignore[arg-type]
            with session_scope() as dispatcher:
                row = dispatcher.get(GenerationJob, job.id)
                row.status, row.server_id = "dispatched", None  # type: ignore[union-attr]
                dispatcher.add(row)
                dispatcher.commit()

    event.listen(engine, "before_cursor_execute", claim_first)
    try:
        result = jobs.cancel_job(db, alice, job.id)
    finally:
        event.remove(engine, "before_cursor_execute", claim_first)
    assert claimed
    assert (result.status, result.cancel_requested) == ("dispatched", True)


# --- retry and delete -----------------------------------------------------------------------------


def test_retry_resets_a_failed_job_to_queued(db, make_user, make_project, emitted) -> None:
    alice = make_user()
    project = make_project(alice)
    server = add_server(db)
    job = add_job(
        db,
        project,
        status="failed",
        attempts=3,
        error="CUDA out of memory",
        server_id=server.id,
        remote_prompt_id="abc",
        claimed_by="host:8080",
        lease_until=T0,
        progress=0.4,
        current_node="KSampler",
        preview_path="jobs/1/preview.jpg",
        cancel_requested=True,
        next_attempt_at=T0,
        dispatched_at=T0,
        started_at=T0,
        finished_at=T0,
    )

    jobs.retry_job(db, alice, job.id)
    fresh = _reload(db, job.id)
    assert fresh is not None
    assert (fresh.status, fresh.attempts, fresh.error, fresh.server_id, fresh.remote_prompt_id) == (
        "queued",
        0,
        None,
        None,
        None,
    )
    assert (fresh.claimed_by, fresh.lease_until, fresh.progress, fresh.current_node, fresh.preview_path) == (
        None,
        None,
        0.0,
        None,
        None,
    )
    assert not fresh.cancel_requested
    assert (fresh.next_attempt_at, fresh.dispatched_at, fresh.started_at, fresh.finished_at) == (None,) * 4
    assert emitted == [project.id]


@pytest.mark.parametrize(
    ("status", "reason"),
    [("queued", "already queued"), ("running", "still running on gpu-1"), ("completed", "already completed")],
)
def test_retry_of_a_job_that_did_not_fail_says_why(db, make_user, make_project, status: str, reason: str) -> None:
    alice = make_user()
    server = add_server(db)
    job = add_job(db, make_project(alice), status=status, server_id=server.id)
    with pytest.raises(Conflict, match=reason):
        jobs.retry_job(db, alice, job.id)


def test_delete_refuses_active_jobs_and_keeps_results(db, make_user, make_project, emitted) -> None:
    alice = make_user()
    project = make_project(alice)
    scene = scenes.create_scene(db, alice, project.id, "S")
    clip = clips.create_clip(db, alice, scene.id, duration=2)
    server = add_server(db)
    running = add_job(db, project, status="running", server_id=server.id)
    with pytest.raises(Conflict, match=f"Cancel job {running.id} first: it is running on gpu-1"):
        jobs.delete_job(db, alice, running.id)

    done = add_job(db, project, clip_id=clip.id, status="completed")
    done.preview_path = write_preview(done)
    db.add(done)
    item = GalleryItem(clip_id=clip.id, project_id=project.id, job_id=done.id, kind="image", file_path="r.png")
    db.add(item)
    db.commit()
    preview = get_settings().media_dir / done.preview_path
    emitted.clear()

    jobs.delete_job(db, alice, done.id)
    assert _reload(db, done.id) is None
    kept = db.get(GalleryItem, item.id)
    assert kept is not None and kept.job_id is None
    assert not preview.exists() and not preview.parent.exists()
    assert emitted == [project.id]


# --- bulk -----------------------------------------------------------------------------------------


def test_cancel_all_stops_queued_and_flags_active_ones_of_the_project(db, make_user, make_project, emitted) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    film, short = make_project(alice, "Film"), make_project(alice, "Short")
    queued = add_job(db, film)
    running = add_job(db, film, status="running")
    done = add_job(db, film, status="completed")
    elsewhere = add_job(db, short)
    bobs = add_job(db, make_project(bob, "Bob's"))

    assert jobs.count_cancellable(db, alice, project_id=film.id) == (1, 1)
    assert jobs.cancel_all(db, alice, project_id=film.id) == 2
    states = {job.id: _reload(db, job.id) for job in (queued, running, done, elsewhere, bobs)}
    assert states[queued.id].status == "cancelled"  # type: ignore[union-attr]
    assert states[running.id].cancel_requested and states[running.id].status == "running"  # type: ignore[union-attr]
    assert states[done.id].status == "completed"  # type: ignore[union-attr]
    assert states[elsewhere.id].status == "queued"  # type: ignore[union-attr]
    assert emitted == [film.id]

    assert jobs.cancel_all(db, alice) == 1  # everything visible: only Short's job is left
    assert _reload(db, bobs.id).status == "queued"  # type: ignore[union-attr]


def test_retry_failed_and_clear_completed(db, make_user, make_project) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    project = make_project(alice)
    failed = add_job(db, project, status="failed", attempts=3, error="boom")
    cancelled = add_job(db, project, status="cancelled")
    completed = [add_job(db, project, status="completed").id for _ in range(3)]
    bobs_done = add_job(db, make_project(bob, "Bob's"), status="completed").id

    assert jobs.retry_failed(db, alice) == 1
    assert _reload(db, failed.id).status == "queued"  # type: ignore[union-attr]
    assert _reload(db, cancelled.id).status == "cancelled"  # type: ignore[union-attr]

    assert jobs.clear_completed(db, alice, project_id=project.id) == 3
    assert all(_reload(db, job_id) is None for job_id in completed)
    assert _reload(db, bobs_done) is not None
    assert jobs.retry_failed(db, alice) == 0


def test_list_of_many_jobs_takes_a_few_queries(db, make_user, make_project) -> None:
    """Views load projects, clips and servers in bulk: the query count does not grow with the jobs."""
    from sqlalchemy import event

    alice = make_user()
    project = make_project(alice)
    scene = scenes.create_scene(db, alice, project.id, "S")
    clip_ids = [clips.create_clip(db, alice, scene.id, duration=1).id for _ in range(5)]
    server = add_server(db, status="online")
    db.add_all(
        GenerationJob(
            kind="image",
            project_id=project.id,
            owner_id=alice.id,
            clip_id=clip_ids[n % 5],
            server_id=server.id if n % 3 else None,
            status=("queued", "running", "completed", "failed")[n % 4],
        )
        for n in range(300)
    )
    db.commit()
    statements: list[str] = []
    engine = db.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        views = job_views.list_jobs(db, alice)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(views) == 300
    assert len(statements) <= 12, statements
    assert sum(1 for v in views if v.queue_position) == 75
    assert db.exec(select(GenerationJob)).first() is not None
