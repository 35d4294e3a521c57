"""OpenTimelineIO's native .otio (JSON), which DaVinci Resolve imports, written through OpenTimelineIO itself.

One video track of clips and gaps (placeholders are clips with a MissingReference, named "NO MEDIA – …"),
an audio track with the music, scene markers on the video track, and each clip's identity, prompts and
generation parameters under metadata["storycanvas"]. Times are whole frames at the exact rate.

OpenTimelineIO turns every metadata value into its own C++ dictionary one Python call at a time: for a
10,000-clip cut that was two thirds of the export. So `write` lets OpenTimelineIO write the structure and
sets each clip's metadata in the JSON it wrote (the same document, a tenth of the work).
"""

from __future__ import annotations

import json

import opentimelineio as otio

from .notes import metadata_of
from .timeline import ExportTimeline, MediaRef, TimelineClip, TimelineGap, Written

FORMAT = "otio"
EXTENSION = "otio"
MEDIA_TYPE = "application/json"


def _range(start: int, duration: int, fps: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, fps), otio.opentime.RationalTime(duration, fps))


def _reference(timeline: ExportTimeline, media: MediaRef, frames_needed: int, fps: float) -> otio.core.MediaReference:
    if media.kind == "video" and media.seconds:
        length = max(timeline.rate.frames_in(media.seconds), frames_needed)
    else:
        length = frames_needed
    reference = otio.schema.ExternalReference(
        target_url=timeline.media_url(media), available_range=_range(0, length, fps)
    )
    reference.name = media.file_name  # the kind is in the clip's metadata: every metadata dict costs time here
    return reference


def build(timeline: ExportTimeline, *, clip_metadata: bool = True) -> otio.schema.Timeline:
    """The OTIO object tree; without `clip_metadata` the clips' metadata is left for `write` to add."""
    fps = float(timeline.rate.fps)
    result = otio.schema.Timeline(name=timeline.name)
    result.global_start_time = otio.opentime.RationalTime(timeline.start_frame, fps)
    result.metadata["storycanvas"] = {
        "project_id": timeline.project_id,
        "frame_rate": timeline.rate.label,
        "width": timeline.width,
        "height": timeline.height,
        "drop_frame": timeline.drop_frame,
        "codec_hint": timeline.codec_hint,
    }
    needed: dict[str, int] = {}
    for placed in timeline.clips:
        if placed.media is not None:
            needed[placed.media.key] = max(needed.get(placed.media.key, 0), placed.source_start + placed.duration)
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for item in timeline.items:
        if isinstance(item, TimelineGap):
            video.append(otio.schema.Gap(source_range=_range(0, item.duration, fps)))
            continue
        clip: TimelineClip = item
        if clip.media is None:
            reference: otio.core.MediaReference = otio.schema.MissingReference(name=clip.display_name)
        else:
            reference = _reference(timeline, clip.media, needed[clip.media.key], fps)
        video.append(
            otio.schema.Clip(
                name=clip.display_name,
                media_reference=reference,
                source_range=_range(clip.source_start if clip.media else 0, clip.duration, fps),
                metadata={"storycanvas": metadata_of(clip, timeline.include_metadata)} if clip_metadata else {},
            )
        )
    for scene in timeline.scenes:
        video.markers.append(
            otio.schema.Marker(
                name=f"Scene: {scene.name}",
                marked_range=_range(scene.record_start, 1, fps),
                metadata={"storycanvas": {"scene_id": scene.scene_id}},
            )
        )
    result.tracks.append(video)
    if timeline.music is not None and timeline.duration:
        music = timeline.music
        length = timeline.rate.frames_in(music.seconds) if music.seconds else timeline.duration
        audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        audio.append(
            otio.schema.Clip(
                name="Music",
                media_reference=_reference(timeline, music, max(length, 1), fps),
                source_range=_range(0, max(1, min(length, timeline.duration)), fps),
            )
        )
        result.tracks.append(audio)
    return result


def write(timeline: ExportTimeline) -> Written:
    warnings: list[str] = []
    if any(clip.still for clip in timeline.clips):
        warnings.append("OTIO has no still-image type: stills are clips of their image file, held for their length.")
    written = json.loads(otio.adapters.write_to_string(build(timeline, clip_metadata=False), "otio_json", indent=-1))
    video = written["tracks"]["children"][0]["children"]
    for item, entry in zip(timeline.items, video, strict=True):
        if not isinstance(item, TimelineGap):
            entry["metadata"]["storycanvas"] = metadata_of(item, timeline.include_metadata)
    return Written(json.dumps(written, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), warnings)
