"""The batch dialog as a director uses it: Generate all, choose clips by scene, see the estimate and the clips
that would be refused, submit, and follow the batch per clip (failures with their reasons, Retry failed).

The dispatcher does not run here: job states are written by the test, and the page is told as the
dispatcher would tell it.
"""

from __future__ import annotations

from typing import Any

from nicegui.testing import User
from sqlmodel import Session, select

from app.config import get_settings
from app.services import clips, events, scenes
from data.models import Batch, Clip, GenerationJob, Project
from tests.fakes.fake_media import png_bytes

from .conftest import click_testid, eventually
from .test_clip_generation import MODEL, add_item, add_server, with_testid


def _film(db: Session, account: Any, make_project) -> tuple[Project, list[list[Clip]]]:
    """Harbour (3 clips) and Open sea (2 clips)."""
    project = make_project(account, "Night Ferry")
    made: list[list[Clip]] = []
    for name, count in (("Harbour", 3), ("Open sea", 2)):
        scene = scenes.create_scene(db, account, project.id, name)
        made.append(
            [
                clips.create_clip(
                    db,
                    account,
                    scene.id,
                    start=float(i * 2),
                    duration=2.0,
                    label=f"{name} {i + 1}",
                    image_prompt="x",
                    video_prompt="y",
                )
                for i in range(count)
            ]
        )
    return project, made


def _box(user: User, testid: str, attribute: str, value: int) -> Any:
    return next(e for e in with_testid(user, testid) if e.props.get(attribute) == str(value))


def _chosen(user: User) -> set[int]:
    return {int(e.props["data-clip-id"]) for e in with_testid(user, "batch-clip") if e.value}


def _text(user: User, testid: str) -> str:
    found = with_testid(user, testid)
    return found[0].text if found else ""


def _batch_jobs(db: Session) -> list[GenerationJob]:
    db.expire_all()
    return list(db.exec(select(GenerationJob).where(GenerationJob.batch_id.is_not(None)).order_by(GenerationJob.id)))  # type: ignore[union-attr]


async def test_generate_all_on_the_dashboard_preselects_clips_without_a_result_and_queues_a_batch(
    user: User, sign_in, make_project, db
) -> None:
    add_server(db)
    account = await sign_in(user)
    project, (harbour, sea) = _film(db, account, make_project)
    add_item(db, harbour[1].id, project, selected=True)  # this one has an image already
    await user.open(f"/projects/{project.id}")

    click_testid(user, "generate-all")
    await user.should_see("Generate several clips · Night Ferry", retries=30)
    everyone_else = {harbour[0].id, harbour[2].id, sea[0].id, sea[1].id}
    assert _chosen(user) == everyone_else
    assert _text(user, "batch-count") == "4 of 5 clips chosen"
    await eventually(lambda: _text(user, "batch-estimate").startswith("4 jobs · "))

    with_testid(user, "batch-variations")[0].set_value(2)
    with_testid(user, "batch-steps")[0].set_value(14)
    with_testid(user, "batch-priority")[0].set_value(5)
    with_testid(user, "batch-name-input")[0].set_value("First pass")
    await eventually(lambda: _text(user, "batch-estimate").startswith("8 jobs · "))
    click_testid(user, "batch-submit")

    await eventually(lambda: len(_batch_jobs(db)) == 8)
    jobs = _batch_jobs(db)
    assert {job.clip_id for job in jobs} == everyone_else
    assert {(job.params["steps"], job.priority, job.checkpoint) for job in jobs} == {(14, 5, MODEL)}
    batch = db.exec(select(Batch)).one()
    assert batch.name == "First pass"
    # The dialog now follows the batch: a row per clip, and a link to the batch page.
    await eventually(lambda: len(with_testid(user, "batch-row")) == 4)
    assert [e.props["data-status"] for e in with_testid(user, "batch-row")] == ["queued"] * 4
    assert with_testid(user, "batch-page-link")[0].props["href"] == f"/batches/{batch.id}"
    assert _text(user, "batch-summary") == "0 of 4 clips done · 4 queued"

    # Closing leaves the batch running and ends the dialog's live updates with it.
    subscribed = len(events.jobs_changed.callbacks)
    click_testid(user, "batch-close")
    await eventually(lambda: not with_testid(user, "batch-dialog"))
    assert len(events.jobs_changed.callbacks) == subscribed - 1
    events.emit(events.jobs_changed, project.id)
    assert {job.status for job in _batch_jobs(db)} == {"queued"}


