"""The neutral export timeline: one video track of clips and gaps, frame-exact, built from the database.

Every writer (FCPXML, EDL, xmeml, AAF, OTIO) reads this and nothing else, so they all agree on what the
cut is. Times are whole frames of the export rate, counted from the timeline's start; rates are exact
fractions (23.976 is 24000/1001), so nothing is converted through floats.

Rules that shape the cut (the README's "Exports" section repeats them):
- Scenes play end to end in their order; a scene lasts until its last clip ends. Where nothing plays
  there is a gap.
- Overlaps (allowed on the editing timeline, impossible on one export track): the clip that starts later
  plays on top. The earlier clip is cut where the later one starts and, if it lasts longer, resumes after
  it with its media advanced accordingly, as if the later clip lay on a track above. Equal starts: the
  clip made later (higher id) is on top. Every cut is reported as a warning.
- A clip's media is its selected video, else its selected image as a still, else none: such a clip stays
  in the cut as a clearly named placeholder (each writer says how it marks it).
- Scope "clips": the chosen clips keep their timing relative to each other; the timeline runs from the
  first chosen clip to the end of the last one, and everything else becomes gaps.
- Another frame rate than the project's: every cut point keeps its time in seconds, rounded to the
  nearest frame of the new rate, so neighbours still touch; a clip shorter than a frame drops out.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal
from urllib.parse import quote

from data import frames
from data.errors import Invalid
from data.words import agree, counted

RATE_LABELS = ("23.976", "24", "25", "29.97", "30", "50", "59.94", "60")
DEFAULT_START_TIMECODE = "01:00:00:00"
MediaKind = Literal["video", "still", "audio"]
MediaPaths = Literal["absolute", "relative"]


@dataclass(frozen=True)
class Rate:
    """An exact frame rate with what timecode needs: the nominal base (30 for 29.97) and NTSC-ness."""

    label: str
    fps: Fraction
    timebase: int  # frames per timecode second: 30 for 29.97
    ntsc: bool  # n × 1000/1001

    @property
    def frame_duration(self) -> Fraction:
        return 1 / self.fps

    @property
    def supports_drop_frame(self) -> bool:
        return self.ntsc and self.timebase in (30, 60)

    def seconds(self, count: int) -> Fraction:
        return Fraction(count) / self.fps

    def frames_in(self, seconds: float | Fraction) -> int:
        """Whole frames that fit in a length of media (a partial last frame does not count)."""
        return math.floor(float(seconds) * self.fps.numerator / self.fps.denominator + 0.001)

    def timecode(self, count: int, drop_frame: bool = False) -> str:
        """The same label as frames.timecode, in integer arithmetic only: a big export writes tens of thousands."""
        if drop_frame and not self.supports_drop_frame:
            return frames.timecode(count, float(self.label), drop_frame)  # raises the usual Invalid
        base = self.timebase
        sign, number = ("-", -count) if count < 0 else ("", count)
        if drop_frame:
            drop = 2 if base == 30 else 4
            per_minute, per_ten_minutes = base * 60 - drop, base * 600 - drop * 9
            tens, rest = divmod(number, per_ten_minutes)
            number += drop * 9 * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
        total_seconds, ff = divmod(number, base)
        hh, remainder = divmod(total_seconds, 3600)
        mm, ss = divmod(remainder, 60)
        return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}{';' if drop_frame else ':'}{ff:02d}"


def _rate(label: str) -> Rate:
    fps = frames.frame_rate(float(label))
    return Rate(label, fps, round(fps), fps.denominator == 1001)


RATES: dict[str, Rate] = {label: _rate(label) for label in RATE_LABELS}


def rate_for(value: str | float | int) -> Rate:
    """One of the rates editors share (23.976, 24, 25, 29.97, 30, 50, 59.94, 60), from a label or a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    for label, rate in RATES.items():
        if abs(number - float(label)) < 0.005:
            return rate
    raise Invalid(
        f"Frame rate {value} is not one editors share: use one of {', '.join(RATE_LABELS)}.", field="frame_rate"
    )


