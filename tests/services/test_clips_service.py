import pytest
from sqlmodel import select

from app.services import clips, events, media_store, scenes, timeline_edit, timeline_history
from data import frames
from data.errors import Invalid, NotFound
from data.models import Activity, Clip, GalleryItem, GenerationJob


@pytest.fixture
def timeline(db, make_user, make_project):
    """timeline(fps=24, settings=None) → (owner, project, scene, add) where add(start, duration, **fields) adds a clip
    in frames with the default 'allow' policy."""

    def make(fps: float = 24.0, settings: dict | None = None, username: str = "owner"):
        owner = make_user(username)
        project = make_project(owner, fps=fps)
        if settings:
            project.settings = settings
            db.add(project)
            db.commit()
        scene = scenes.create_scene(db, owner, project.id, "Scene")

        def add(start: int, duration: int, **fields) -> Clip:
            return clips.create_clip(db, owner, scene.id, start_frame=start, duration_frames=duration, **fields)

        return owner, project, scene, add

    return make


def _spans(db, owner, scene_id: int) -> list[tuple[int, int]]:
    db.expire_all()
    return [(c.start_frame, c.duration_frames) for c in clips.list_clips(db, owner, scene_id)]


def _flags(db, owner, scene_id: int) -> list[bool]:
    db.expire_all()
    return [c.overlap_allowed for c in clips.list_clips(db, owner, scene_id)]


def _result(db, clip: Clip, name: str, selected: bool = False) -> GalleryItem:
    folder = media_store.project_media_dir(clip.project_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"x")
    item = GalleryItem(
        clip_id=clip.id,
        project_id=clip.project_id,
        kind="image",
        file_path=f"projects/{clip.project_id}/{name}",
        selected=selected,
    )
    db.add(item)
    db.commit()
    return item


# --- creating -------------------------------------------------------------------------------------


def test_seconds_become_whole_frames_of_the_project_rate(timeline, db) -> None:
    owner, _, scene, _ = timeline(fps=23.976)
    clip = clips.create_clip(db, owner, scene.id, start=1.001, duration=2.5, image_prompt="a cat")
    assert (clip.start_frame, clip.duration_frames) == (24, 60)
    public = clips.clip_public(clip, 23.976)
    assert (public["start"], public["duration"], public["start_frame"]) == (1.001, 2.5025, 24)


def test_new_clips_go_to_the_first_free_position_with_the_default_duration(timeline, db) -> None:
    owner, _, scene, add = timeline(fps=25, settings={"default_clip_duration": 2.0})
    first = clips.create_clip(db, owner, scene.id)
    assert (first.start_frame, first.duration_frames) == (0, 50)
    add(100, 10)
    add(20, 5)
    later = clips.create_clip(db, owner, scene.id, duration=1)
    assert (later.start_frame, later.duration_frames) == (110, 25)
    owner2, _, scene2, _ = timeline(username="other")
    assert clips.create_clip(db, owner2, scene2.id).duration_frames == 72  # 3 s at 24 fps when unset


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"start": -0.5}, "start"),
        ({"start_frame": -1}, "start"),
        ({"duration": 0}, "duration"),
        ({"duration_frames": -3}, "duration"),
        ({"duration": 0.01}, "duration"),  # less than half a frame rounds to none
        ({"start": 6 * 3600 - 1, "duration": 2}, "duration"),
        ({"start": 7 * 3600}, "start"),
        ({"start": 1, "start_frame": 24}, "start"),
        ({"color": "red"}, "color"),
        ({"label": "x" * 201}, "label"),
        ({"overlap": "squash"}, "overlap"),
        ({"duration": float("inf")}, "duration"),
    ],
)
def test_impossible_clips_are_refused_with_the_field_to_fix(timeline, db, values, field) -> None:
    owner, _, scene, _ = timeline()
    with pytest.raises(Invalid) as error:
        clips.create_clip(db, owner, scene.id, **values)
    assert error.value.field == field
    assert clips.list_clips(db, owner, scene.id) == []


