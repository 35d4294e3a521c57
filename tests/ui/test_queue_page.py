"""The /queue page with the simulated user: filters, per-job and bulk actions, and live updates."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from nicegui import ui
from nicegui.testing import User

from app.services import clips, events, scenes
from data.models import GenerationJob

from ..services.test_jobs_service import add_job, add_server, write_preview
from .conftest import click_testid, eventually

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _by_testid(user: User, testid: str) -> list[ui.element]:
    return [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]


def _text(user: User, testid: str) -> str:
    found = _by_testid(user, testid)
    return " ".join(getattr(e, "text", None) or getattr(e, "content", "") for e in found)


def _info(user: User, job_id: int) -> dict:
    """What a row's info cell shows (plain data the browser draws as text)."""
    (row,) = _by_testid(user, f"job-row-{job_id}")
    return row.props["row"]


def _status(user: User, job_id: int) -> str | None:
    found = _by_testid(user, f"job-row-{job_id}")
    return found[0].props.get("data-status") if found else None


def _act(user: User, job_id: int, action: str) -> None:
    """Press a row's button: what the browser sends when one is clicked (the buttons share one "action" event)."""
    from nicegui.testing.user_interaction import UserInteraction

    (actions,) = _by_testid(user, f"job-row-{job_id}")
    assert action in actions.actions, f"job {job_id} has no {action} button"  # type: ignore[attr-defined]
    UserInteraction(user, {actions}, action).trigger("action", action)


def _has_button(user: User, job_id: int, action: str) -> bool:
    found = _by_testid(user, f"job-row-{job_id}")
    return bool(found) and action in found[0].actions  # type: ignore[attr-defined]


def _rows(user: User) -> list[int]:
    return [
        int(e.props["data-testid"].removeprefix("job-row-"))
        for e in user.client.layout.descendants()
        if str(e.props.get("data-testid", "")).startswith("job-row-") and e.visible
    ]


def _stored(db, job_id: int) -> GenerationJob | None:
    db.expire_all()
    return db.get(GenerationJob, job_id)


async def test_empty_queue_says_what_to_do(user: User, sign_in) -> None:
    await sign_in(user)
    await user.open("/queue")
    await user.should_see("No generation jobs yet. Open a clip and press Generate, or use Generate all on a scene.")


