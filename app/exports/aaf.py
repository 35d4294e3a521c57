"""Avid / Resolve / Premiere: a real AAF file written with pyaaf2.

A top-level composition mob holds a primary timecode track (physical track 1, which Resolve insists on)
and one picture track: a sequence of source clips and fillers. Each timeline clip has a master mob
(named like the clip, with its identity and prompts in its Comments) that points at a file source mob
per media file; the file source mob carries a network locator with the file's URL, so editors link the
media instead of bringing it in offline. Placeholders are master mobs without media, named "NO MEDIA – …".
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import aaf2

from .notes import note_lines
from .timeline import ExportTimeline, MediaRef, TimelineClip, TimelineGap, Written

FORMAT = "aaf"
EXTENSION = "aaf"
MEDIA_TYPE = "application/octet-stream"
COMMENT_LIMIT = 2000


class _Mobs:
    """File source mobs (one per file) and master mobs (one per clip and file), each made once."""

    def __init__(self, aaf: Any, timeline: ExportTimeline) -> None:
        self.aaf, self.timeline = aaf, timeline
        self.edit_rate = timeline.rate.fps
        self.files: dict[str, Any] = {}
        self.masters: dict[tuple[int, str], Any] = {}
        self.made: list[Any] = []  # attached to the file together at the end (pyaaf2 is quadratic one by one)
        self.lengths: dict[str, int] = {}
        for clip in timeline.clips:
            key = clip.media.key if clip.media else "none"
            self.lengths[key] = max(self.lengths.get(key, 0), clip.source_start + clip.duration)

    def length(self, media: MediaRef | None) -> int:
        key = media.key if media else "none"
        needed = self.lengths.get(key, 1)
        if media is not None and media.kind == "video" and media.seconds:
            return max(self.timeline.rate.frames_in(media.seconds), needed)
        return needed

    def file_mob(self, media: MediaRef) -> Any:
        if media.key in self.files:
            return self.files[media.key]
        create = self.aaf.create
        mob = create.SourceMob(media.file_name)
        descriptor = create.ImportDescriptor()
        locator = create.NetworkLocator()
        locator["URLString"].value = self.timeline.media_url(media)
        descriptor["Locator"].append(locator)
        mob.descriptor = descriptor
        slot = mob.create_empty_slot(self.edit_rate, media_kind="picture", slot_id=1)
        slot.segment.length = self.length(media)
        self.made.append(mob)
        self.files[media.key] = mob
        return mob

    def master_mob(self, clip: TimelineClip) -> Any:
        key = (clip.clip_id, clip.media.key if clip.media else "none")
        if key in self.masters:
            return self.masters[key]
        create = self.aaf.create
        mob = create.MasterMob(clip.display_name)
        length = self.length(clip.media)
        slot = mob.create_timeline_slot(self.edit_rate, slot_id=1)
        if clip.media is None:
            slot.segment = create.SourceClip(media_kind="picture", length=length)
        else:
            slot.segment = self.file_mob(clip.media).create_source_clip(slot_id=1, start=0, length=length)
        for name, value in self.comments(clip).items():
            mob.comments[name] = value
        self.made.append(mob)
        self.masters[key] = mob
        return mob

    def comments(self, clip: TimelineClip) -> dict[str, str]:
        """Avid's Comments and Scene bin columns: every comment is an object in the file, so two, not six."""
        lines = note_lines(clip, self.timeline.include_metadata, COMMENT_LIMIT)
        return {"Comments": "\n".join(lines), "Scene": clip.scene_name}


def _write_into(aaf: Any, timeline: ExportTimeline) -> None:
    create = aaf.create
    rate = timeline.rate
    composition = create.CompositionMob(timeline.name)
    composition.usage = "Usage_TopLevel"

    timecode_slot = composition.create_timeline_slot(rate.fps, slot_id=1)
    timecode_slot.name = "TC1"
    timecode_slot["PhysicalTrackNumber"].value = 1
    timecode = create.Timecode(rate.timebase, drop=timeline.drop_frame)
    timecode.start = timeline.start_frame
    timecode.length = max(timeline.duration, 1)
    timecode_slot.segment = timecode

    picture_slot = composition.create_timeline_slot(rate.fps, slot_id=2)
    picture_slot.name = "V1"
    picture_slot["PhysicalTrackNumber"].value = 1
    sequence = create.Sequence(media_kind="picture")
    picture_slot.segment = sequence
    mobs = _Mobs(aaf, timeline)
    components = []
    for item in timeline.items:
        if isinstance(item, TimelineGap):
            components.append(create.Filler("picture", item.duration))
            continue
        master = mobs.master_mob(item)
        start = item.source_start if item.media is not None else 0
        components.append(master.create_source_clip(slot_id=1, start=start, length=item.duration))
    # Built detached and attached in one go: pyaaf2 re-walks a whole list on every single append.
    sequence.components.extend(components)
    aaf.content.mobs.extend([composition, *mobs.made])


def write(timeline: ExportTimeline) -> Written:
    with tempfile.TemporaryDirectory(prefix="storycanvas-aaf-") as folder:
        target = Path(folder) / "timeline.aaf"
        with aaf2.open(str(target), "w") as aaf:
            _write_into(aaf, timeline)
        content = target.read_bytes()
    warnings: list[str] = []
    if timeline.music is not None:
        warnings.append("AAF: the picture track only; the music is not in the AAF (it is in the package).")
    if timeline.media_paths == "relative" and timeline.media:
        warnings.append("AAF: Avid and Premiere resolve locators as absolute paths; relink relative media by hand.")
    if timeline.codec_hint:
        warnings.append(f"AAF: the codec hint (“{timeline.codec_hint}”) is not written; file descriptors are left out.")
    if any(clip.still for clip in timeline.clips):
        warnings.append("AAF: stills are source clips of their image file, held for their length.")
    return Written(content, warnings)
