import threading
import time

import pytest
from sqlalchemy import event
from sqlmodel import select

from app.config import get_settings
from app.services import clips, events, media_store, scenes
from data.engine import get_engine, session_scope
from data.errors import Invalid, NotFound
from data.models import Activity, Clip, GalleryItem, Scene


def _result(db, clip: Clip, name: str, *, selected: bool = False, absolute: bool = False) -> GalleryItem:
    """A generated result with a real file under the project's media folder."""
    folder = media_store.project_media_dir(clip.project_id) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(name.encode())
    (folder / f"thumb-{name}").write_bytes(b"thumb")
    relative = (folder / name).relative_to(get_settings().media_dir).as_posix()
    item = GalleryItem(
        clip_id=clip.id,
        project_id=clip.project_id,
        kind="image",
        file_path=str(folder / name) if absolute else relative,
        thumbnail_path=(folder / f"thumb-{name}").relative_to(get_settings().media_dir).as_posix(),
        selected=selected,
    )
    db.add(item)
    db.commit()
    return item


def _positions(db, project_id: int) -> list[tuple[str, int]]:
    db.expire_all()
    rows = db.exec(select(Scene).where(Scene.project_id == project_id).order_by(Scene.position)).all()
    return [(scene.name, scene.position) for scene in rows]


