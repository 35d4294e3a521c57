"""Notices of finished work: the sweep's rules, preferences, no double notice across processes, reading them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.services import clips, events, jobs, notifications, scenes
from app.services.notifications import NotificationFilter as Where
from data.engine import get_engine, session_scope
from data.errors import Conflict, Invalid, NotFound
from data.models import Batch, GalleryItem, GenerationJob, Notification, Project, User

from .test_jobs_service import add_job

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _forget_subscribers() -> Iterator[None]:
    yield
    events.notifications_changed.callbacks.clear()


@pytest.fixture
def told() -> list[int]:
    """The user ids notifications_changed was emitted for."""
    seen: list[int] = []
    events.notifications_changed.subscribe(seen.append)
    return seen


@pytest.fixture
def studio(db, make_user, make_project) -> tuple[User, Project, int, int]:
    """(owner, project, scene id, clip id): a clip in a scene named "Harbour"."""
    owner = make_user("nora")
    project = make_project(owner, "Night Ferry")
    scene = scenes.create_scene(db, owner, project.id, "Harbour")
    clip = clips.create_clip(db, owner, scene.id, start=0, duration=2, image_prompt="a pier at dusk")
    return owner, project, scene.id, clip.id  # type: ignore[return-value]


def finished(db: Session, project: Project, status: str, **fields: Any) -> GenerationJob:
    values: dict[str, Any] = {"created_at": T0, "finished_at": T0 + timedelta(seconds=95)}
    values.update(fields)
    return add_job(db, project, status=status, **values)


def stored(db: Session, user: User) -> list[Notification]:
    db.expire_all()
    return list(db.exec(select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id))))


def _job(db: Session, job_id: int) -> GenerationJob:
    db.expire_all()
    job = db.get(GenerationJob, job_id)
    assert job is not None
    return job


# --- the sweep ------------------------------------------------------------------------------------


def test_completed_job_tells_its_owner_once_with_a_link_to_the_clip(db, studio, told) -> None:
    owner, project, scene_id, clip_id = studio
    job = finished(db, project, "completed", clip_id=clip_id, params={"prompt": "a pier at dusk", "seed": 3})
    item = GalleryItem(clip_id=clip_id, project_id=project.id, kind="image", file_path="a.png", job_id=job.id)
    db.add(item)
    db.commit()

    assert notifications.sweep(db) == 1
    (notice,) = stored(db, owner)
    assert (notice.kind, notice.level) == ("job_completed", "positive")
    assert notice.title == "Image ready: Harbour · #1"
    assert notice.body == "Night Ferry · a pier at dusk"
    assert notice.link == f"/scenes/{scene_id}?clip={clip_id}"
    assert (notice.job_id, notice.clip_id, notice.project_id) == (job.id, clip_id, project.id)
    assert notice.duration_seconds == 95.0 and notice.read is False
    assert notice.extra["item_ids"] == [item.id]
    assert _job(db, job.id).notified is True
    assert told == [owner.id]

    assert notifications.sweep(db) == 0  # told once
    assert len(stored(db, owner)) == 1 and told == [owner.id]


def test_failed_job_says_the_error_and_cancelled_or_unfinished_jobs_say_nothing(db, studio) -> None:
    owner, project, _scene_id, clip_id = studio
    error = "gpu-1: CheckpointLoaderSimple: Value not in list: ckpt_name: 'missing.safetensors'"
    failed = finished(db, project, "failed", clip_id=clip_id, kind="video", error=error)
    cancelled = finished(db, project, "cancelled", clip_id=clip_id)
    waiting = [add_job(db, project, status=status) for status in ("queued", "dispatched", "running")]

    assert notifications.sweep(db) == 1
    (notice,) = stored(db, owner)
    assert (notice.kind, notice.level, notice.title) == ("job_failed", "negative", "Video failed: Harbour · #1")
    assert notice.body == error
    assert notifications.can_retry(notice)
    assert _job(db, cancelled.id).notified is True and _job(db, failed.id).notified is True
    assert all(_job(db, job.id).notified is False for job in waiting)


def test_a_retried_job_is_told_again_when_it_ends_again(db, studio) -> None:
    owner, project, _scene_id, clip_id = studio
    job = finished(db, project, "failed", clip_id=clip_id, error="boom")
    notifications.sweep(db)
    jobs.retry_job(db, owner, job.id)
    assert _job(db, job.id).notified is False
    db.exec(  # the dispatcher runs it again, and this time it works
        GenerationJob.__table__.update().where(GenerationJob.__table__.c.id == job.id).values(status="completed")  # type: ignore[attr-defined]
    )
    db.commit()

    assert notifications.sweep(db) == 1
    assert [n.kind for n in stored(db, owner)] == ["job_failed", "job_completed"]


def test_switched_off_kinds_are_marked_told_without_a_notice(db, studio, told) -> None:
    owner, project, _scene_id, clip_id = studio
    notifications.update_preferences(db, owner, events={"job_completed": False})
    told.clear()
    done = finished(db, project, "completed", clip_id=clip_id)
    failed = finished(db, project, "failed", clip_id=clip_id, error="boom")

    assert notifications.sweep(db) == 1
    assert [n.kind for n in stored(db, owner)] == ["job_failed"]
    assert _job(db, done.id).notified is True and _job(db, failed.id).notified is True
    assert notifications.sweep(db) == 0


def test_jobs_are_told_to_their_own_owner_only(db, studio, make_user, make_project) -> None:
    owner, project, _scene_id, clip_id = studio
    other = make_user("omar")
    theirs = make_project(other, "Other film")
    finished(db, project, "completed", clip_id=clip_id)
    finished(db, theirs, "failed", error="boom")

    assert notifications.sweep(db) == 2
    assert [n.kind for n in stored(db, owner)] == ["job_completed"]
    assert [n.kind for n in stored(db, other)] == ["job_failed"]


# --- batches --------------------------------------------------------------------------------------


def _batch(db: Session, project: Project, name: str = "Harbour shots") -> Batch:
    batch = Batch(project_id=project.id, owner_id=project.owner_id, name=name, created_at=T0)  # type: ignore[arg-type]
    db.add(batch)
    db.commit()
    db.refresh(batch)
    return batch


def test_batch_is_summed_up_once_when_its_last_job_ends(db, studio, told) -> None:
    owner, project, _scene_id, clip_id = studio
    batch = _batch(db, project)
    for _ in range(8):
        finished(db, project, "completed", clip_id=clip_id, batch_id=batch.id)
    for _ in range(2):
        finished(db, project, "failed", clip_id=clip_id, batch_id=batch.id, error="out of memory")
    last = add_job(db, project, status="running", clip_id=clip_id, batch_id=batch.id)

    assert notifications.sweep(db) == 0  # one job still runs: no notice for the batch, none per job
    assert stored(db, owner) == [] and told == []
    db.expire_all()
    assert db.get(Batch, batch.id).notified_at is None  # type: ignore[union-attr]
    assert db.exec(select(GenerationJob).where(GenerationJob.notified == False)).all() == [_job(db, last.id)]  # noqa: E712

    last.status, last.finished_at = "completed", T0 + timedelta(minutes=10)
    db.add(last)
    db.commit()
    assert notifications.sweep(db) == 1
    (notice,) = stored(db, owner)
    assert notice.kind == "batch_finished" and notice.level == "negative"
    assert notice.title == "Batch “Harbour shots”: 9 completed, 2 failed"
    assert notice.link == f"/batches/{batch.id}" and notice.batch_id == batch.id and notice.job_id is None
    assert notice.duration_seconds == 600.0
    assert notifications.can_retry(notice)
    db.expire_all()
    assert db.get(Batch, batch.id).notified_at is not None  # type: ignore[union-attr]
    assert told == [owner.id]
    assert notifications.sweep(db) == 0


def test_a_batch_without_failures_is_positive_and_an_all_cancelled_one_says_nothing(db, studio) -> None:
    owner, project, _scene_id, clip_id = studio
    good, dropped = _batch(db, project, "Good"), _batch(db, project, "")
    finished(db, project, "completed", clip_id=clip_id, batch_id=good.id)
    finished(db, project, "cancelled", clip_id=clip_id, batch_id=good.id)
    finished(db, project, "cancelled", clip_id=clip_id, batch_id=dropped.id)

    assert notifications.sweep(db) == 1
    (notice,) = stored(db, owner)
    assert (notice.title, notice.level) == ("Batch “Good”: 1 completed, 0 failed, 1 cancelled", "positive")
    assert not notifications.can_retry(notice)
    db.expire_all()
    assert db.get(Batch, dropped.id).notified_at is not None  # type: ignore[union-attr]


def test_retrying_a_batch_notice_requeues_its_failures_and_sums_it_up_again(db, studio) -> None:
    owner, project, _scene_id, clip_id = studio
    batch = _batch(db, project)
    finished(db, project, "completed", clip_id=clip_id, batch_id=batch.id)
    failed = [finished(db, project, "failed", clip_id=clip_id, batch_id=batch.id, error="oom") for _ in range(2)]
    notifications.sweep(db)
    (notice,) = stored(db, owner)

    assert notifications.retry(db, owner, [notice.id]) == 2  # type: ignore[list-item]
    assert {_job(db, job.id).status for job in failed} == {"queued"}
    assert stored(db, owner)[0].read is True
    db.expire_all()
    assert db.get(Batch, batch.id).notified_at is None  # type: ignore[union-attr]
    for job in failed:
        row = _job(db, job.id)
        row.status = "completed"
        db.add(row)
    db.commit()
    assert notifications.sweep(db) == 1
    assert stored(db, owner)[-1].title == "Batch “Harbour shots”: 3 completed, 0 failed"
    with pytest.raises(Conflict, match="has nothing to retry"):
        notifications.retry(db, owner, [stored(db, owner)[-1].id])  # type: ignore[list-item]


def test_retry_of_a_failed_job_notice_and_of_one_already_retried(db, studio) -> None:
    owner, project, _scene_id, clip_id = studio
    job = finished(db, project, "failed", clip_id=clip_id, error="boom")
    notifications.sweep(db)
    (notice,) = stored(db, owner)

    assert notifications.retry(db, owner, [notice.id]) == 1  # type: ignore[list-item]
    assert _job(db, job.id).status == "queued"
    with pytest.raises(Conflict, match="already queued"):
        notifications.retry(db, owner, [notice.id])  # type: ignore[list-item]


# --- never twice, whatever the number of processes ------------------------------------------------


def test_two_processes_sweeping_at_once_tell_everything_exactly_once(db, studio) -> None:
    owner, project, _scene_id, clip_id = studio
    batch = _batch(db, project)
    made = [finished(db, project, "completed", clip_id=clip_id) for _ in range(60)]
    made += [finished(db, project, "failed", clip_id=clip_id, batch_id=batch.id, error="x") for _ in range(20)]
    start = threading.Barrier(3)
    counts: list[int] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            with Session(get_engine(), expire_on_commit=False) as session:
                start.wait()
                total = 0
                for _ in range(5):
                    total += notifications.sweep(session)
                counts.append(total)
        except BaseException as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(counts) == 61
    kinds = [n.kind for n in stored(db, owner)]
    assert kinds.count("job_completed") == 60 and kinds.count("batch_finished") == 1
    assert len({n.job_id for n in stored(db, owner) if n.job_id}) == 60
    assert all(_job(db, job.id).notified for job in made)


# --- preferences ----------------------------------------------------------------------------------


def test_preferences_default_to_every_event_without_sound_or_desktop(db, studio) -> None:
    owner = studio[0]
    prefs = notifications.get_preferences(owner)
    assert prefs.events == {"job_completed": True, "job_failed": True, "batch_finished": True}
    assert (prefs.sound, prefs.desktop, prefs.desktop_min_seconds) == (False, False, 30)


def test_preferences_are_saved_per_user_and_changed_one_field_at_a_time(db, studio, make_user, told) -> None:
    owner = studio[0]
    other = make_user("omar")
    notifications.update_preferences(db, owner, sound=True)
    notifications.update_preferences(db, owner, events={"batch_finished": False}, desktop_min_seconds=120)

    with session_scope() as fresh:
        prefs = notifications.get_preferences(fresh.get(User, owner.id))  # type: ignore[arg-type]
        assert prefs.sound is True and prefs.desktop_min_seconds == 120
        assert prefs.events == {"job_completed": True, "job_failed": True, "batch_finished": False}
        assert notifications.get_preferences(fresh.get(User, other.id)) == notifications.Preferences()  # type: ignore[arg-type]
    assert told == [owner.id, owner.id]


def test_bad_preferences_are_refused_with_the_field_and_bad_stored_ones_fall_back(db, studio) -> None:
    owner = studio[0]
    with pytest.raises(Invalid, match="Desktop min seconds: use 0 or more") as refused:
        notifications.update_preferences(db, owner, desktop_min_seconds=-5)
    assert refused.value.field == "desktop_min_seconds"
    with pytest.raises(Invalid, match="unknown event 'job_started'"):
        notifications.parse_preferences({"events": {"job_started": True}})

    owner.notification_prefs = {"sound": "loud", "desktop": True, "events": {"job_failed": False, "nonsense": 1}}
    prefs = notifications.get_preferences(owner)
    assert prefs.sound is False and prefs.desktop is True
    assert prefs.events == {"job_completed": True, "job_failed": False, "batch_finished": True}


# --- reading, searching and acting ----------------------------------------------------------------


def _notice(db: Session, user: User, title: str, **fields: Any) -> Notification:
    values: dict[str, Any] = {"kind": "job_completed", "level": "positive", "body": ""}
    values.update(fields)
    notice = Notification(user_id=user.id, title=title, **values)  # type: ignore[arg-type]
    db.add(notice)
    db.commit()
    db.refresh(notice)
    return notice


def test_news_since_holds_only_the_persons_own_notices_their_count_and_their_preferences(
    db, studio, make_user
) -> None:
    owner = studio[0]
    other = make_user("omar")
    notifications.update_preferences(db, owner, sound=True)
    seen = _notice(db, owner, "Seen").id
    mine = _notice(db, owner, "Mine")
    _notice(db, other, "Not yours")
    _notice(db, owner, "Already read", read=True)
    news = notifications.news_since(db, owner, seen)  # type: ignore[arg-type]
    assert [notice.title for notice in news.fresh] == ["Mine", "Already read"]
    assert news.fresh[0].id == mine.id
    assert news.unread == 2 and news.preferences.sound is True
    theirs = notifications.news_since(db, other, 0)
    assert [notice.title for notice in theirs.fresh] == ["Not yours"]
    assert theirs.unread == 1 and theirs.preferences.sound is False


def test_own_preferences_come_from_the_stored_row_not_the_object_a_tab_holds(db, studio, make_user) -> None:
    owner = studio[0]
    other = make_user("omar")
    held = User(**owner.model_dump())  # what a tab signed in before the change still holds
    with session_scope() as elsewhere:
        notifications.update_preferences(elsewhere, owner, desktop=True)
    assert notifications.own_preferences(db, held).desktop is True
    assert notifications.own_preferences(db, other) == notifications.Preferences()
    gone = User(**{**owner.model_dump(), "id": 999_999})
    assert notifications.own_preferences(db, gone) == notifications.Preferences()


def test_list_is_newest_first_with_filters_search_and_paging(db, studio, make_user) -> None:
    owner, project, _scene_id, _clip_id = studio
    other = make_user("omar")
    old = _notice(db, owner, "Image ready: Harbour · #1", created_at=T0, read=True, project_id=project.id)
    failed = _notice(
        db,
        owner,
        "Video failed: Harbour · #2",
        kind="job_failed",
        level="negative",
        body="CUDA out of memory (50% used)",
        created_at=T0 + timedelta(minutes=1),
    )
    batch = _notice(
        db, owner, "Batch “Dock”: 3 completed, 0 failed", kind="batch_finished", created_at=T0 + timedelta(minutes=2)
    )
    _notice(db, other, "Image ready: Harbour · #1 (someone else's)", created_at=T0 + timedelta(minutes=3))

    page = notifications.list_notifications(db, owner)
    assert [n.id for n in page.items] == [batch.id, failed.id, old.id]
    assert (page.total, page.unread) == (3, 2)

    def shown(**where: object) -> list[int]:
        return [n.id for n in notifications.list_notifications(db, owner, Where(**where)).items]  # type: ignore[misc]

    assert shown(kind="job_failed") == [failed.id]
    assert shown(level="positive") == [batch.id, old.id]
    assert shown(unread=True) == [batch.id, failed.id]
    assert shown(unread=False) == [old.id]
    assert shown(q="harbour") == [failed.id, old.id]
    assert shown(q="MEMORY") == [failed.id]
    assert shown(q="50%") == [failed.id]
    assert shown(q="5_%") == []  # wildcards are literal
    assert shown(project_id=project.id) == [old.id]
    second = notifications.list_notifications(db, owner, limit=2, offset=2)
    assert [n.id for n in second.items] == [old.id] and second.total == 3
    with pytest.raises(Invalid, match="Unknown kind"):
        notifications.list_notifications(db, owner, Where(kind="job_started"))
    with pytest.raises(Invalid, match="limit"):
        notifications.list_notifications(db, owner, limit=0)


def test_read_delete_and_clear_touch_only_the_persons_own_notices(db, studio, make_user, told) -> None:
    owner = studio[0]
    other = make_user("omar", admin=True)
    mine = [_notice(db, owner, f"Image ready #{n}") for n in range(3)]
    theirs = _notice(db, other, "Theirs")

    assert notifications.unread_count(db, owner) == 3
    assert notifications.read_one(db, owner, mine[0].id).read is True  # type: ignore[arg-type]
    assert notifications.unread_count(db, owner) == 2
    assert notifications.mark_read(db, owner, [mine[1].id, theirs.id]) == 1  # type: ignore[list-item]
    assert stored(db, other)[0].read is False
    with pytest.raises(NotFound, match=f"Notification {theirs.id} does not exist or is not yours"):
        notifications.read_one(db, owner, theirs.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        notifications.delete_notification(db, owner, theirs.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):  # administrators included: notices are personal
        notifications.get_notification(db, other, mine[0].id)  # type: ignore[arg-type]
    assert notifications.mark_all_read(db, owner) == 1
    assert notifications.mark_all_read(db, owner) == 0
    notifications.delete_notification(db, owner, mine[0].id)  # type: ignore[arg-type]
    assert [n.id for n in stored(db, owner)] == [mine[1].id, mine[2].id]
    assert notifications.clear(db, owner, Where(q="#2")) == 1
    assert notifications.clear(db, owner) == 1
    assert stored(db, owner) == [] and len(stored(db, other)) == 1
    assert set(told) == {owner.id}


def test_newer_than_gives_what_a_tab_has_not_shown_yet(db, studio) -> None:
    owner = studio[0]
    assert notifications.latest_id(db, owner) == 0
    first = _notice(db, owner, "One")
    seen = notifications.latest_id(db, owner)
    assert seen == first.id
    second, third = _notice(db, owner, "Two"), _notice(db, owner, "Three")
    assert [n.id for n in notifications.newer_than(db, owner, seen)] == [second.id, third.id]
