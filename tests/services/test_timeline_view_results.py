"""Timeline cards carry the clip's chosen result and where its generation stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from app.services import clips, scenes
from app.services.timeline_view import clip_cards
from data.models import Clip, GalleryItem, GenerationJob, Project

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def add_item(session: Session, clip: Clip, kind: str = "image", *, selected: bool = False) -> GalleryItem:
    item = GalleryItem(
        clip_id=clip.id,  # type: ignore[arg-type]
        project_id=clip.project_id,
        kind=kind,
        file_path=f"results/{clip.id}-{kind}-{selected}.{'png' if kind == 'image' else 'mp4'}",
        thumbnail_path=f"results/{clip.id}-{kind}.webp",
        selected=selected,
    )
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


def add_job(session: Session, project: Project, clip: Clip, status: str, **fields: Any) -> GenerationJob:
    job = GenerationJob(
        kind="image", project_id=project.id, clip_id=clip.id, owner_id=project.owner_id, status=status, **fields
    )  # type: ignore[arg-type]
    session.add(job)
    session.commit()
    return job


def by_id(cards: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {card["id"]: card for card in cards}


def test_card_shows_the_selected_image_else_the_selected_videos_poster(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "Harbour")
    both, video_only, unselected, empty = (clips.create_clip(db, owner, scene.id) for _ in range(4))
    image = add_item(db, both, "image", selected=True)
    add_item(db, both, "video", selected=True)
    poster = add_item(db, video_only, "video", selected=True)
    add_item(db, unselected, "image", selected=False)

    cards = by_id(clip_cards(db, owner, scene.id))

    assert cards[both.id]["thumbnail"] == f"/api/v1/gallery/{image.id}/thumbnail"
    assert cards[video_only.id]["thumbnail"] == f"/api/v1/gallery/{poster.id}/thumbnail"
    assert cards[unselected.id]["thumbnail"] is None
    assert cards[empty.id]["thumbnail"] is None


def test_card_status_is_the_most_urgent_active_job_or_a_failure_not_yet_superseded(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "Harbour")
    running, queued, failed, recovered, cancelled, idle = (clips.create_clip(db, owner, scene.id) for _ in range(6))
    add_job(db, project, running, "queued")
    add_job(db, project, running, "running")
    add_job(db, project, queued, "queued")
    add_job(db, project, queued, "failed", finished_at=T0)
    add_job(db, project, failed, "completed", finished_at=T0)
    add_job(db, project, failed, "failed", finished_at=T0 + timedelta(minutes=1))
    add_job(db, project, recovered, "failed", finished_at=T0)
    add_job(db, project, recovered, "completed", finished_at=T0 + timedelta(minutes=1))
    add_job(db, project, cancelled, "cancelled", finished_at=T0)
    add_job(db, project, idle, "completed", finished_at=T0)

    cards = by_id(clip_cards(db, owner, scene.id))

    assert cards[running.id]["status"] == "running"
    assert cards[queued.id]["status"] == "queued"
    assert cards[failed.id]["status"] == "failed"
    assert cards[recovered.id]["status"] is None
    assert cards[cancelled.id]["status"] is None
    assert cards[idle.id]["status"] is None


def test_a_dispatched_job_reads_as_running_and_other_scenes_jobs_do_not_leak(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    here = scenes.create_scene(db, owner, project.id, "Here")
    there = scenes.create_scene(db, owner, project.id, "There")
    mine = clips.create_clip(db, owner, here.id)
    other = clips.create_clip(db, owner, there.id)
    add_job(db, project, mine, "dispatched")
    add_job(db, project, other, "failed", finished_at=T0)
    add_item(db, other, "image", selected=True)

    cards = clip_cards(db, owner, here.id)

    assert [(c["id"], c["status"], c["thumbnail"]) for c in cards] == [(mine.id, "running", None)]


def test_cards_take_the_same_few_queries_for_many_clips(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "Harbour")

    def count_queries() -> int:
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        engine = db.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            clip_cards(db, owner, scene.id)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    first = clips.create_clip(db, owner, scene.id)
    add_item(db, first, selected=True)
    add_job(db, project, first, "queued")
    few = count_queries()
    for _ in range(12):
        clip = clips.create_clip(db, owner, scene.id)
        add_item(db, clip, selected=True)
        add_job(db, project, clip, "running")

    assert count_queries() == few