def test_scenes_are_appended_in_order_and_names_are_checked(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    for name in ("One", "  Two  ", "Three"):
        scenes.create_scene(db, owner, project.id, name, estimated_duration=12.5)
    assert [(s.name, s.position) for s in scenes.list_scenes(db, owner, project.id)] == [
        ("One", 0),
        ("Two", 1),
        ("Three", 2),
    ]
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(Invalid) as error:
            scenes.create_scene(db, owner, project.id, bad)
        assert error.value.field == "name"
    with pytest.raises(Invalid) as error:
        scenes.create_scene(db, owner, project.id, "Fine", estimated_duration=-1)
    assert error.value.field == "estimated_duration"
    assert len(scenes.list_scenes(db, owner, project.id)) == 3
    assert db.exec(select(Activity).where(Activity.kind == "scene.created")).all()


def test_updating_a_scene_changes_only_what_is_given(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "Opening", "At dawn", estimated_duration=30)
    scenes.update_scene(db, owner, scene.id, name="Prologue")
    db.expire_all()
    scene = db.get(Scene, scene.id)
    assert (scene.name, scene.description, scene.estimated_duration) == ("Prologue", "At dawn", 30)
    scenes.update_scene(db, owner, scene.id, clear_estimated_duration=True, description="")
    db.expire_all()
    assert db.get(Scene, scene.id).estimated_duration is None and db.get(Scene, scene.id).description == ""
    with pytest.raises(Invalid):
        scenes.update_scene(db, owner, scene.id, name=" ")


def test_reorder_sets_exact_positions_and_rejects_a_wrong_set(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    other_project = make_project(owner, "Other")
    a, b, c = (scenes.create_scene(db, owner, project.id, name) for name in "ABC")
    foreign = scenes.create_scene(db, owner, other_project.id, "Foreign")
    result = scenes.reorder_scenes(db, owner, project.id, [c.id, a.id, b.id])
    assert [s.id for s in result] == [c.id, a.id, b.id]
    assert _positions(db, project.id) == [("C", 0), ("A", 1), ("B", 2)]
    for wrong, words in (
        ([c.id, a.id], f"missing scene {b.id}"),
        ([c.id, a.id, b.id, foreign.id], f"not scenes of this project: {foreign.id}"),
        ([c.id, a.id, a.id, b.id], f"listed more than once: {a.id}"),
    ):
        with pytest.raises(Invalid) as error:
            scenes.reorder_scenes(db, owner, project.id, wrong)
        assert words in error.value.message and error.value.field == "scene_ids"
    assert _positions(db, project.id) == [("C", 0), ("A", 1), ("B", 2)]


def test_move_up_and_down_clamps_at_the_ends(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    a, b, c = (scenes.create_scene(db, owner, project.id, name) for name in "ABC")
    assert [s.name for s in scenes.move_scene(db, owner, c.id, -1)] == ["A", "C", "B"]
    assert [s.name for s in scenes.move_scene(db, owner, a.id, -1)] == ["A", "C", "B"]
    assert [s.name for s in scenes.move_scene(db, owner, b.id, +5)] == ["A", "C", "B"]
    assert [s.name for s in scenes.move_scene(db, owner, a.id, +1)] == ["C", "A", "B"]
    assert _positions(db, project.id) == [("C", 0), ("A", 1), ("B", 2)]


def test_concurrent_creations_get_unique_gap_free_positions(db, make_user, make_project) -> None:
    """Editors adding scenes at the same moment: each one's count of the scenes must see the others' additions."""
    owner = make_user()
    project = make_project(owner)
    errors: list[BaseException] = []

    def slow_scene_insert(_conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SCENES"):
            time.sleep(0.05)  # widen the window between counting the scenes and adding one

    def create_one(name: str, start: threading.Barrier) -> None:
        try:
            start.wait()
            with session_scope() as session:
                scenes.create_scene(session, owner, project.id, name)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    event.listen(get_engine(), "before_cursor_execute", slow_scene_insert)
    try:
        for round_ in range(2):
            start = threading.Barrier(6)
            threads = [threading.Thread(target=create_one, args=(f"{round_}-{i}", start)) for i in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert not errors
            assert [position for _, position in _positions(db, project.id)] == list(range(6 * (round_ + 1)))
    finally:
        event.remove(get_engine(), "before_cursor_execute", slow_scene_insert)


def test_duplicate_goes_right_after_the_original_with_its_clips_but_not_its_results(
    db, make_user, make_project
) -> None:
    owner = make_user()
    project = make_project(owner)
    first = scenes.create_scene(db, owner, project.id, "First")
    scenes.create_scene(db, owner, project.id, "Last")
    clip = clips.create_clip(db, owner, first.id, start_frame=10, duration_frames=20, image_prompt="fog", label="a")
    clips.create_clip(db, owner, first.id, start_frame=40, duration_frames=5, video_prompt="pan")
    _result(db, clip, "r1.png", selected=True)
    copy = scenes.duplicate_scene(db, owner, first.id)
    assert copy.name == "First (copy)"
    assert _positions(db, project.id) == [("First", 0), ("First (copy)", 1), ("Last", 2)]
    copied = clips.list_clips(db, owner, copy.id)
    assert [(c.start_frame, c.duration_frames, c.image_prompt, c.video_prompt, c.label) for c in copied] == [
        (10, 20, "fog", "", "a"),
        (40, 5, "", "pan", ""),
    ]
    assert db.exec(select(GalleryItem).where(GalleryItem.clip_id == copied[0].id)).all() == []


def test_duplicate_with_results_copies_the_files_too(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "Scene")
    clip = clips.create_clip(db, owner, scene.id, start_frame=0, duration_frames=24)
    original = _result(db, clip, "r1.png", selected=True)
    _result(db, clip, "r2.png", absolute=True)
    copy = scenes.duplicate_scene(db, owner, scene.id, include_results=True)
    copied_clip = clips.list_clips(db, owner, copy.id)[0]
    items = db.exec(select(GalleryItem).where(GalleryItem.clip_id == copied_clip.id).order_by(GalleryItem.id)).all()
    assert len(items) == 2 and [item.selected for item in items] == [True, False]
    for item in items:
        assert item.file_path != original.file_path
        assert scenes.media_path(item.file_path).is_file()
        assert scenes.media_path(item.thumbnail_path).read_bytes() == b"thumb"
    assert scenes.media_path(items[0].file_path).read_bytes() == b"r1.png"
    scenes.delete_scene(db, owner, copy.id)  # the copy's files go, the original's stay
    assert scenes.media_path(original.file_path).is_file()
    assert not scenes.media_path(items[0].file_path).exists()
    assert not scenes.media_path(items[1].thumbnail_path).exists()


def test_deleting_a_scene_says_what_goes_then_removes_rows_and_files(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    a = scenes.create_scene(db, owner, project.id, "A")
    b = scenes.create_scene(db, owner, project.id, "B")
    scenes.create_scene(db, owner, project.id, "C")
    made = [clips.create_clip(db, owner, b.id, start_frame=i * 24, duration_frames=24) for i in range(4)]
    relative = _result(db, made[0], "one.png")
    absolute = _result(db, made[1], "two.png", absolute=True)
    _result(db, made[2], "three.png")
    outside = get_settings().data_dir / "outside.png"
    outside.write_bytes(b"keep me")
    db.add(GalleryItem(clip_id=made[3].id, project_id=project.id, kind="image", file_path=str(outside)))
    db.add(GalleryItem(clip_id=made[3].id, project_id=project.id, kind="image", file_path="../outside.png"))
    db.commit()
    summary = scenes.scene_deletion_summary(db, owner, b.id)
    assert (summary.scenes, summary.clips, summary.gallery_items) == (1, 4, 5)
    assert summary.describe().startswith("1 scene, 4 clips and 5 generated results")
    paths = [scenes.media_path(relative.file_path), scenes.media_path(absolute.file_path)]
    scenes.delete_scene(db, owner, b.id)
    assert _positions(db, project.id) == [("A", 0), ("C", 1)]
    assert db.exec(select(Clip).where(Clip.scene_id == b.id)).all() == []
    assert db.exec(select(GalleryItem).where(GalleryItem.project_id == project.id)).all() == []
    assert not any(path.exists() for path in paths)
    assert outside.read_bytes() == b"keep me"  # never outside the media folder
    assert db.get(Clip, made[0].id) is None
    assert scenes.get_scene(db, owner, a.id).position == 0


def test_scene_duration_is_the_end_of_its_last_ending_clip(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "S")
    assert scenes.scene_duration_frames(db, scene) == 0
    clips.create_clip(db, owner, scene.id, start_frame=0, duration_frames=100)
    clips.create_clip(db, owner, scene.id, start_frame=50, duration_frames=10)
    assert scenes.scene_duration_frames(db, scene) == 100


def test_every_scene_change_is_announced_after_commit(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    seen: list[int] = []
    events.project_changed.subscribe(seen.append)
    scene = scenes.create_scene(db, owner, project.id, "S")
    scenes.update_scene(db, owner, scene.id, name="T")
    scenes.duplicate_scene(db, owner, scene.id)
    scenes.delete_scene(db, owner, scene.id)
    assert seen == [project.id] * 4


def test_another_user_gets_not_found_everywhere_and_an_admin_sees_all(db, make_user, make_project) -> None:
    owner, other, admin = make_user("owner"), make_user("other"), make_user("boss", admin=True)
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "Mine")
    calls = [
        lambda: scenes.list_scenes(db, other, project.id),
        lambda: scenes.get_scene(db, other, scene.id),
        lambda: scenes.create_scene(db, other, project.id, "Theirs"),
        lambda: scenes.update_scene(db, other, scene.id, name="Theirs"),
        lambda: scenes.reorder_scenes(db, other, project.id, [scene.id]),
        lambda: scenes.move_scene(db, other, scene.id, 1),
        lambda: scenes.duplicate_scene(db, other, scene.id),
        lambda: scenes.scene_deletion_summary(db, other, scene.id),
        lambda: scenes.delete_scene(db, other, scene.id),
        lambda: scenes.get_scene(db, owner, 999999),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert _positions(db, project.id) == [("Mine", 0)]
    assert scenes.get_scene(db, admin, scene.id).name == "Mine"
