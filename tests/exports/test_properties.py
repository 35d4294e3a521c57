"""Property tests: random timelines (rates, drop frame, durations, gaps, overlaps, media kinds, scopes) written in
every format and read back by the outside readers; plus the export policy's own invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.exports.timeline import (
    RATE_LABELS,
    RATES,
    MediaRef,
    SourceClip,
    SourceScene,
    TimelineClip,
    build_timeline,
)
from tests.exports.readers import CHECKS

EXAMPLES = 25
# No example database: nothing is written into the working tree.
FAST = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _media(kind: str, index: int) -> MediaRef | None:
    if kind == "none":
        return None
    suffix = ".mp4" if kind == "video" else ".png"
    return MediaRef(
        key=f"r{index}",
        kind=kind,  # type: ignore[arg-type]
        stored_path=f"projects/1/clips/{index}/f{suffix}",
        path=f"/srv/media/projects/1/clips/{index}/f{suffix}",
        package_name=f"media/clip-{index}{suffix}",
        seconds=None if kind == "still" else 30.0,
    )


@st.composite
def timelines(draw):  # type: ignore[no-untyped-def]
    label = draw(st.sampled_from(RATE_LABELS))
    rate = RATES[label]
    drop = rate.supports_drop_frame and draw(st.booleans())
    source_label = draw(st.sampled_from((label, label, "24", "25", "29.97")))
    next_id = 1
    scenes = []
    for scene_index in range(draw(st.integers(1, 3))):
        clips = []
        for _ in range(draw(st.integers(0 if scene_index else 1, 6))):
            kind = draw(st.sampled_from(("video", "video", "still", "none")))
            clips.append(
                SourceClip(
                    clip_id=next_id,
                    start=draw(st.integers(0, 240)),
                    duration=draw(st.integers(1, 120)),
                    name=f"Clip {next_id}",
                    media=_media(kind, draw(st.integers(1, 4)) if kind != "none" else 0),
                    image_prompt=draw(st.sampled_from(("", "a pier at dusk", "LOC: tricky\nline"))),
                )
            )
            next_id += 1
        scenes.append(SourceScene(scene_index + 1, f"Scene {scene_index + 1}", tuple(clips)))
    all_ids = [clip.clip_id for scene in scenes for clip in scene.clips]
    chosen = draw(st.one_of(st.none(), st.sets(st.sampled_from(all_ids), min_size=1))) if all_ids else None
    hours = draw(st.integers(0, 9))
    start = f"{hours:02d}:00:00{';' if drop else ':'}00"
    return build_timeline(
        "Random cut",
        scenes,
        source_rate=RATES[source_label],
        rate=rate,
        clip_ids=chosen,
        start_timecode=start,
        drop_frame=drop,
        media_paths=draw(st.sampled_from(("absolute", "relative"))),
        include_metadata=draw(st.booleans()),
    )


# Media keys are shared between clips only when their kinds agree (a file is a video or a still, not both).
def _consistent(timeline) -> bool:  # type: ignore[no-untyped-def]
    kinds: dict[str, str] = {}
    for clip in timeline.clips:
        if clip.media is not None and kinds.setdefault(clip.media.key, clip.media.kind) != clip.media.kind:
            return False
    return True


@FAST
@given(timelines())
def test_the_policy_gives_one_contiguous_track_without_overlaps(timeline):
    cursor = 0
    for item in timeline.items:
        assert item.record_start == cursor and item.duration > 0
        cursor = item.record_end
    previous = None
    for item in timeline.items:
        if previous is not None:
            assert not (type(previous) is type(item) and not isinstance(item, TimelineClip)), "two gaps in a row"
        previous = item


def _check(format_name: str, timeline) -> None:  # type: ignore[no-untyped-def]
    if not _consistent(timeline):
        return
    writer, check = CHECKS[format_name]
    check(writer.write(timeline).content, timeline)


@FAST
@given(timelines())
def test_random_fcpxml_is_valid_and_frame_exact(timeline):
    _check("fcpxml", timeline)


@FAST
@given(timelines())
def test_random_edl_reads_back(timeline):
    _check("edl", timeline)


@FAST
@given(timelines())
def test_random_fcp7_xml_reads_back(timeline):
    _check("xmeml", timeline)


@FAST
@given(timelines())
def test_random_otio_reads_back(timeline):
    _check("otio", timeline)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_random_aaf_reads_back(timeline):
    _check("aaf", timeline)