async def test_rows_show_where_state_and_queue_place(user: User, sign_in, make_project, make_user, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Harbour")
    scene = scenes.create_scene(db, account, project.id, "Opening")
    clips.create_clip(db, account, scene.id, start=0, duration=2)
    clip = clips.create_clip(db, account, scene.id, start=4, duration=2)
    gpu = add_server(db, "gpu-1", status="online", max_jobs=1)
    running = add_job(
        db,
        project,
        clip_id=clip.id,
        status="running",
        server_id=gpu.id,
        progress=0.42,
        current_node="KSampler",
        created_at=T0,
    )
    queued = add_job(db, project, clip_id=clip.id, created_at=T0 + timedelta(seconds=1))
    failed = add_job(
        db,
        project,
        status="failed",
        attempts=3,
        error="Prompt outputs failed validation: CheckpointLoaderSimple: value not in list",
        created_at=T0 + timedelta(seconds=2),
    )
    others = add_job(db, make_project(make_user("bob"), "Bob's secret"))

    await user.open("/queue")
    await user.should_see("Harbour › Opening · #2")
    assert _rows(user) == [failed.id, queued.id, running.id]
    assert others.id not in _rows(user)
    await user.should_not_see("Bob's secret")
    assert _text(user, f"job-progress-{running.id}") == "42% · KSampler"
    # Bob's older job is ahead in the one shared queue: 30 s (no history) + 58 % of 30 s running, one slot.
    assert _text(user, f"job-queue-{queued.id}") == "#2 · ~47 s"
    assert _info(user, failed.id)["errorShort"].startswith("Prompt outputs failed validation: Checkpoint")
    assert _text(user, "status-chip-all") == "All 3" and _text(user, "status-chip-failed") == "Failed 1"
    assert (_info(user, queued.id)["href"], _info(user, queued.id)["where"]) == (
        f"/scenes/{scene.id}",
        "Harbour › Opening · #2",
    )


async def test_filters_by_status_project_and_server(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    film, short = make_project(account, "Film"), make_project(account, "Short")
    gpu = add_server(db, "gpu-1")
    a = add_job(db, film, status="failed", created_at=T0)
    b = add_job(db, film, status="running", server_id=gpu.id, created_at=T0 + timedelta(seconds=1))
    c = add_job(db, short, created_at=T0 + timedelta(seconds=2))

    await user.open("/queue")
    await user.should_see("3 jobs")
    click_testid(user, "status-chip-failed")
    await eventually(lambda: _rows(user) == [a.id])
    click_testid(user, "status-chip-failed")  # again: back to all
    await eventually(lambda: _rows(user) == [c.id, b.id, a.id])

    (project_select,) = _by_testid(user, "project-filter")
    project_select.set_value(short.id)  # type: ignore[attr-defined]
    await eventually(lambda: _rows(user) == [c.id])
    project_select.set_value(0)  # type: ignore[attr-defined]
    (server_select,) = _by_testid(user, "server-filter")
    server_select.set_value(gpu.id)  # type: ignore[attr-defined]
    await eventually(lambda: _rows(user) == [b.id])
    click_testid(user, "status-chip-completed")
    await user.should_see("No jobs match these filters.")


async def test_clip_filter_and_details_with_results(user: User, sign_in, make_project, db) -> None:
    from data.models import GalleryItem

    account = await sign_in(user)
    project = make_project(account, "Harbour")
    scene = scenes.create_scene(db, account, project.id, "Opening")
    clip = clips.create_clip(db, account, scene.id, duration=2)
    other = clips.create_clip(db, account, scene.id, duration=2)
    job = add_job(
        db,
        project,
        clip_id=clip.id,
        status="completed",
        resolved_graph={"3": {"class_type": "KSampler", "inputs": {"seed": 7}}},
        started_at=T0,
        finished_at=T0 + timedelta(seconds=83),
    )
    add_job(db, project, clip_id=other.id)
    item = GalleryItem(clip_id=clip.id, project_id=project.id, job_id=job.id, kind="image", file_path="r.png")
    db.add(item)
    db.commit()

    await user.open("/queue")
    await user.should_see("2 jobs")
    (clip_filter,) = _by_testid(user, "clip-filter")
    clip_filter.set_value(clip.id)  # type: ignore[attr-defined]
    await eventually(lambda: _rows(user) == [job.id])

    _act(user, job.id, "details")
    await user.should_see(f"Job {job.id} · Image")
    await user.should_see("Resolved graph (1 node)")
    assert _text(user, "job-details-ran") == "1:23"
    result_link = next(e for e in user.find(kind=ui.link).elements if e.text == f"#{item.id}")
    assert result_link.props["href"] == f"/scenes/{scene.id}"


async def test_query_string_preselects_filters(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    film, short = make_project(account, "Film"), make_project(account, "Short")
    add_job(db, film)
    mine = add_job(db, short, status="failed")
    await user.open(f"/queue?project_id={short.id}&status=failed")
    await eventually(lambda: _rows(user) == [mine.id])

    written: list[str] = []
    user.client.run_javascript = lambda code, **_: written.append(code)  # type: ignore[method-assign]  # what the page asks the browser
    project_filter = next(e for e in user.client.layout.descendants() if e.props.get("data-testid") == "project-filter")
    project_filter.set_value(film.id)
    assert written[-1].startswith('history.replaceState({}, "", "/queue?')
    assert written[-1] == f'history.replaceState({{}}, "", "/queue?status=failed&project_id={film.id}");'


async def test_cancel_retry_and_delete_a_job(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account)
    job = add_job(db, project)
    await user.open("/queue")
    await user.should_see("#1 ·")

    _act(user, job.id, "cancel")
    await user.should_see(f"Cancelled job {job.id}")
    assert _stored(db, job.id).status == "cancelled"  # type: ignore[union-attr]
    await eventually(lambda: _status(user, job.id) == "cancelled")

    _act(user, job.id, "retry")
    await user.should_see(f"Job {job.id} is back in the queue")
    assert _stored(db, job.id).status == "queued"  # type: ignore[union-attr]

    _act(user, job.id, "cancel")
    await eventually(lambda: _has_button(user, job.id, "delete"))
    _act(user, job.id, "delete")
    await user.should_see(f"Delete job {job.id}?")
    click_testid(user, "confirm-action", index=-1)
    await user.should_see(f"Deleted job {job.id}")
    assert _stored(db, job.id) is None
    await user.should_see("No generation jobs yet")


async def test_running_job_cancel_asks_the_server_and_a_finished_job_says_why(
    user: User, sign_in, make_project, db
) -> None:
    account = await sign_in(user)
    project = make_project(account)
    running = add_job(db, project, status="running", progress=0.3)
    await user.open("/queue")
    await user.should_see("30%")
    # The dispatcher finishes it while the page still shows it running.
    row = _stored(db, running.id)
    row.status = "completed"  # type: ignore[union-attr]
    db.add(row)
    db.commit()
    _act(user, running.id, "cancel")
    await user.should_see(f"Job {running.id} already finished (completed): nothing to cancel.")
    await eventually(lambda: _status(user, running.id) == "completed")


async def test_bulk_cancel_all_confirms_how_many_and_clear_completed(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account)
    queued = [add_job(db, project) for _ in range(2)]
    running = add_job(db, project, status="running")
    done = add_job(db, project, status="completed").id
    failed = add_job(db, project, status="failed")
    await user.open("/queue")
    await user.should_see("5 jobs")

    click_testid(user, "cancel-all")
    await user.should_see("Cancel 3 jobs?")
    assert "2 queued jobs are cancelled now." in _text(user, "confirm-message")
    assert "1 running job stops on its server." in _text(user, "confirm-message")
    click_testid(user, "confirm-action", index=-1)
    await user.should_see("Cancelled 3 jobs")
    assert all(_stored(db, job.id).status == "cancelled" for job in queued)  # type: ignore[union-attr]
    assert _stored(db, running.id).cancel_requested  # type: ignore[union-attr]

    click_testid(user, "retry-failed")
    await user.should_see("1 failed job back in the queue")
    assert _stored(db, failed.id).status == "queued"  # type: ignore[union-attr]

    click_testid(user, "clear-completed")
    await user.should_see("Clear 1 completed job?")
    click_testid(user, "confirm-action", index=-1)
    await user.should_see("Cleared 1 completed job")
    assert _stored(db, done) is None
    await eventually(lambda: done not in _rows(user))


async def test_live_rows_follow_job_events(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account)
    job = add_job(db, project)
    await user.open("/queue")
    await eventually(lambda: _rows(user) == [job.id])

    # The dispatcher starts it and reports progress: only that row changes.
    row = _stored(db, job.id)
    row.status, row.progress, row.current_node = "running", 0.1, "KSampler"  # type: ignore[union-attr]
    db.add(row)
    db.commit()
    events.emit(events.jobs_changed, project.id)
    await eventually(lambda: _text(user, f"job-progress-{job.id}") == "10% · KSampler")
    container = _by_testid(user, f"job-row-{job.id}")[0]
    shown = _info(user, job.id)

    row.progress, row.preview_path = 0.55, write_preview(row)  # type: ignore[union-attr]
    db.add(row)
    db.commit()
    events.emit(events.job_progress, job.id)
    await eventually(lambda: _text(user, f"job-progress-{job.id}") == "55% · KSampler")
    assert _by_testid(user, f"job-row-{job.id}")[0] is container and _info(user, job.id) is shown  # not rebuilt
    (thumb,) = _by_testid(user, f"job-preview-{job.id}")
    assert "visibility" not in thumb.style and thumb.props["src"].startswith(f"/api/v1/jobs/{job.id}/preview?v=")

    # A new job from elsewhere arrives with jobs_changed; several events make one refresh.
    newer = add_job(db, project, created_at=row.created_at + timedelta(seconds=5))  # type: ignore[union-attr]
    for _ in range(20):
        events.emit(events.jobs_changed, project.id)
    await eventually(lambda: _rows(user) == [newer.id, job.id])
    assert _by_testid(user, f"job-row-{job.id}")[0] is container


async def test_two_thousand_jobs_render_the_newest_five_hundred(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account)
    db.add_all(
        GenerationJob(
            kind="image",
            project_id=project.id,
            owner_id=account.id,
            status=("queued", "completed", "failed", "cancelled")[n % 4],
            created_at=T0 + timedelta(seconds=n),
            params={"prompt": f"shot {n}"},
        )
        for n in range(2000)
    )
    db.commit()
    started = time.monotonic()
    await user.open("/queue")
    await user.should_see("Showing 500 of 2,000 jobs")
    elapsed = time.monotonic() - started
    assert len(_rows(user)) == 500
    assert elapsed < 15, f"the queue page took {elapsed:.1f} s with 2,000 jobs"