def test_update_changes_only_the_given_fields(timeline, db) -> None:
    owner, _, scene, add = timeline()
    clip = add(10, 20, image_prompt="old image", video_prompt="old video", label="A")
    clips.update_clip(db, owner, clip.id, image_prompt="new image", color="#ABCDEF")
    db.expire_all()
    clip = clips.get_clip(db, owner, clip.id)
    assert (clip.image_prompt, clip.video_prompt, clip.label, clip.color) == ("new image", "old video", "A", "#abcdef")
    clips.update_clip(db, owner, clip.id, duration=2)
    assert _spans(db, owner, scene.id) == [(10, 48)]
    with pytest.raises(Invalid):
        clips.update_clip(db, owner, clip.id, start=-1)
    assert _spans(db, owner, scene.id) == [(10, 48)]


# --- overlap policies -----------------------------------------------------------------------------


def test_allow_keeps_the_overlap_and_flags_it_until_it_is_gone(timeline, db) -> None:
    owner, _, scene, add = timeline()
    a = add(0, 48)
    b = add(24, 48)
    add(200, 10)
    assert _spans(db, owner, scene.id) == [(0, 48), (24, 48), (200, 10)]
    assert _flags(db, owner, scene.id) == [True, True, False]
    assert clips.find_overlaps(clips.list_clips(db, owner, scene.id))[0][2] == 24
    clips.update_clip(db, owner, b.id, start_frame=48)
    assert _flags(db, owner, scene.id) == [False, False, False]
    clips.move_clips(db, owner, [a.id], 10)
    assert _flags(db, owner, scene.id) == [True, True, False]


def test_ripple_pushes_every_following_clip_by_exactly_the_overlap(timeline, db) -> None:
    owner, _, scene, add = timeline()
    add(0, 48)
    add(48, 48)
    add(120, 24)
    clips.create_clip(db, owner, scene.id, start_frame=48, duration_frames=36, overlap="ripple")
    assert _spans(db, owner, scene.id) == [(0, 48), (48, 36), (84, 48), (156, 24)]  # spacing 24 kept
    assert _flags(db, owner, scene.id) == [False] * 4


def test_ripple_moves_nothing_when_the_clip_fits(timeline, db) -> None:
    owner, _, scene, add = timeline()
    add(0, 10)
    add(50, 10)
    clips.create_clip(db, owner, scene.id, start_frame=20, duration_frames=30, overlap="ripple")
    assert _spans(db, owner, scene.id) == [(0, 10), (20, 30), (50, 10)]


def test_ripple_refuses_an_overlap_with_an_earlier_clip_and_changes_nothing(timeline, db) -> None:
    owner, _, scene, add = timeline()
    add(0, 48)
    later = add(100, 10)
    with pytest.raises(Invalid) as error:
        clips.create_clip(db, owner, scene.id, start_frame=24, duration_frames=100, overlap="ripple")
    assert "trim" in error.value.message and error.value.field == "overlap"
    with pytest.raises(Invalid):
        clips.update_clip(db, owner, later.id, start_frame=40, overlap="ripple")
    assert _spans(db, owner, scene.id) == [(0, 48), (100, 10)]


def test_trim_shortens_the_neighbours_on_both_sides(timeline, db) -> None:
    owner, _, scene, add = timeline()
    add(0, 48)
    add(48, 48)
    clips.create_clip(db, owner, scene.id, start_frame=36, duration_frames=24, overlap="trim")
    assert _spans(db, owner, scene.id) == [(0, 36), (36, 24), (60, 36)]
    assert _flags(db, owner, scene.id) == [False] * 3


def test_trim_refuses_to_make_a_neighbour_vanish_and_suggests_ripple(timeline, db) -> None:
    owner, _, scene, add = timeline()
    add(0, 48)
    add(50, 10)
    with pytest.raises(Invalid) as error:
        clips.create_clip(db, owner, scene.id, start_frame=40, duration_frames=30, overlap="trim")
    assert "ripple" in error.value.message
    assert _spans(db, owner, scene.id) == [(0, 48), (50, 10)]