async def test_generate_all_on_a_scene_chooses_its_clips_and_scene_boxes_choose_groups(
    user: User, sign_in, make_project, db
) -> None:
    add_server(db)
    account = await sign_in(user)
    _project, (harbour, sea) = _film(db, account, make_project)
    await user.open(f"/scenes/{sea[0].scene_id}")
    click_testid(user, "generate-all")
    await user.should_see("Generate several clips", retries=30)
    assert _chosen(user) == {sea[0].id, sea[1].id}
    sea_box = _box(user, "batch-scene", "data-scene-id", sea[0].scene_id)
    harbour_box = _box(user, "batch-scene", "data-scene-id", harbour[0].scene_id)
    assert (sea_box.value, harbour_box.value) == (True, False)

    _box(user, "batch-clip", "data-clip-id", harbour[0].id).set_value(True)
    assert harbour_box.value is None  # partly chosen
    harbour_box.set_value(True)
    assert _chosen(user) == {c.id for c in harbour + sea}
    click_testid(user, "batch-select-none")
    assert _chosen(user) == set() and not with_testid(user, "batch-submit")[0].enabled
    await eventually(lambda: _text(user, "batch-estimate") == "Nothing to queue yet: choose clips on the left.")
    click_testid(user, "batch-select-all")
    assert len(_chosen(user)) == 5 and _text(user, "batch-submit") == "Generate 5 clips"
    await eventually(lambda: _text(user, "batch-estimate").startswith("5 jobs · "))


async def test_a_clip_with_an_empty_prompt_is_marked_before_anything_is_queued(
    user: User, sign_in, make_project, db
) -> None:
    add_server(db)
    account = await sign_in(user)
    project, (_harbour, sea) = _film(db, account, make_project)
    blank = clips.update_clip(db, account, sea[1].id, image_prompt="  ")
    await user.open(f"/projects/{project.id}")
    click_testid(user, "generate-all")
    await user.should_see("Generate several clips", retries=30)
    click_testid(user, "batch-select-all")

    await eventually(lambda: bool(_box(user, "batch-clip-problem", "data-clip-id", blank.id).text))
    assert "The image prompt is empty" in _box(user, "batch-clip-problem", "data-clip-id", blank.id).text
    marked = {int(e.props["data-clip-id"]) for e in with_testid(user, "batch-clip-problem") if e.text}
    assert marked == {blank.id}
    assert _text(user, "batch-estimate").startswith("5 jobs · ")  # a warning, not a refusal


async def test_clips_that_would_be_refused_are_marked_and_can_be_left_out(
    user: User, sign_in, make_project, db
) -> None:
    add_server(db)
    account = await sign_in(user)
    project, (harbour, sea) = _film(db, account, make_project)
    still = add_item(db, harbour[0].id, project, selected=True)
    (get_settings().media_dir / still.file_path).parent.mkdir(parents=True, exist_ok=True)
    (get_settings().media_dir / still.file_path).write_bytes(png_bytes(16, 16, seed=3))
    await user.open(f"/projects/{project.id}")
    click_testid(user, "generate-all")
    await user.should_see("Generate several clips", retries=30)
    click_testid(user, "batch-select-all")
    with_testid(user, "batch-mode")[0].set_value("video")

    without_image = [c.id for c in harbour[1:] + sea]
    await eventually(lambda: _text(user, "batch-problems").startswith("4 clips cannot be queued"))
    marked = {int(e.props["data-clip-id"]) for e in with_testid(user, "batch-clip-problem") if e.text}
    assert marked == set(without_image)
    assert "no selected image" in _box(user, "batch-clip-problem", "data-clip-id", sea[0].id).text
    assert _text(user, "batch-estimate").startswith("1 job · ")

    # Submitting anyway is refused as a whole, naming a clip; nothing is queued.
    click_testid(user, "batch-submit")
    await eventually(lambda: "Nothing was queued" in _text(user, "batch-result"))
    assert _batch_jobs(db) == [] and db.exec(select(Batch)).all() == []

    click_testid(user, "batch-leave-out")
    assert _chosen(user) == {harbour[0].id}
    click_testid(user, "batch-submit")
    await eventually(lambda: len(_batch_jobs(db)) == 1)
    assert _batch_jobs(db)[0].kind == "video"


