"""A clip's prompt history: written with the clip change that made it, bounded, restorable, owned, and a save
from a stale version refused instead of overwriting a newer one."""

from datetime import timedelta

import pytest
from sqlmodel import func, select

from app.services import clips, projects, prompt_history, scenes
from data.errors import NotFound, Stale
from data.models import Clip, ClipPromptVersion


@pytest.fixture
def setting(db, make_user, make_project):
    owner = make_user("owner")
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "Harbour")
    return owner, project, scene


def _count(db, clip_id: int | None = None) -> int:
    query = select(func.count()).select_from(ClipPromptVersion)
    if clip_id is not None:
        query = query.where(ClipPromptVersion.clip_id == clip_id)
    return db.exec(query).one()


def test_each_new_wording_is_a_version_newest_first_with_who(db, setting) -> None:
    owner, _project, scene = setting
    clip = clips.create_clip(db, owner, scene.id, image_prompt="harbour at dawn")
    clips.update_clip(db, owner, clip.id, video_prompt="slow pan")
    clips.update_clip(db, owner, clip.id, image_prompt="harbour at dusk")

    history = prompt_history.list_history(db, owner, clip.id)

    assert [(v.n, v.image_prompt, v.video_prompt) for v in history] == [
        (3, "harbour at dusk", "slow pan"),
        (2, "harbour at dawn", "slow pan"),
        (1, "harbour at dawn", ""),
    ]
    assert {v.saved_by for v in history} == {"owner"}
    assert history[0].saved_at >= history[-1].saved_at


def test_nothing_is_written_when_the_prompts_did_not_change(db, setting) -> None:
    owner, _project, scene = setting
    clip = clips.create_clip(db, owner, scene.id, image_prompt="harbour")
    clips.update_clip(db, owner, clip.id, label="Opening", notes="wide", start=1.0)
    clips.update_clip(db, owner, clip.id, image_prompt="harbour")
    assert _count(db, clip.id) == 1
    empty = clips.create_clip(db, owner, scene.id)
    assert _count(db, empty.id) == 0


def test_a_clip_from_before_history_keeps_its_earlier_wording_as_the_first_version(db, setting) -> None:
    owner, project, scene = setting
    clip = Clip(scene_id=scene.id, project_id=project.id, duration_frames=24, image_prompt="old words")
    db.add(clip)
    db.commit()
    clips.update_clip(db, owner, clip.id, image_prompt="new words")
    history = prompt_history.list_history(db, owner, clip.id)
    assert [(v.n, v.image_prompt, v.saved_by) for v in history] == [(2, "new words", "owner"), (1, "old words", "")]


def test_history_is_bounded_per_clip(db, setting, monkeypatch) -> None:
    owner, _project, scene = setting
    monkeypatch.setattr(prompt_history, "MAX_VERSIONS", 3)
    clip = clips.create_clip(db, owner, scene.id, image_prompt="v1")
    other = clips.create_clip(db, owner, scene.id, image_prompt="other")
    for n in range(2, 7):
        clips.update_clip(db, owner, clip.id, image_prompt=f"v{n}")
    assert [v.n for v in prompt_history.list_history(db, owner, clip.id)] == [6, 5, 4]
    assert [v.image_prompt for v in prompt_history.list_history(db, owner, clip.id)] == ["v6", "v5", "v4"]
    assert _count(db, other.id) == 1  # another clip's history is untouched


def test_restore_brings_an_older_wording_back_as_a_new_version(db, setting) -> None:
    owner, _project, scene = setting
    clip = clips.create_clip(db, owner, scene.id, image_prompt="first", video_prompt="pan")
    clips.update_clip(db, owner, clip.id, image_prompt="second", video_prompt="tilt")

    restored = clips.restore_prompts(db, owner, clip.id, 1)

    assert (restored.image_prompt, restored.video_prompt) == ("first", "pan")
    history = prompt_history.list_history(db, owner, clip.id)
    assert [(v.n, v.image_prompt) for v in history] == [(3, "first"), (2, "second"), (1, "first")]


def test_restore_of_a_version_that_is_not_kept_is_not_found(db, setting) -> None:
    owner, _project, scene = setting
    clip = clips.create_clip(db, owner, scene.id, image_prompt="first")
    with pytest.raises(NotFound):
        clips.restore_prompts(db, owner, clip.id, 7)


def test_another_users_clip_history_is_not_found(db, setting, make_user) -> None:
    owner, _project, scene = setting
    clip = clips.create_clip(db, owner, scene.id, image_prompt="private")
    intruder = make_user("intruder")
    with pytest.raises(NotFound):
        prompt_history.list_history(db, intruder, clip.id)
    with pytest.raises(NotFound):
        clips.restore_prompts(db, intruder, clip.id, 1)
    db.expire_all()
    assert db.get(Clip, clip.id).image_prompt == "private"


def test_a_save_from_a_stale_version_is_refused_and_writes_nothing(db, setting) -> None:
    owner, _project, scene = setting
    clip = clips.create_clip(db, owner, scene.id, image_prompt="start")
    seen = clip.updated_at
    clips.update_clip(db, owner, clip.id, image_prompt="theirs", expected_updated_at=seen)  # up to date: saved
    with pytest.raises(Stale):
        clips.update_clip(db, owner, clip.id, image_prompt="mine", expected_updated_at=seen)
    db.expire_all()
    stored = db.get(Clip, clip.id)
    assert stored.image_prompt == "theirs"
    assert _count(db, clip.id) == 2
    later = clips.update_clip(db, owner, clip.id, image_prompt="mine", expected_updated_at=stored.updated_at)
    assert later.image_prompt == "mine"


def test_a_naive_expected_time_is_read_as_utc(db, setting) -> None:
    owner, _project, scene = setting
    clip = clips.create_clip(db, owner, scene.id, image_prompt="start")
    naive = clip.updated_at.replace(tzinfo=None)
    assert clips.update_clip(db, owner, clip.id, notes="n", expected_updated_at=naive).notes == "n"
    with pytest.raises(Stale):
        clips.update_clip(db, owner, clip.id, notes="m", expected_updated_at=naive - timedelta(seconds=1))


def test_deleting_a_clip_or_its_project_removes_its_history(db, setting) -> None:
    owner, project, scene = setting
    first = clips.create_clip(db, owner, scene.id, image_prompt="one")
    second = clips.create_clip(db, owner, scene.id, image_prompt="two")
    clips.delete_clips(db, owner, [first.id])
    assert _count(db, first.id) == 0
    assert _count(db, second.id) == 1
    projects.delete_project(db, owner, project.id)
    assert _count(db) == 0