def test_edge_drag_with_trim_moves_the_next_clip_start(timeline, db) -> None:
    owner, _, scene, add = timeline()
    a = add(0, 48)
    add(48, 48)
    clips.update_clip(db, owner, a.id, duration_frames=60, overlap="trim")
    assert _spans(db, owner, scene.id) == [(0, 60), (60, 36)]


# --- moving ---------------------------------------------------------------------------------------


def test_a_multi_select_move_is_all_or_nothing(timeline, db) -> None:
    owner, _, scene, add = timeline()
    a, b, c = add(10, 10), add(30, 10), add(60, 10)
    clips.move_clips(db, owner, [a.id, b.id], 5)
    assert _spans(db, owner, scene.id) == [(15, 10), (35, 10), (60, 10)]
    with pytest.raises(Invalid) as error:
        clips.move_clips(db, owner, [b.id, a.id], -20)
    assert error.value.field == "delta_frames"
    assert _spans(db, owner, scene.id) == [(15, 10), (35, 10), (60, 10)]
    clips.move_clips(db, owner, [a.id, b.id], 30, overlap="ripple")  # b lands on c: c moves after it
    assert _spans(db, owner, scene.id) == [(45, 10), (65, 10), (75, 10)]
    assert c.id in [clip.id for clip in clips.list_clips(db, owner, scene.id)]


def test_clips_move_into_another_scene_of_the_same_project_only(timeline, db, make_project) -> None:
    owner, project, scene, add = timeline()
    a, b = add(0, 10), add(10, 10)
    target = scenes.create_scene(db, owner, project.id, "Target")
    clips.create_clip(db, owner, target.id, start_frame=0, duration_frames=24)
    moved = clips.move_clips(db, owner, [b.id], 20, overlap="ripple", target_scene_id=target.id)
    assert [(c.start_frame, c.duration_frames) for c in moved] == [(0, 24), (30, 10)]
    assert _spans(db, owner, scene.id) == [(0, 10)]
    elsewhere = scenes.create_scene(db, owner, make_project(owner, "Elsewhere").id, "S")
    with pytest.raises(Invalid) as error:
        clips.move_clips(db, owner, [a.id], 0, target_scene_id=elsewhere.id)
    assert error.value.field == "target_scene_id"
    with pytest.raises(Invalid):
        clips.move_clips(db, owner, [a.id, b.id], 1)  # clips of two scenes


@pytest.mark.parametrize("fps", [23.976, 29.97])
def test_a_thousand_small_moves_do_not_drift(timeline, db, fps) -> None:
    owner, _, scene, add = timeline(fps=fps)
    clip = add(0, 100)
    for step in range(250):
        clips.move_clips(db, owner, [clip.id], 1)  # a drag by one frame
        clips.update_clip(db, owner, clip.id, start=frames.frames_to_seconds(2 * step + 2, fps))  # one more, in seconds
    assert _spans(db, owner, scene.id) == [(500, 100)]
    seconds, one_frame = frames.frames_to_seconds(500, fps), frames.frames_to_seconds(1, fps)
    for _ in range(500):  # a client stepping back a frame at a time, keeping its own float
        seconds -= one_frame
        clips.update_clip(db, owner, clip.id, start=seconds)
    assert _spans(db, owner, scene.id) == [(0, 100)]


def test_repeated_drags_fold_into_one_activity_entry_and_every_edit_is_announced(timeline, db) -> None:
    owner, project, _, add = timeline()
    clip = add(0, 10)
    seen: list[int] = []
    events.project_changed.subscribe(seen.append)
    for _ in range(5):
        clips.move_clips(db, owner, [clip.id], 2)
    clips.update_clip(db, owner, clip.id, label="Renamed")
    moved = db.exec(select(Activity).where(Activity.project_id == project.id, Activity.kind == "clip.moved")).all()
    assert [a.message for a in moved] == ["Moved 1 clip in “Scene”"]
    assert seen == [project.id] * 6