@dataclass(frozen=True)
class MediaRef:
    """A file the cut uses: a selected result (video or still) or the project's music."""

    key: str  # unique per file in one export: "r12" for gallery item 12, "m3" for media asset 3
    kind: MediaKind
    stored_path: str  # as the database stores it, relative to the media folder
    path: str | None  # absolute, on this server's disk; None when the stored path would leave the media folder
    package_name: str  # "media/pier-12.mp4": where a package puts it, and the relative path writers use
    width: int | None = None
    height: int | None = None
    seconds: float | None = None  # length of a video or audio file, when known
    exists: bool = True

    @property
    def file_name(self) -> str:
        return self.package_name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TimelineClip:
    clip_id: int
    scene_id: int
    scene_name: str
    name: str
    record_start: int  # frames from the timeline's start
    duration: int
    source_start: int = 0  # frames into the media (an overlap can cut a clip's head)
    media: MediaRef | None = None
    image_prompt: str = ""
    video_prompt: str = ""
    notes: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    part: int = 0  # 1, 2… when an overlap cut the clip into pieces; 0 when whole

    @property
    def record_end(self) -> int:
        return self.record_start + self.duration

    @property
    def placeholder(self) -> bool:
        return self.media is None

    @property
    def still(self) -> bool:
        return self.media is not None and self.media.kind == "still"

    @property
    def display_name(self) -> str:
        """The clip's name, marked when nothing was chosen for it yet, so the editor cannot miss it."""
        return f"NO MEDIA – {self.name}" if self.placeholder else self.name


@dataclass(frozen=True)
class TimelineGap:
    record_start: int
    duration: int

    @property
    def record_end(self) -> int:
        return self.record_start + self.duration


TimelineItem = TimelineClip | TimelineGap


@dataclass(frozen=True)
class SceneSpan:
    scene_id: int
    name: str
    record_start: int
    duration: int


@dataclass(frozen=True)
class ExportTimeline:
    """What every writer writes: items run from frame 0 without holes or overlaps (gaps fill the holes)."""

    name: str
    rate: Rate
    width: int
    height: int
    items: tuple[TimelineItem, ...]
    scenes: tuple[SceneSpan, ...] = ()
    project_id: int | None = None
    start_frame: int = 0  # the record start timecode as a frame count
    drop_frame: bool = False
    music: MediaRef | None = None
    media_paths: MediaPaths = "absolute"
    include_metadata: bool = True
    codec_hint: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def duration(self) -> int:
        return self.items[-1].record_end if self.items else 0

    @property
    def clips(self) -> list[TimelineClip]:
        return [item for item in self.items if isinstance(item, TimelineClip)]

    @property
    def media(self) -> list[MediaRef]:
        """Each file once, in order of first use (the music last)."""
        found: dict[str, MediaRef] = {}
        for clip in self.clips:
            if clip.media is not None:
                found.setdefault(clip.media.key, clip.media)
        if self.music is not None:
            found.setdefault(self.music.key, self.music)
        return list(found.values())

    @property
    def start_timecode(self) -> str:
        return self.rate.timecode(self.start_frame, self.drop_frame)

    def media_url(self, media: MediaRef) -> str:
        """A file URL (absolute) or a relative URL ("media/x.mp4"), as the export's media path style says."""
        if self.media_paths == "relative" or media.path is None:
            return quote(media.package_name)
        return "file://" + quote(media.path)  # as Path.as_uri() writes it, without building thousands of Paths

    def media_location(self, media: MediaRef) -> str:
        """The same place as a plain path, for formats that carry paths rather than URLs."""
        if self.media_paths == "relative" or media.path is None:
            return media.package_name
        return media.path

    def fcp7_url(self, media: MediaRef) -> str:
        """As Final Cut Pro 7 writes a `pathurl`: file://localhost/ and the path percent-encoded (Premiere and
        Resolve read both spellings; FCP 7 itself and some conform tools only this one). Relative stays relative."""
        if self.media_paths == "relative" or media.path is None:
            return quote(media.package_name)
        return "file://localhost" + quote(media.path)


@dataclass(frozen=True)
class Written:
    """A writer's output: the file's bytes and what the format could not carry."""

    content: bytes
    warnings: list[str] = field(default_factory=list)


# --- what the builder reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceClip:
    """A clip as the project stores it: start and duration in frames of the project's rate, within its scene."""

    clip_id: int
    start: int
    duration: int
    name: str
    media: MediaRef | None = None
    image_prompt: str = ""
    video_prompt: str = ""
    notes: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.start + self.duration


@dataclass(frozen=True)
class SourceScene:
    scene_id: int
    name: str
    clips: tuple[SourceClip, ...]

    @property
    def length(self) -> int:
        return max((clip.end for clip in self.clips), default=0)


@dataclass(frozen=True)
class _Piece:
    clip: SourceClip
    start: int
    end: int
    part: int = 0


