"""Ten clips as one batch through a fake ComfyUI: two fail with the reason; Retry failed; all ten get results."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.config import get_settings
from app.services import batch_views, batches, clips, scenes, workflows
from app.services.batches import BatchRequest
from data.engine import session_scope
from data.models import Batch, GalleryItem, GenerationJob

from .conftest import add_server, all_finished, drive

REASON = "CUDA out of memory (the fake GPU ran out)"


def _clips_with_results(clip_ids: list[int]) -> set[int]:
    with session_scope() as session:
        rows = session.exec(select(GalleryItem.clip_id).where(GalleryItem.clip_id.in_(clip_ids))).all()  # type: ignore[attr-defined]
    return set(rows)


def _job_ids(batch_id: int) -> list[int]:
    with session_scope() as session:
        return list(session.exec(select(GenerationJob.id).where(GenerationJob.batch_id == batch_id)))  # type: ignore[arg-type]


async def test_ten_clips_two_failures_retry_and_all_have_results(
    db, make_user, make_project, fakes, dispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "job_max_attempts", 1)  # a failed execution is final: no automatic retry
    owner = make_user("director")
    project = make_project(owner, name="Ferry")
    made = []
    for scene_name in ("Harbour", "Open sea"):
        scene = scenes.create_scene(db, owner, project.id, scene_name)
        for index in range(5):
            made.append(
                clips.create_clip(
                    db,
                    owner,
                    scene.id,
                    start=float(index * 2),
                    duration=2.0,
                    label=f"{scene_name} {index + 1}",
                    image_prompt=f"{scene_name.lower()}, shot {index + 1}",
                )
            )
    clip_ids = [clip.id for clip in made]
    fake = fakes(job_seconds=0.05, fail_next=2, fail_exception_message=REASON, fail_exception_type="RuntimeError")
    add_server(db, fake, "gpu-1", max_jobs=2)
    workflows.ensure_builtin_workflows(db)

    batch = batches.create_batch(
        db,
        owner,
        project.id,
        BatchRequest(clip_ids=clip_ids, settings={"checkpoint": "dreamshaper_8.safetensors", "seed": 5, "steps": 4}),
    )
    job_ids = _job_ids(batch.id)  # type: ignore[arg-type]
    assert len(job_ids) == 10

    await drive(dispatcher, all_finished(job_ids), timeout=60)

    with session_scope() as session:
        view = batch_views.batch_status(session, owner, batch.id)  # type: ignore[arg-type]
    failed = [row for row in view.clips if row.status == "failed"]
    assert len(failed) == 2 and view.status == "failed" and view.finished
    assert all(REASON in (row.error or "") for row in failed), [row.error for row in failed]
    assert view.clip_counts["completed"] == 8
    assert _clips_with_results(clip_ids) == set(clip_ids) - {row.clip_id for row in failed}
    prompts_before = len(fake.prompts)

    with session_scope() as session:
        batch_row = session.get(Batch, batch.id)
        batch_row.notified_at = batch_row.created_at  # as if the "batch finished" notice went out
        session.add(batch_row)
        session.commit()
        assert batches.retry_failed(session, owner, batch.id) == 2  # type: ignore[arg-type]
        assert session.get(Batch, batch.id, populate_existing=True).notified_at is None  # it may be told again

    await drive(dispatcher, all_finished(job_ids), timeout=60)

    with session_scope() as session:
        view = batch_views.batch_status(session, owner, batch.id)  # type: ignore[arg-type]
    assert view.status == "completed" and view.clip_counts["completed"] == 10 and view.progress == 1.0
    assert len(fake.prompts) == prompts_before + 2  # only the two failures ran again
    assert _clips_with_results(clip_ids) == set(clip_ids)
    # Each clip's result went to its own gallery, made from its own prompt, and became its choice.
    with session_scope() as session:
        items = session.exec(select(GalleryItem).where(GalleryItem.clip_id.in_(clip_ids))).all()  # type: ignore[attr-defined]
    by_clip = {item.clip_id: item for item in items}
    assert all(by_clip[clip.id].params["prompt"] == clip.image_prompt for clip in made)
    assert all(item.selected for item in items)
    assert all(row.result_item_id == by_clip[row.clip_id].id for row in view.clips)