# --- split and merge ------------------------------------------------------------------------------


@pytest.mark.parametrize(("fps", "expected"), [(23.976, (24, 55, 79, 65)), (29.97, (30, 69, 99, 81))])
def test_split_is_exact_in_frames_and_results_stay_left(timeline, db, fps, expected) -> None:
    owner, _, scene, _ = timeline(fps=fps)
    clip = clips.create_clip(
        db, owner, scene.id, start=1.0, duration=5.0, image_prompt="i", video_prompt="v", label="Shot", color="#112233"
    )
    original = clip.duration_frames
    result = _result(db, clip, "r.png", selected=True)
    left, right = timeline_edit.split_clip(db, owner, clip.id, at=3.3)
    assert (left.start_frame, left.duration_frames, right.start_frame, right.duration_frames) == expected
    assert left.duration_frames + right.duration_frames == original
    assert left.id == clip.id and end_frame(left) == right.start_frame
    assert (right.image_prompt, right.video_prompt, right.label, right.color) == ("i", "v", "Shot", "#112233")
    db.expire_all()
    assert db.get(GalleryItem, result.id).clip_id == left.id
    for outside in (1.0, 0.5, 6.1, left.start_frame + left.duration_frames):
        with pytest.raises(Invalid) as error:
            if isinstance(outside, int):
                timeline_edit.split_clip(db, owner, left.id, at_frame=outside)
            else:
                timeline_edit.split_clip(db, owner, left.id, at=outside)
        assert error.value.field == "at"


def end_frame(clip: Clip) -> int:
    return clip.start_frame + clip.duration_frames


@pytest.mark.parametrize("fps", [23.976, 29.97])
def test_merge_spans_first_start_to_last_end_and_joins_prompts(timeline, db, fps) -> None:
    owner, _, scene, add = timeline(fps=fps)
    a = add(7, 13, image_prompt="castle", video_prompt="", label="", notes="n1")
    b = add(25, 11, image_prompt="", video_prompt="slow pan", label="B")
    c = add(36, 101, image_prompt="castle", video_prompt="zoom", notes="n1")
    add(200, 5)
    r_a = _result(db, a, "a.png", selected=True)
    r_c = _result(db, c, "c.png", selected=True)
    db.add(GenerationJob(kind="image", project_id=a.project_id, clip_id=c.id, owner_id=owner.id))
    db.commit()
    merged = timeline_edit.merge_clips(db, owner, [c.id, a.id, b.id])
    assert merged.id == a.id
    assert (merged.start_frame, merged.duration_frames) == (7, 137 - 7)
    assert (merged.image_prompt, merged.video_prompt, merged.notes, merged.label) == (
        "castle",
        "slow pan\nzoom",
        "n1",
        "B",
    )
    db.expire_all()
    items = db.exec(select(GalleryItem).where(GalleryItem.clip_id == merged.id)).all()
    assert {(i.id, i.selected) for i in items} == {(r_a.id, True), (r_c.id, False)}
    assert db.exec(select(GenerationJob)).one().clip_id == merged.id
    assert _spans(db, owner, scene.id) == [(7, 130), (200, 5)]
    assert db.get(Clip, c.id) is None


def test_merge_keeps_the_chosen_result_and_only_merges_neighbours(timeline, db) -> None:
    owner, _, scene, add = timeline()
    a, b, c = add(0, 10), add(10, 10), add(20, 10)
    _result(db, a, "a.png", selected=True)
    keep = _result(db, b, "b.png")
    other = add(500, 10)
    foreign = _result(db, other, "o.png")
    with pytest.raises(Invalid) as error:
        timeline_edit.merge_clips(db, owner, [a.id, c.id])
    assert "between" in error.value.message
    with pytest.raises(Invalid):
        timeline_edit.merge_clips(db, owner, [a.id])
    with pytest.raises(Invalid) as error:
        timeline_edit.merge_clips(db, owner, [a.id, b.id], keep_result_id=foreign.id)
    assert error.value.field == "keep_result_id"
    assert len(clips.list_clips(db, owner, scene.id)) == 4
    merged = timeline_edit.merge_clips(db, owner, [a.id, b.id], keep_result_id=keep.id)
    db.expire_all()
    selected = db.exec(select(GalleryItem).where(GalleryItem.clip_id == merged.id, GalleryItem.selected)).all()
    assert [item.id for item in selected] == [keep.id]