def resolve_overlaps(clips: Sequence[SourceClip]) -> list[_Piece]:
    """The later-starting clip on top: the visible pieces of each clip, in time order, without overlaps.

    A sweep over the clips' edges with a heap of the clips playing at each moment, O(n log n).
    """
    ordered = sorted(clips, key=lambda c: (c.start, c.clip_id))
    if all(earlier.end <= later.start for earlier, later in itertools.pairwise(ordered)):
        return [_Piece(clip, clip.start, clip.end) for clip in ordered]  # the usual case: nothing overlaps
    edges = sorted({edge for clip in ordered for edge in (clip.start, clip.end)})
    playing: list[tuple[int, int, int]] = []  # (-start, -id, index into ordered): the top is the latest start
    pieces: list[_Piece] = []
    following = 0
    for left, right in itertools.pairwise(edges):
        while following < len(ordered) and ordered[following].start <= left:
            clip = ordered[following]
            heapq.heappush(playing, (-clip.start, -clip.clip_id, following))
            following += 1
        while playing and ordered[playing[0][2]].end <= left:
            heapq.heappop(playing)
        if not playing:
            continue
        top = ordered[playing[0][2]]
        if pieces and pieces[-1].clip is top and pieces[-1].end == left:
            pieces[-1] = _Piece(top, pieces[-1].start, right)
        else:
            pieces.append(_Piece(top, left, right))
    counts: dict[int, int] = {}
    for piece in pieces:
        counts[piece.clip.clip_id] = counts.get(piece.clip.clip_id, 0) + 1
    numbered: list[_Piece] = []
    seen: dict[int, int] = {}
    for piece in pieces:
        clip_id = piece.clip.clip_id
        if counts[clip_id] > 1:
            seen[clip_id] = seen.get(clip_id, 0) + 1
            numbered.append(_Piece(piece.clip, piece.start, piece.end, seen[clip_id]))
        else:
            numbered.append(piece)
    return numbered


def _overlap_warnings(scene: SourceScene, pieces: list[_Piece]) -> list[str]:
    shown: dict[int, int] = {}
    for piece in pieces:
        shown[piece.clip.clip_id] = shown.get(piece.clip.clip_id, 0) + piece.end - piece.start
    warnings = []
    for clip in sorted(scene.clips, key=lambda c: (c.start, c.clip_id)):
        hidden = clip.duration - shown.get(clip.clip_id, 0)
        if hidden == clip.duration:
            warnings.append(
                f"Scene “{scene.name}”: “{clip.name}” is entirely covered by a later overlapping clip and is left out."
            )
        elif hidden > 0:
            warnings.append(
                f"Scene “{scene.name}”: “{clip.name}” overlaps a later clip, which plays on top; "
                f"{hidden} of its {clip.duration} frames are cut."
            )
    return warnings


def parse_start(start_timecode: str | None, rate: Rate, drop_frame: bool) -> int:
    """The record start as frames; ';' before the frames means drop frame, which only 29.97 and 59.94 have."""
    text = (start_timecode or DEFAULT_START_TIMECODE).strip()
    if text.startswith("-"):
        raise Invalid("The start timecode cannot be negative.", field="start_timecode")
    try:
        start = frames.parse_timecode(text, float(rate.label), drop_frame)
    except Invalid as error:
        raise Invalid(f"Start timecode: {error.message}", field="start_timecode") from None
    if start >= day_frames(rate, drop_frame):
        raise Invalid(
            f"The start timecode {text} is 24 hours or more; timecode runs from 00:00:00:00 to 23:59:59:xx. "
            "Use a start under 24:00:00:00 (01:00:00:00 is usual).",
            field="start_timecode",
        )
    return start


def day_frames(rate: Rate, drop_frame: bool) -> int:
    """Frames in 24 hours of timecode at this rate: where timecode wraps to 00:00:00:00 in an editor."""
    return frames.parse_timecode("24:00:00:00", float(rate.label), drop_frame)


