import pytest
from sqlmodel import select

from app.services import media_store, projects
from data.errors import Invalid, NotFound
from data.models import Activity, Clip, GalleryItem, Project, Scene


def _scene_with_clips(db, project, clips: int = 2, selected: int = 1) -> Scene:
    scene = Scene(project_id=project.id, name="Opening", position=0)
    db.add(scene)
    db.flush()
    for index in range(clips):
        clip = Clip(scene_id=scene.id, project_id=project.id, start_frame=index * 24, duration_frames=24)
        db.add(clip)
        db.flush()
        db.add(
            GalleryItem(
                clip_id=clip.id,
                project_id=project.id,
                kind="image",
                file_path=f"c{index}.png",
                selected=index < selected,
            )
        )
    db.commit()
    return scene


def test_validation_gives_one_clear_message_per_bad_field() -> None:
    with pytest.raises(Invalid) as error:
        projects.parse_create(name="Ok", fps=23)
    assert error.value.field == "fps" and "23.976" in error.value.message
    with pytest.raises(Invalid) as error:
        projects.parse_create(name="   ")
    assert error.value.field == "name"
    assert projects.parse_create(name="x", fps=29.97).fps == 29.97


def test_other_users_cannot_see_or_change_a_project(db, make_user, make_project) -> None:
    owner, other = make_user("owner"), make_user("other")
    project = make_project(owner)
    with pytest.raises(NotFound):
        projects.get_project(db, other, project.id)
    with pytest.raises(NotFound):
        projects.update_project(db, other, project.id, projects.parse_update(name="Mine now"))
    with pytest.raises(NotFound):
        projects.delete_projects(db, other, [project.id])
    assert db.get(Project, project.id).name == "Film"


def test_bulk_operations_check_every_project_before_changing_any(db, make_user, make_project) -> None:
    owner, other = make_user("owner"), make_user("other")
    mine = make_project(owner, "Mine")
    theirs = make_project(other, "Theirs")
    with pytest.raises(NotFound):
        projects.set_archived(db, owner, [mine.id, theirs.id], True)
    db.expire_all()
    assert db.get(Project, mine.id).archived is False


def test_deleting_a_project_removes_scenes_clips_results_activity_and_files(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    keep = make_project(owner, "Keep")
    _scene_with_clips(db, project, clips=3)
    _scene_with_clips(db, keep, clips=1)
    media = media_store.project_media_dir(project.id)
    media.mkdir(parents=True)
    (media / "result.png").write_bytes(b"png")
    summary = projects.deletion_summary(db, owner, [project.id])
    assert (summary.scenes, summary.clips, summary.gallery_items) == (1, 3, 3)
    assert summary.describe() == "1 project, 1 scene, 3 clips and 3 generated results (with their files)"
    projects.delete_project(db, owner, project.id)
    for model in (Scene, Clip, GalleryItem, Activity):
        assert db.exec(select(model).where(model.project_id == project.id)).all() == []
    assert not media.exists()
    assert len(db.exec(select(Clip).where(Clip.project_id == keep.id)).all()) == 1


def test_duplicate_copies_scenes_and_clips_but_not_results(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner, tags=["noir"])
    _scene_with_clips(db, project, clips=2)
    copy = projects.duplicate_project(db, owner, project.id)
    assert copy.name == "Film (copy)" and copy.tags == ["noir"] and copy.id != project.id
    clips = db.exec(select(Clip).where(Clip.project_id == copy.id).order_by(Clip.start_frame)).all()
    assert [c.start_frame for c in clips] == [0, 24]
    assert db.exec(select(GalleryItem).where(GalleryItem.project_id == copy.id)).all() == []


def test_stats_count_completion_as_clips_with_a_selected_result(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    _scene_with_clips(db, project, clips=4, selected=1)
    stats = projects.project_stats(db, owner, project.id)
    assert (stats.scenes, stats.clips, stats.generated_items, stats.clips_with_selection) == (1, 4, 4, 1)
    assert stats.completion_percent == 25.0


def test_activity_records_what_happened_newest_first(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner, "Old name")
    projects.update_project(db, owner, project.id, projects.parse_update(name="New name"))
    projects.set_archived(db, owner, [project.id], True)
    messages = [a.message for a in projects.recent_activity(db, owner, project.id)]
    assert messages == ["Archived the project", "Renamed “Old name” to “New name”", "Created project “Old name”"]


def test_listing_hides_archived_unless_asked_and_filters(db, make_user, make_project) -> None:
    owner = make_user()
    make_project(owner, "Active one", tags=["a"])
    archived = make_project(owner, "Shelved", tags=["b"])
    projects.set_archived(db, owner, [archived.id], True)
    assert [p.name for p in projects.list_projects(db, owner)] == ["Active one"]
    assert [p.name for p in projects.list_projects(db, owner, archived="archived")] == ["Shelved"]
    assert len(projects.list_projects(db, owner, archived="all")) == 2
    assert [p.name for p in projects.list_projects(db, owner, archived="all", tag="b")] == ["Shelved"]
    assert projects.all_tags(db, owner) == ["a", "b"]


def test_a_new_frame_rate_keeps_clips_in_seconds_and_touching_clips_touching(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner, fps=24)
    scene = Scene(project_id=project.id, name="S", position=0)
    db.add(scene)
    db.flush()
    for start, length in ((0, 24), (24, 36), (60, 1)):
        db.add(Clip(scene_id=scene.id, project_id=project.id, start_frame=start, duration_frames=length))
    db.commit()
    projects.update_project(db, owner, project.id, projects.parse_update(fps=25))
    timings = [
        (c.start_frame, c.duration_frames)
        for c in db.exec(select(Clip).where(Clip.project_id == project.id).order_by(Clip.start_frame))
    ]
    # 1 s, 1.5 s and one frame at 24 fps become 25, 37/38 frames; edges stay shared; nothing vanishes.
    assert timings == [(0, 25), (25, 38), (63, 1)]


def test_deleting_a_project_with_a_thousand_files_returns_at_once_and_the_files_go_after(
    db, make_user, make_project
) -> None:
    """File by file removal runs in a thread of its own: the event loop, where pages delete, never waits for it."""
    import time

    owner = make_user()
    project = make_project(owner)
    media = media_store.project_media_dir(project.id) / "clips" / "1"
    media.mkdir(parents=True)
    for index in range(1000):
        (media / f"{index}.png").write_bytes(b"png" * 100)
    started = time.perf_counter()
    projects.delete_project(db, owner, project.id)
    took = time.perf_counter() - started
    assert not media_store.project_media_dir(project.id).exists()  # gone from its place at once
    assert took < 0.5, took  # removing 1,000 files inline takes longer than a rename
    trash = media_store.trash_dir()
    deadline = time.monotonic() + 10
    while any(trash.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(trash.iterdir()) == []  # and the files are deleted for real, soon after


def test_what_a_crash_left_in_the_trash_is_emptied_and_never_backed_up(tmp_path) -> None:
    from app.services.backup_media import MediaSnapshot

    trash = media_store.trash_dir()
    left = trash / "project-9-crashed"
    left.mkdir(parents=True)
    (left / "a.png").write_bytes(b"png")
    snapshot = MediaSnapshot(media_store.trash_dir().parent, None)
    snapshot.capture(after_snapshot=False)
    assert not any(name.startswith(media_store.TRASH_NAME) for name in snapshot.before)
    media_store.empty_trash_later().join(10)
    assert not left.exists()
