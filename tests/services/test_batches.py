"""Batches: many clips queued with one setup, all or nothing, followed per clip, their failures retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import func, select

from app.config import get_settings
from app.services import batch_views, batches, clips, scenes, workflows
from app.services.batches import BatchRequest
from data.errors import Invalid, NotFound
from data.models import Batch, Clip, ComfyServer, GalleryItem, GenerationJob, Project
from data.models._common import utcnow
from tests.fakes.fake_media import png_bytes

MODEL = "dreamshaper_8.safetensors"


@pytest.fixture
def film(db, make_user, make_project):
    """Two scenes (Opening with three clips, Harbour with two), the built-in workflows and one online server."""
    owner = make_user("director")
    project = make_project(owner, name="Film", width=1920, height=1080)
    opening = scenes.create_scene(db, owner, project.id, "Opening")
    harbour = scenes.create_scene(db, owner, project.id, "Harbour")
    made: list[Clip] = []
    for scene, count in ((opening, 3), (harbour, 2)):
        for index in range(count):
            made.append(
                clips.create_clip(
                    db,
                    owner,
                    scene.id,
                    start=float(index * 2),
                    duration=2.0,
                    label=f"{scene.name} {index + 1}",
                    image_prompt=f"{scene.name.lower()} shot {index + 1}",
                    video_prompt=f"{scene.name.lower()} motion {index + 1}",
                )
            )
    workflows.ensure_builtin_workflows(db)
    db.add(ComfyServer(name="gpu-1", base_url="http://gpu-1:8188", status="online", max_jobs=2))
    db.commit()
    return owner, project, made


def request(clip_ids: list[int], **settings: object) -> BatchRequest:
    fields = {"checkpoint": MODEL, **settings}
    priority = int(fields.pop("priority", 0))  # type: ignore[call-overload]
    name = fields.pop("name", None)
    return BatchRequest(clip_ids=clip_ids, settings=fields, name=name, priority=priority)  # type: ignore[arg-type]


def job_count(db) -> int:
    return db.exec(select(func.count()).select_from(GenerationJob)).one()


def add_image(db, clip: Clip, *, selected: bool = True) -> GalleryItem:
    folder = get_settings().media_dir / "projects" / str(clip.project_id) / "clips" / str(clip.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "still.png").write_bytes(png_bytes(32, 24, seed=clip.id or 1))
    item = GalleryItem(
        clip_id=clip.id,  # type: ignore[arg-type]
        project_id=clip.project_id,
        kind="image",
        file_path=f"projects/{clip.project_id}/clips/{clip.id}/still.png",
        selected=selected,
    )
    db.add(item)
    db.commit()
    db.refresh(item)
    return item


def batch_jobs(db, batch_id: int) -> list[GenerationJob]:
    db.expire_all()
    return list(db.exec(select(GenerationJob).where(GenerationJob.batch_id == batch_id).order_by(GenerationJob.id)))


def set_status(db, job: GenerationJob, status: str, **fields: object) -> None:
    job.status = status
    for name, value in fields.items():
        setattr(job, name, value)
    db.add(job)
    db.commit()


# --- creating ----------------------------------------------------------------------------------------


def test_a_batch_across_scenes_keeps_each_clips_prompts_and_shares_the_settings(db, film) -> None:
    owner, project, made = film
    chosen = [made[4].id, made[0].id, made[3].id]  # out of order, across both scenes

    batch = batches.create_batch(
        db, owner, project.id, request(chosen, steps=12, seed_policy="fixed", seed=7, variations=2, priority=3)
    )

    assert batch.name == "Batch of 3 clips" and batch.priority == 3 and batch.owner_id == owner.id
    jobs = batch_jobs(db, batch.id)
    assert len(jobs) == 6
    # Queued in scene and time order: the dispatcher serves the oldest first.
    assert [j.clip_id for j in jobs] == [made[0].id, made[0].id, made[3].id, made[3].id, made[4].id, made[4].id]
    assert [j.params["prompt"] for j in jobs[::2]] == ["opening shot 1", "harbour shot 1", "harbour shot 2"]
    assert {(j.params["steps"], j.priority, j.status) for j in jobs} == {(12, 3, "queued")}
    assert [j.params["seed"] for j in jobs[:2]] == [7, 8]
    assert batch.params["clip_ids"] == [made[0].id, made[3].id, made[4].id]
    assert batch.params["settings"]["steps"] == 12


def test_a_name_and_the_increment_policy_carry_through_the_batch(db, film) -> None:
    owner, project, made = film
    batch = batches.create_batch(
        db, owner, project.id, request([c.id for c in made[:3]], seed_policy="increment", seed=100, name="  Dusk  ")
    )
    assert batch.name == "Dusk"
    # The seed starts the first clip; each later clip continues the project's sequence.
    assert [j.params["seed"] for j in batch_jobs(db, batch.id)] == [100, 101, 102]


def test_one_clip_that_cannot_be_queued_stops_the_whole_batch_and_is_named(db, film) -> None:
    owner, project, made = film
    for clip in made[:2]:
        add_image(db, clip)

    with pytest.raises(Invalid) as raised:
        batches.create_batch(db, owner, project.id, request([made[0].id, made[1].id, made[2].id], mode="video"))

    message = raised.value.message
    assert f"Clip {made[2].id}" in message and "Opening 3" in message and "no selected image" in message
    assert "Nothing was queued" in message and raised.value.field == "clip_ids"
    db.expire_all()
    assert job_count(db) == 0 and db.exec(select(Batch)).all() == []


def test_clips_of_another_project_and_an_empty_selection_are_refused(db, film, make_project) -> None:
    owner, project, made = film
    other = make_project(owner, name="Other")
    scene = scenes.create_scene(db, owner, other.id, "Elsewhere")
    stray = clips.create_clip(db, owner, scene.id, label="stray")
    with pytest.raises(Invalid, match=f"Clip {stray.id} is not in this project"):
        batches.create_batch(db, owner, project.id, request([made[0].id, stray.id]))
    with pytest.raises(Invalid, match="Select at least one clip"):
        batches.create_batch(db, owner, project.id, request([]))
    assert job_count(db) == 0


def test_another_users_project_is_not_found(db, film, make_user) -> None:
    _owner, project, made = film
    stranger = make_user("stranger")
    with pytest.raises(NotFound):
        batches.create_batch(db, stranger, project.id, request([made[0].id]))
    with pytest.raises(NotFound):
        batches.estimate_batch(db, stranger, project.id, request([made[0].id]))
    with pytest.raises(NotFound):
        batch_views.list_batches(db, stranger, project.id)
    with pytest.raises(NotFound):
        batch_views.batch_candidates(db, stranger, project.id)
    assert job_count(db) == 0


def test_settings_refuse_per_clip_fields() -> None:
    with pytest.raises(ValidationError, match="prompt"):
        BatchRequest(clip_ids=[1], settings={"checkpoint": MODEL, "prompt": "one prompt for all"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        BatchRequest(clip_ids=[1], settings={"checkpoint": MODEL, "init_item_id": 3})  # type: ignore[arg-type]


# --- estimating -------------------------------------------------------------------------------------


def test_the_estimate_counts_jobs_lists_problems_and_stores_nothing(db, film) -> None:
    owner, project, made = film
    add_image(db, made[0])
    before = db.get(Project, project.id).settings

    estimate = batches.estimate_batch(
        db, owner, project.id, request([made[0].id, made[1].id, 999_999], mode="video", variations=2)
    )

    assert (estimate.clips, estimate.jobs) == (2, 2 * 1)  # only the clip that can be queued makes jobs
    assert [p.clip_id for p in estimate.problems] == [999_999, made[1].id]
    assert "not in this project" in estimate.problems[0].reason
    assert "no selected image" in estimate.problems[1].reason
    assert estimate.estimate_seconds is not None and estimate.estimate_seconds > 0
    db.expire_all()
    assert job_count(db) == 0 and db.exec(select(Batch)).all() == []
    assert db.get(Project, project.id).settings == before


def test_the_estimate_follows_recent_durations_and_server_slots(db, film) -> None:
    owner, project, made = film
    now = utcnow()
    for seconds in (10, 10, 10):  # recent runs of this model took 10 s each
        db.add(
            GenerationJob(
                kind="image",
                project_id=project.id,
                clip_id=made[0].id,
                owner_id=owner.id,
                status="completed",
                checkpoint=MODEL,
                started_at=now - timedelta(seconds=seconds),
                finished_at=now,
            )
        )
    db.commit()
    four = batches.estimate_batch(db, owner, project.id, request([c.id for c in made[:4]]))
    assert four.jobs == 4 and four.estimate_seconds == pytest.approx(20.0)  # 4 × 10 s over 2 slots
    server = db.exec(select(ComfyServer)).one()
    server.status = "offline"
    db.add(server)
    db.commit()
    assert batches.estimate_batch(db, owner, project.id, request([made[0].id])).estimate_seconds is None


def test_the_estimate_of_nothing_is_nothing(db, film) -> None:
    owner, project, _ = film
    estimate = batches.estimate_batch(db, owner, project.id, request([]))
    assert (estimate.clips, estimate.jobs, estimate.estimate_seconds, estimate.problems) == (0, 0, 0.0, [])


def test_a_problem_of_the_whole_fleet_is_reported_for_each_clip(db, film) -> None:
    owner, project, made = film
    server = db.exec(select(ComfyServer)).one()
    server.enabled = False
    db.add(server)
    db.commit()
    estimate = batches.estimate_batch(db, owner, project.id, request([made[0].id, made[1].id]))
    assert estimate.jobs == 0 and len(estimate.problems) == 2
    assert all("No ComfyUI server is enabled" in p.reason for p in estimate.problems)


# --- the project's clips ----------------------------------------------------------------------------


def test_clips_without_a_result_and_the_candidates_by_scene(db, film) -> None:
    owner, project, made = film
    add_image(db, made[1], selected=False)  # a result not chosen still counts: there is one to choose
    add_image(db, made[3])

    assert batch_views.clips_without_result(db, owner, project.id, "image") == [made[0].id, made[2].id, made[4].id]
    assert batch_views.clips_without_result(db, owner, project.id, "video") == [c.id for c in made]
    groups = batch_views.batch_candidates(db, owner, project.id)
    assert [(g.name, [c.label for c in g.clips]) for g in groups] == [
        ("Opening", ["Opening 1", "Opening 2", "Opening 3"]),
        ("Harbour", ["Harbour 1", "Harbour 2"]),
    ]
    assert [c.has_image for c in groups[0].clips] == [False, True, False]
    assert batch_views.result_kind("both") == "video" and batch_views.result_kind("image") == "image"


# --- following and retrying -------------------------------------------------------------------------


def test_status_rows_aggregate_each_clips_jobs(db, film) -> None:
    owner, project, made = film
    batch = batches.create_batch(db, owner, project.id, request([c.id for c in made[:4]], variations=2))
    jobs = batch_jobs(db, batch.id)
    set_status(db, jobs[0], "completed", finished_at=utcnow())
    set_status(db, jobs[1], "completed", finished_at=utcnow())
    set_status(db, jobs[2], "completed")
    set_status(db, jobs[3], "failed", error="Failed after 3 attempt(s): CUDA out of memory")
    set_status(db, jobs[4], "running", progress=0.5)
    item = GalleryItem(clip_id=made[0].id, project_id=project.id, kind="image", file_path="a.png", job_id=jobs[1].id)
    db.add(item)
    db.commit()

    view = batch_views.batch_status(db, owner, batch.id)

    rows = {row.clip_id: row for row in view.clips}
    assert [row.clip_id for row in view.clips] == [c.id for c in made[:4]]
    assert (rows[made[0].id].status, rows[made[0].id].progress, rows[made[0].id].result_item_id) == (
        "completed",
        1.0,
        item.id,
    )
    assert rows[made[1].id].status == "failed" and "CUDA out of memory" in rows[made[1].id].error
    assert (rows[made[2].id].status, rows[made[2].id].progress) == ("running", 0.25)
    assert [(j.status, j.progress) for j in rows[made[2].id].jobs] == [("running", 0.5), ("queued", 0.0)]
    assert (rows[made[3].id].status, rows[made[3].id].progress) == ("queued", 0.0)
    assert (rows[made[1].id].scene_name, rows[made[1].id].label) == ("Opening", "Opening 2")
    assert view.status == "running" and not view.finished
    assert (view.clip_count, view.job_count) == (4, 8)
    assert view.clip_counts == {
        "queued": 1,
        "running": 1,
        "completed": 1,
        "failed": 1,
        "cancelled": 0,
        "cleared": 0,
    }
    assert view.job_counts["completed"] == 3 and view.job_counts["queued"] == 3
    assert view.progress == pytest.approx((4 + 0.5) / 8)


def test_retry_failed_requeues_only_the_batchs_failures_and_forgets_the_notice(db, film) -> None:
    owner, project, made = film
    batch = batches.create_batch(db, owner, project.id, request([c.id for c in made[:3]]))
    other = batches.create_batch(db, owner, project.id, request([made[3].id]))
    done, failed, cancelled = batch_jobs(db, batch.id)
    [elsewhere] = batch_jobs(db, other.id)
    set_status(db, done, "completed")
    set_status(db, failed, "failed", error="boom", attempts=3)
    set_status(db, cancelled, "cancelled")
    set_status(db, elsewhere, "failed", error="not this batch")
    stored = db.get(Batch, batch.id)
    stored.notified_at = utcnow()
    db.add(stored)
    db.commit()
    assert batch_views.batch_status(db, owner, batch.id).status == "failed"

    assert batches.retry_failed(db, owner, batch.id) == 2

    states = {j.id: j for j in batch_jobs(db, batch.id)}
    assert (states[done.id].status, states[failed.id].status, states[cancelled.id].status) == (
        "completed",
        "queued",
        "queued",
    )
    assert (states[failed.id].attempts, states[failed.id].error) == (0, None)
    assert batch_jobs(db, other.id)[0].status == "failed"
    assert db.get(Batch, batch.id).notified_at is None
    assert batch_views.batch_status(db, owner, batch.id).status == "running"
    assert batches.retry_failed(db, owner, batch.id) == 0


def test_list_batches_newest_first_with_counts_and_only_for_the_owner(db, film, make_user) -> None:
    owner, project, made = film
    first = batches.create_batch(db, owner, project.id, request([made[0].id]))
    second = batches.create_batch(db, owner, project.id, request([made[1].id, made[2].id]))
    for job in batch_jobs(db, first.id):
        set_status(db, job, "completed")

    listed = batch_views.list_batches(db, owner, project.id)

    assert [(b.id, b.status, b.clip_count, b.finished) for b in listed] == [
        (second.id, "queued", 2, False),
        (first.id, "completed", 1, True),
    ]
    stranger = make_user("stranger")
    with pytest.raises(NotFound, match=f"Batch {first.id} does not exist"):
        batch_views.batch_status(db, stranger, first.id)
    with pytest.raises(NotFound):
        batches.retry_failed(db, stranger, first.id)
    admin = make_user("boss", admin=True)
    assert batch_views.batch_status(db, admin, first.id).id == first.id


def test_a_deleted_clip_leaves_the_batch_and_cleared_jobs_say_so(db, film) -> None:
    owner, project, made = film
    batch = batches.create_batch(db, owner, project.id, request([made[0].id, made[1].id, made[2].id]))
    clips.delete_clips(db, owner, [made[0].id])
    jobs = batch_jobs(db, batch.id)
    db.delete(jobs[0])  # e.g. Clear completed removed it from the queue
    db.commit()
    view = batch_views.batch_status(db, owner, batch.id)
    assert [(row.clip_id, row.status) for row in view.clips] == [(made[1].id, "cleared"), (made[2].id, "queued")]
    assert view.clip_count == 2 and view.clip_counts["cleared"] == 1


def test_waiting_jobs_count_only_when_they_would_be_served_first(db, film) -> None:
    owner, project, made = film
    for _ in range(4):  # four jobs of 30 s (no history yet) already wait at a normal priority
        db.add(GenerationJob(kind="image", project_id=project.id, clip_id=made[0].id, owner_id=owner.id, priority=0))
    db.commit()
    normal = batches.estimate_batch(db, owner, project.id, request([made[1].id, made[2].id]))
    boosted = batches.estimate_batch(db, owner, project.id, request([made[1].id, made[2].id], priority=5))
    assert normal.estimate_seconds == pytest.approx((4 + 2) * 30 / 2)
    assert boosted.estimate_seconds == pytest.approx(30.0)  # two jobs over two slots, ahead of the others