# --- gaps, clipboard, deletion --------------------------------------------------------------------


def test_insert_gap_moves_later_clips_and_close_gap_takes_it_back(timeline, db) -> None:
    owner, _, scene, add = timeline()
    add(10, 20)
    add(30, 10)
    add(50, 10)
    timeline_edit.insert_gap(db, owner, scene.id, at_frame=20, frames=15)  # the clip spanning frame 20 stays
    assert _spans(db, owner, scene.id) == [(10, 20), (45, 10), (65, 10)]
    timeline_edit.close_gap(db, owner, scene.id, at_frame=40)
    assert _spans(db, owner, scene.id) == [(10, 20), (30, 10), (50, 10)]
    timeline_edit.close_gap(db, owner, scene.id, at_frame=0)  # the gap before the first clip
    assert _spans(db, owner, scene.id) == [(0, 20), (20, 10), (40, 10)]
    for at in (5, 100):  # inside a clip, after the last one
        with pytest.raises(Invalid) as error:
            timeline_edit.close_gap(db, owner, scene.id, at_frame=at)
        assert error.value.field == "at_frame"
    with pytest.raises(Invalid):
        timeline_edit.insert_gap(db, owner, scene.id, at_frame=0, frames=0)


def test_copied_clips_paste_at_the_playhead_keeping_their_spacing(timeline, db, make_project) -> None:
    owner, project, scene, add = timeline()
    a = add(10, 24, image_prompt="sky", label="A", color="#ff0000")
    b = add(58, 12, video_prompt="rain", notes="wet")
    payload = timeline_edit.copy_clips(db, owner, [b.id, a.id])
    assert [(p["offset_frames"], p["duration_frames"], p["label"]) for p in payload] == [(0, 24, "A"), (48, 12, "")]
    other_scene = scenes.create_scene(db, owner, project.id, "Other")
    pasted = timeline_edit.paste_clips(db, owner, other_scene.id, payload, at_frame=100)
    assert [(c.start_frame, c.duration_frames, c.image_prompt, c.video_prompt, c.color, c.notes) for c in pasted] == [
        (100, 24, "sky", "", "#ff0000", ""),
        (148, 12, "", "rain", "#5c7cfa", "wet"),
    ]
    timeline_edit.paste_clips(db, owner, scene.id, payload, at_frame=40, overlap="ripple")  # pushes b by 6 frames
    assert _spans(db, owner, scene.id) == [(10, 24), (40, 24), (64, 12), (88, 12)]
    ntsc = make_project(owner, "NTSC", fps=29.97)
    ntsc_scene = scenes.create_scene(db, owner, ntsc.id, "S")
    converted = timeline_edit.paste_clips(db, owner, ntsc_scene.id, payload, at_frame=0)
    assert [(c.start_frame, c.duration_frames) for c in converted] == [(0, 30), (60, 15)]  # same seconds


def test_deleting_clips_removes_their_results_and_files_and_clears_flags(timeline, db) -> None:
    owner, _, scene, add = timeline()
    a, b, c = add(0, 48), add(24, 48), add(100, 10)
    _result(db, a, "a.png")
    _result(db, a, "a2.png")
    summary = clips.clip_deletion_summary(db, owner, [a.id, c.id])
    assert (summary.clips, summary.gallery_items) == (2, 2)
    assert summary.describe().startswith("2 clips and 2 generated results")
    assert clips.delete_clips(db, owner, [a.id, c.id]) == 2
    assert _spans(db, owner, scene.id) == [(24, 48)]
    assert _flags(db, owner, scene.id) == [False]
    assert not (media_store.project_media_dir(a.project_id) / "a.png").exists()
    assert db.exec(select(GalleryItem)).all() == []
    with pytest.raises(NotFound):
        clips.get_clip(db, owner, a.id)
    assert b.id