async def test_progress_shows_failures_with_reasons_and_retries_just_those(
    user: User, sign_in, make_project, db
) -> None:
    add_server(db)
    account = await sign_in(user)
    project, (harbour, _sea) = _film(db, account, make_project)
    await user.open(f"/scenes/{harbour[0].scene_id}")
    click_testid(user, "generate-all")
    await user.should_see("Generate several clips", retries=30)
    await eventually(lambda: _text(user, "batch-estimate").startswith("3 jobs"))
    click_testid(user, "batch-submit")
    await eventually(lambda: len(with_testid(user, "batch-row")) == 3)

    done, failed, running = _batch_jobs(db)
    done.status, done.progress = "completed", 1.0
    failed.status, failed.error = "failed", "Failed after 3 attempt(s): CUDA out of memory on Studio GPU"
    running.status, running.progress = "running", 0.3
    db.add_all([done, failed, running])
    db.commit()
    result = add_item(db, harbour[0].id, project, selected=True)
    result.job_id = done.id
    db.add(result)
    db.commit()
    batch = db.exec(select(Batch)).one()
    events.emit(events.jobs_changed, project.id)

    def row(clip: Clip) -> Any:
        return _box(user, "batch-row", "data-clip-id", clip.id)

    await eventually(lambda: row(harbour[1]).props["data-status"] == "failed")
    assert [row(c).props["data-status"] for c in harbour] == ["completed", "failed", "running"]
    await user.should_see("CUDA out of memory on Studio GPU", retries=30)
    assert _text(user, "batch-summary") == "1 of 3 clips done · 1 failed · 1 running"
    assert _text(user, "batch-retry-failed") == "Retry failed (1)"
    thumbs = [e for e in row(harbour[0]).descendants() if e.props.get("alt") == "Result"]
    assert thumbs[0].props["src"] == f"/api/v1/gallery/{result.id}/thumbnail" and thumbs[0].visible

    # A progress tick moves only the running clip's bar.
    running.progress = 0.8
    db.add(running)
    db.commit()
    events.emit(events.job_progress, running.id)
    await user.should_see("80%", retries=30)

    click_testid(user, "batch-retry-failed")
    await eventually(lambda: db.get(GenerationJob, failed.id, populate_existing=True).status == "queued")
    assert db.get(GenerationJob, done.id, populate_existing=True).status == "completed"
    await eventually(lambda: row(harbour[1]).props["data-status"] == "queued")
    assert db.get(Batch, batch.id, populate_existing=True).notified_at is None


async def test_the_batch_page_shows_the_batch(user: User, sign_in, make_project, db) -> None:
    add_server(db)
    account = await sign_in(user)
    project, (harbour, _sea) = _film(db, account, make_project)
    from app.services import batches

    batch = batches.create_batch(
        db, account, project.id, batches.BatchRequest(clip_ids=[harbour[0].id], settings={"checkpoint": MODEL})
    )
    await user.open(f"/batches/{batch.id}")
    await user.should_see("Batch of 1 clip")
    await user.should_see("Harbour 1")
    assert _text(user, "batch-summary") == "0 of 1 clip done · 1 queued"
    missing = await user.http_client.get("/batches/987654")
    assert missing.status_code == 404 and "Batch 987654 does not exist or is not yours." in missing.text


async def test_presets_apply_in_the_batch_dialog_and_submitted_settings_become_the_defaults(
    user: User, sign_in, make_project, db
) -> None:
    from app.services import generation_defaults

    add_server(db)
    account = await sign_in(user)
    project, (harbour, _sea) = _film(db, account, make_project)
    generation_defaults.save_preset(
        db, account, project.id, "Quick look", {"steps": 6, "cfg": 2.5, "negative_prompt": "blurry"}
    )
    await user.open(f"/scenes/{harbour[0].scene_id}")
    click_testid(user, "generate-all")
    await user.should_see("Generate several clips", retries=30)
    preset_id = next(iter(with_testid(user, "batch-preset-select")[0].options))
    with_testid(user, "batch-preset-select")[0].set_value(preset_id)
    click_testid(user, "batch-preset-apply")
    await eventually(lambda: with_testid(user, "batch-steps")[0].value == 6)
    assert with_testid(user, "batch-negative-prompt")[0].value == "blurry"
    await eventually(lambda: _text(user, "batch-estimate").startswith("3 jobs"))
    click_testid(user, "batch-submit")

    await eventually(lambda: len(_batch_jobs(db)) == 3)
    assert {(job.params["steps"], job.params["cfg"]) for job in _batch_jobs(db)} == {(6, 2.5)}

    def remembered() -> tuple[object, ...]:  # written just after the batch, in the same background step
        db.expire_all()
        stored = generation_defaults.stored_defaults(db.get(Project, project.id).settings)
        return (stored.steps, stored.cfg, stored.negative_prompt)

    await eventually(lambda: remembered() == (6, 2.5, "blurry"))
