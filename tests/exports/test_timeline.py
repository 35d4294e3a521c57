"""The neutral export timeline: scenes end to end, gaps, the overlap policy, media choice, scope and rates."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.exports.timeline import (
    RATE_LABELS,
    RATES,
    MediaRef,
    SourceClip,
    SourceScene,
    TimelineClip,
    TimelineGap,
    build_timeline,
    rate_for,
)
from app.services.project_cut import load_cut
from data import frames
from data.errors import Invalid, NotFound

VIDEO = MediaRef("r1", "video", "a.mp4", "/m/a.mp4", "media/a-1.mp4", seconds=10)


def _shape(timeline) -> list[tuple]:
    return [
        ("gap", item.record_start, item.duration)
        if isinstance(item, TimelineGap)
        else (item.clip_id, item.record_start, item.duration, item.source_start, item.part)
        for item in timeline.items
    ]


def test_every_rate_is_an_exact_fraction():
    assert RATES["23.976"].fps == Fraction(24000, 1001)
    assert RATES["29.97"].fps == Fraction(30000, 1001)
    assert RATES["59.94"].fps == Fraction(60000, 1001)
    assert [RATES[label].fps for label in ("24", "25", "30", "50", "60")] == [24, 25, 30, 50, 60]
    assert rate_for(23.976) is RATES["23.976"] and rate_for("29.97") is RATES["29.97"]
    assert [label for label, rate in RATES.items() if rate.supports_drop_frame] == ["29.97", "59.94"]
    with pytest.raises(Invalid, match="not one editors share"):
        rate_for(12)


@settings(max_examples=40, deadline=None, database=None)
@given(st.sampled_from(RATE_LABELS), st.booleans(), st.integers(-10, 30 * 3600 * 60))
def test_timecodes_match_the_frame_service(label, drop, count):
    rate = RATES[label]
    drop = drop and rate.supports_drop_frame
    assert rate.timecode(count, drop) == frames.timecode(count, float(label), drop)


def test_the_later_clip_plays_on_top_and_the_earlier_resumes_after_it():
    scene = SourceScene(1, "S", (SourceClip(1, 0, 100, "Long", VIDEO), SourceClip(2, 20, 30, "Short", VIDEO)))
    timeline = build_timeline("T", [scene], source_rate=RATES["24"])
    assert _shape(timeline) == [(1, 0, 20, 0, 1), (2, 20, 30, 0, 0), (1, 50, 50, 50, 2)]
    assert any("30 of its 100 frames are cut" in warning for warning in timeline.warnings)


def test_a_clip_covered_entirely_is_left_out_and_equal_starts_put_the_newer_clip_on_top():
    scene = SourceScene(1, "S", (SourceClip(5, 10, 20, "Newer"), SourceClip(3, 10, 20, "Older")))
    timeline = build_timeline("T", [scene], source_rate=RATES["24"])
    assert _shape(timeline) == [("gap", 0, 10), (5, 10, 20, 0, 0)]
    assert any("“Older” is entirely covered" in warning for warning in timeline.warnings)


def test_scenes_play_end_to_end_with_gaps_and_the_chosen_media(db, film):
    timeline = load_cut(db, film.owner, film.project.id)
    ids = {name: clip.id for name, clip in film.clips.items()}
    assert _shape(timeline) == [
        (ids["pier"], 0, 48, 0, 0),
        (ids["boat"], 48, 24, 0, 0),
        ("gap", 72, 24),
        (ids["gull"], 96, 12, 0, 0),
        (ids["lamp"], 108, 30, 0, 1),
        (ids["beam"], 138, 10, 0, 0),
        (ids["lamp"], 148, 20, 40, 2),
    ]
    by_id = {clip.clip_id: clip for clip in timeline.clips}
    assert by_id[ids["pier"]].media.kind == "video"  # the selected video wins over the selected image
    assert by_id[ids["boat"]].media.kind == "still"
    assert by_id[ids["boat"]].media.key == f"r{film.items['boat'].id}"  # the selected one, not the other
    assert by_id[ids["gull"]].placeholder and by_id[ids["gull"]].display_name == "NO MEDIA – Gull"
    assert [(s.name, s.record_start, s.duration) for s in timeline.scenes] == [
        ("Harbour", 0, 108),
        ("Lighthouse", 108, 60),
    ]
    assert timeline.music is not None and timeline.music.package_name.startswith("music/theme-")
    assert timeline.start_timecode == "01:00:00:00" and timeline.width == 1280
    assert any("“Gull”" in warning and "placeholders" in warning for warning in timeline.warnings)


def test_scope_one_scene_or_chosen_clips_keep_their_relative_timing(db, film):
    scene = load_cut(db, film.owner, film.project.id, scene_id=film.scenes[1].id)
    assert scene.duration == 60 and scene.name == "Moonrise – Lighthouse" and scene.music is None
    chosen = load_cut(db, film.owner, film.project.id, clip_ids=[film.clips["gull"].id, film.clips["beam"].id])
    gull, beam = film.clips["gull"].id, film.clips["beam"].id
    # Gull starts at 96, Beam at 138 in the cut: the timeline starts with Gull, Beam keeps its distance.
    assert _shape(chosen) == [(gull, 0, 12, 0, 0), ("gap", 12, 30), (beam, 42, 10, 0, 0)]


def test_another_rate_keeps_each_cut_in_seconds_and_neighbours_touching(db, film):
    timeline = load_cut(db, film.owner, film.project.id, frame_rate="25")
    assert timeline.rate.label == "25"
    assert timeline.duration == 175  # 168 frames at 24 fps = 7 s
    cursor = 0
    for item in timeline.items:
        assert item.record_start == cursor
        cursor = item.record_end
    lamp_part_two = timeline.clips[-1]
    assert (lamp_part_two.record_start, lamp_part_two.source_start) == (154, 42)  # 148/24 s and 40/24 s at 25 fps


def test_bad_options_say_what_to_change(db, film, make_user, make_project):
    with pytest.raises(Invalid, match=r"only for 29\.97 and 59\.94"):
        load_cut(db, film.owner, film.project.id, drop_frame=True)
    with pytest.raises(Invalid, match="Start timecode"):
        load_cut(db, film.owner, film.project.id, start_timecode="25:61:00:00")
    assert load_cut(db, film.owner, film.project.id, frame_rate="29.97", start_timecode="00:59:59;29").drop_frame
    # Timecode wraps at 24 hours in an editor: a start there, or a cut running past it, is refused.
    with pytest.raises(Invalid, match="24 hours or more"):
        load_cut(db, film.owner, film.project.id, start_timecode="24:00:00:00")
    with pytest.raises(Invalid, match="past 23:59:59"):
        load_cut(db, film.owner, film.project.id, start_timecode="23:59:58:00")
    late = load_cut(db, film.owner, film.project.id, start_timecode="23:00:00:00")
    assert late.start_timecode == "23:00:00:00"
    with pytest.raises(Invalid, match="not both"):
        load_cut(db, film.owner, film.project.id, scene_id=film.scenes[0].id, clip_ids=[film.clips["pier"].id])
    other = make_project(film.owner, "Other")
    from app.services import clips, scenes

    stranger_scene = scenes.create_scene(db, film.owner, other.id, "Elsewhere")
    stranger = clips.create_clip(db, film.owner, stranger_scene.id, start_frame=0, duration_frames=5)
    with pytest.raises(Invalid, match="not a scene of this project"):
        load_cut(db, film.owner, film.project.id, scene_id=stranger_scene.id)
    with pytest.raises(Invalid, match=f"Not clips of this project: {stranger.id}"):
        load_cut(db, film.owner, film.project.id, clip_ids=[film.clips["pier"].id, stranger.id])
    with pytest.raises(Invalid, match="at least one clip"):
        load_cut(db, film.owner, film.project.id, clip_ids=[])
    with pytest.raises(NotFound):
        load_cut(db, make_user("intruder"), film.project.id)


def test_a_video_shorter_than_its_clip_is_reported():
    short = MediaRef("r9", "video", "s.mp4", "/m/s.mp4", "media/s-9.mp4", seconds=1.0)
    scene = SourceScene(1, "S", (SourceClip(1, 0, 48, "Wave", short),))
    timeline = build_timeline("T", [scene], source_rate=RATES["24"])
    assert isinstance(timeline.items[0], TimelineClip)
    assert any("needs 48 frames, the file has 24" in warning for warning in timeline.warnings)


def test_gc_pauses_nest_and_restore_the_collector() -> None:
    import gc

    from app.exports.gc_pause import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