def test_another_user_gets_not_found_for_every_clip_operation(timeline, db, make_user) -> None:
    owner, _, scene, add = timeline()
    a, b = add(0, 10), add(10, 10)
    other = make_user("other")
    calls = [
        lambda: clips.list_clips(db, other, scene.id),
        lambda: clips.get_clip(db, other, a.id),
        lambda: clips.create_clip(db, other, scene.id),
        lambda: clips.update_clip(db, other, a.id, label="x"),
        lambda: clips.move_clips(db, other, [a.id], 1),
        lambda: clips.delete_clips(db, other, [a.id]),
        lambda: clips.clip_deletion_summary(db, other, [a.id]),
        lambda: timeline_edit.split_clip(db, other, a.id, at_frame=5),
        lambda: timeline_edit.merge_clips(db, other, [a.id, b.id]),
        lambda: timeline_edit.insert_gap(db, other, scene.id, 0, 5),
        lambda: timeline_edit.close_gap(db, other, scene.id, 25),
        lambda: timeline_edit.copy_clips(db, other, [a.id]),
        lambda: timeline_edit.paste_clips(db, other, scene.id, [{"offset": 0, "duration": 1}], 0),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert _spans(db, owner, scene.id) == [(0, 10), (10, 10)]


# --- undo and redo (app/services/timeline_history.py) ---------------------------------------------


def test_undo_brings_a_deleted_clip_back_exactly_and_redo_deletes_it_again(timeline, db) -> None:
    owner, _, scene, add = timeline(fps=29.97)
    a = add(0, 48, image_prompt="fog", video_prompt="drift", label="A", notes="n", color="#010203")
    add(24, 30)
    history = timeline_history.History()
    before = timeline_history.capture(db, [scene.id])
    with history.track(db, [scene.id], "Delete clip"):
        clips.delete_clips(db, owner, [a.id])
    after = timeline_history.capture(db, [scene.id])
    assert history.can_undo and not history.can_redo and history.undo_label == "Delete clip"
    assert history.undo(db, owner) == "Delete clip"
    assert timeline_history.capture(db, [scene.id]) == before
    assert clips.get_clip(db, owner, a.id).image_prompt == "fog"
    assert history.redo(db, owner) == "Delete clip"
    assert timeline_history.capture(db, [scene.id]) == after
    assert history.redo(db, owner) is None


def test_undo_of_a_split_and_a_ripple_restores_every_frame(timeline, db) -> None:
    owner, _, scene, add = timeline(fps=23.976)
    a = add(0, 100)
    add(100, 20)
    add(150, 20)
    history = timeline_history.History()
    start = timeline_history.capture(db, [scene.id])
    with history.track(db, [scene.id], "Split"):
        _, right = timeline_edit.split_clip(db, owner, a.id, at_frame=37)
    after_split = timeline_history.capture(db, [scene.id])
    with history.track(db, [scene.id], "Lengthen"):
        clips.update_clip(db, owner, a.id, duration_frames=60, overlap="ripple")
    assert _spans(db, owner, scene.id) == [(0, 60), (60, 63), (123, 20), (173, 20)]
    assert history.undo(db, owner) == "Lengthen"
    assert timeline_history.capture(db, [scene.id]) == after_split
    assert history.undo(db, owner) == "Split"
    assert timeline_history.capture(db, [scene.id]) == start
    assert db.get(Clip, right.id) is None and not history.can_undo
    assert history.redo(db, owner) == "Split"
    assert timeline_history.capture(db, [scene.id]) == after_split
    assert clips.get_clip(db, owner, right.id).start_frame == 37


def test_undo_of_a_move_between_scenes_and_a_merge(timeline, db) -> None:
    owner, project, scene, add = timeline()
    a, b = add(0, 10), add(10, 10)
    kept = _result(db, b, "b.png", selected=True)
    other = scenes.create_scene(db, owner, project.id, "Other")
    history = timeline_history.History()
    both = [scene.id, other.id]
    start = timeline_history.capture(db, both)
    with history.track(db, both, "Move to other scene"):
        clips.move_clips(db, owner, [b.id], 5, target_scene_id=other.id)
    history.undo(db, owner)
    assert timeline_history.capture(db, both) == start
    with history.track(db, [scene.id], "Merge"):
        timeline_edit.merge_clips(db, owner, [a.id, b.id])
    assert not history.can_redo  # a new edit forgets what could be redone
    history.undo(db, owner)
    assert timeline_history.capture(db, both) == start
    db.expire_all()
    assert db.get(GalleryItem, kept.id).clip_id == a.id  # results moved by the merge stay with the merged clip


def test_history_is_bounded_and_skips_edits_that_changed_nothing(timeline, db) -> None:
    owner, _, scene, add = timeline()
    clip = add(0, 10)
    history = timeline_history.History(limit=3)
    for step in range(5):
        with history.track(db, [scene.id], f"Move {step}"):
            clips.move_clips(db, owner, [clip.id], 1)
    with history.track(db, [scene.id], "Nothing"):
        pass
    assert [history.undo(db, owner) for _ in range(4)] == ["Move 4", "Move 3", "Move 2", None]
    assert _spans(db, owner, scene.id) == [(2, 10)]


def test_undo_is_refused_for_another_user_and_after_the_scene_is_gone(timeline, db, make_user) -> None:
    owner, _, scene, add = timeline()
    clip = add(0, 10)
    history = timeline_history.History()
    with history.track(db, [scene.id], "Move"):
        clips.move_clips(db, owner, [clip.id], 4)
    with pytest.raises(NotFound):
        timeline_history.restore(db, make_user("other"), timeline_history.capture(db, [scene.id]))
    scenes.delete_scene(db, owner, scene.id)
    with pytest.raises(NotFound):
        history.undo(db, owner)
    assert not history.can_undo


def test_selected_results_lists_each_clips_choice_and_hides_other_users(db, make_user, make_project) -> None:
    owner, other = make_user("owner"), make_user("other")
    project = make_project(owner)
    scene = scenes.create_scene(db, owner, project.id, "S")
    first = clips.create_clip(db, owner, scene.id, start=0, duration=1)
    second = clips.create_clip(db, owner, scene.id, start=1, duration=1)
    for clip, selected in ((first, True), (first, False), (second, True)):
        db.add(GalleryItem(clip_id=clip.id, project_id=project.id, kind="image", file_path="x.png", selected=selected))
    db.commit()
    chosen = clips.selected_results(db, owner, [first.id, second.id])
    assert sorted(item.clip_id for item in chosen) == sorted([first.id, second.id])
    with pytest.raises(NotFound):
        clips.selected_results(db, other, [first.id])


def test_a_tracked_edit_is_one_undo_step_and_a_refused_one_records_nothing(timeline, db, make_user) -> None:
    owner, _, scene, add = timeline()
    a = add(0, 10)
    history = timeline_history.History()
    changed = history.tracked(db, [scene.id], "Edit clip", clips.update_clip, owner, a.id, label="Renamed")
    assert changed.label == "Renamed"  # a clip's own `label` passes through to the work
    assert history.undo_label == "Edit clip"
    stranger = make_user("mallory")
    with pytest.raises(NotFound):  # another user's scene: refused, and no undo step for it
        history.tracked(db, [scene.id], "Delete clip", clips.delete_clips, stranger, [a.id])
    assert history.undo_label == "Edit clip"
    assert clips.get_clip(db, owner, a.id).label == "Renamed"