def build_timeline(
    name: str,
    scenes: Sequence[SourceScene],
    *,
    source_rate: Rate,
    rate: Rate | None = None,
    width: int = 1920,
    height: int = 1080,
    clip_ids: Iterable[int] | None = None,
    start_timecode: str | None = DEFAULT_START_TIMECODE,
    drop_frame: bool = False,
    music: MediaRef | None = None,
    media_paths: MediaPaths = "absolute",
    include_metadata: bool = True,
    codec_hint: str = "",
    project_id: int | None = None,
) -> ExportTimeline:
    """The cut of the given scenes (in order) by the rules in this module's docstring."""
    rate = rate or source_rate
    drop_frame = drop_frame or ";" in (start_timecode or "")  # "01:00:00;00" asks for drop frame
    if drop_frame and not rate.supports_drop_frame:
        raise Invalid(f"Drop-frame timecode exists only for 29.97 and 59.94 fps, not {rate.label}.", field="drop_frame")
    start_frame = parse_start(start_timecode, rate, drop_frame)
    warnings: list[str] = []
    placed: list[tuple[SourceScene, _Piece, int, int]] = []  # scene, piece, absolute start, absolute end
    spans: list[tuple[SourceScene, int, int]] = []
    offset = 0
    for scene in scenes:
        pieces = resolve_overlaps(scene.clips)
        warnings.extend(_overlap_warnings(scene, pieces))
        placed.extend((scene, piece, offset + piece.start, offset + piece.end) for piece in pieces)
        spans.append((scene, offset, offset + scene.length))
        offset += scene.length
    window = (0, offset)
    if clip_ids is not None:
        chosen = set(clip_ids)
        placed = [entry for entry in placed if entry[1].clip.clip_id in chosen]
        if placed:
            window = (min(entry[2] for entry in placed), max(entry[3] for entry in placed))
        else:
            window = (0, 0)
            warnings.append("None of the chosen clips is visible in the cut: the timeline is empty.")

    ratio = rate.fps / source_rate.fps
    numerator, denominator = ratio.numerator, ratio.denominator

    def conform(frame: int) -> int:
        """Nearest frame of the export rate (halves up), in integers: floor(x·n/d + 1/2)."""
        return (2 * (frame - window[0]) * numerator + denominator) // (2 * denominator)

    items: list[TimelineItem] = []
    cursor = 0
    for scene, piece, start, end in placed:
        record_start, record_end = conform(start), conform(end)
        if record_end <= record_start:
            warnings.append(f"“{piece.clip.name}” is shorter than one frame at {rate.label} fps and is left out.")
            continue
        if record_start > cursor:
            items.append(TimelineGap(cursor, record_start - cursor))
        source_start = conform(piece.start - piece.clip.start + window[0])
        clip = piece.clip
        items.append(
            TimelineClip(
                clip_id=clip.clip_id,
                scene_id=scene.scene_id,
                scene_name=scene.name,
                name=clip.name,
                record_start=record_start,
                duration=record_end - record_start,
                source_start=source_start,
                media=clip.media,
                image_prompt=clip.image_prompt,
                video_prompt=clip.video_prompt,
                notes=clip.notes,
                params=clip.params,
                part=piece.part,
            )
        )
        cursor = record_end
    total = conform(window[1])
    if total > cursor:
        items.append(TimelineGap(cursor, total - cursor))
    scene_spans = []
    for scene, begin, end in spans:
        begin, end = max(begin, window[0]), min(end, window[1])
        if end > begin:
            scene_spans.append(SceneSpan(scene.scene_id, scene.name, conform(begin), conform(end) - conform(begin)))
    timeline = ExportTimeline(
        name=name,
        rate=rate,
        width=width,
        height=height,
        items=tuple(items),
        scenes=tuple(scene_spans),
        project_id=project_id,
        start_frame=start_frame,
        drop_frame=drop_frame,
        music=music,
        media_paths=media_paths,
        include_metadata=include_metadata,
        codec_hint=codec_hint,
    )
    if start_frame + timeline.duration > day_frames(rate, drop_frame):
        raise Invalid(
            f"The cut runs {rate.timecode(timeline.duration, drop_frame)} from the start timecode "
            f"{rate.timecode(start_frame, drop_frame)}, past 23:59:59 where an editor's timecode wraps to zero. "
            "Choose an earlier start timecode (00:00:00:00 or 01:00:00:00).",
            field="start_timecode",
        )
    warnings.extend(media_warnings(timeline))
    return replace(timeline, warnings=tuple(warnings))


def media_warnings(timeline: ExportTimeline) -> list[str]:
    """Placeholders, files missing on disk, and videos shorter than their clip."""
    warnings: list[str] = []
    placeholders = [clip for clip in timeline.clips if clip.placeholder]
    if placeholders:
        names = ", ".join(f"“{clip.name}”" for clip in placeholders[:5]) + (" …" if len(placeholders) > 5 else "")
        warnings.append(
            f"{counted(len(placeholders), 'clip')} {agree(len(placeholders), 'has', 'have')} no selected "
            f"result and {agree(len(placeholders), 'is', 'are')} written as placeholders named "
            f"“NO MEDIA – …”: {names}."
        )
    missing = [media for media in timeline.media if not media.exists]
    if missing:
        names = ", ".join(media.stored_path for media in missing[:5]) + (" …" if len(missing) > 5 else "")
        warnings.append(
            f"{counted(len(missing), 'file')} {agree(len(missing), 'is', 'are')} missing on the server and "
            f"will open offline: {names}."
        )
    short: list[str] = []
    for clip in timeline.clips:
        media = clip.media
        if media is None or media.kind != "video" or media.seconds is None:
            continue
        available = timeline.rate.frames_in(media.seconds)
        if clip.source_start + clip.duration > available:
            short.append(f"“{clip.name}” needs {clip.source_start + clip.duration} frames, the file has {available}")
    if short:
        # One line for all of them: a long cut at another frame rate can have thousands.
        shown = "; ".join(short[:3]) + (f"; and {len(short) - 3} more" if len(short) > 3 else "")
        warnings.append(
            f"{counted(len(short), 'clip')} {agree(len(short), 'plays', 'play')} longer than their video: "
            f"{shown}. The editor will show their ends as "
            "missing media."
        )
    return warnings
