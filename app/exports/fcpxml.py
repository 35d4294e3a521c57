"""Final Cut Pro: FCPXML 1.9, valid against Apple's DTD.

library → event → project → sequence → spine, as Final Cut Pro and Resolve both want. Videos are
`asset-clip`s, stills `video` elements on an asset with a rate-less format, holes and placeholders `gap`s.
Every time is k × the sequence's frame duration written as a fraction ("1001/24000s" steps at 23.976),
and spine offsets run end to end from the sequence's start timecode (tcStart). The music, when the
project has one, is a connected clip under the first spine element (lane -1).
"""

from __future__ import annotations

from lxml import etree

from .notes import note_lines
from .timeline import ExportTimeline, MediaRef, Rate, TimelineClip, TimelineGap, Written

FORMAT = "fcpxml"
EXTENSION = "fcpxml"
MEDIA_TYPE = "application/xml"
VERSION = "1.9"
_FORMAT_CODES = {
    "23.976": "2398",
    "24": "24",
    "25": "25",
    "29.97": "2997",
    "30": "30",
    "50": "50",
    "59.94": "5994",
    "60": "60",
}
_NAMED_SIZES = {(1280, 720): "720p", (1920, 1080): "1080p", (3840, 2160): "3840x2160p"}


class Clock:
    """Frames as FCPXML times: k × frameDuration, as Final Cut Pro writes them (1001/30000s per frame at 29.97)."""

    def __init__(self, rate: Rate) -> None:
        if rate.ntsc:
            self.numerator, self.denominator = 1001, rate.timebase * 1000
        else:
            self.numerator, self.denominator = 100, rate.timebase * 100

    @property
    def frame_duration(self) -> str:
        return f"{self.numerator}/{self.denominator}s"

    def __call__(self, count: int) -> str:
        value = count * self.numerator
        if value == 0:
            return "0s"
        if value % self.denominator == 0:
            return f"{value // self.denominator}s"
        return f"{value}/{self.denominator}s"


def _format_name(rate: Rate, width: int, height: int) -> str | None:
    size = _NAMED_SIZES.get((width, height))
    return f"FFVideoFormat{size}{_FORMAT_CODES[rate.label]}" if size else None


class _Resources:
    """Formats and assets, each once, with ids r1, r2… in order of first use."""

    def __init__(self, timeline: ExportTimeline, clock: Clock, element: etree._Element) -> None:
        self.timeline, self.clock, self.element = timeline, clock, element
        self.count = 0
        self.formats: dict[tuple[str, int, int], str] = {}
        self.assets: dict[str, str] = {}
        self.format_elements: list[etree._Element] = []
        self.asset_elements: list[etree._Element] = []
        self.sequence_format = self.format("video", timeline.width, timeline.height)

    def finish(self) -> None:
        """Formats first, then the assets that refer to them, as Final Cut Pro writes them."""
        self.element.extend(self.format_elements + self.asset_elements)

    def _next(self) -> str:
        self.count += 1
        return f"r{self.count}"

    def format(self, kind: str, width: int, height: int) -> str:
        key = (kind, width, height)
        if key not in self.formats:
            ident = self._next()
            attributes = {"id": ident}
            if kind == "still":
                attributes.update(name="FFVideoFormatRateUndefined", width=str(width), height=str(height))
                attributes["colorSpace"] = "1-13-1"
            else:
                name = _format_name(self.timeline.rate, width, height)
                if name:
                    attributes["name"] = name
                attributes.update(
                    frameDuration=self.clock.frame_duration, width=str(width), height=str(height), colorSpace="1-1-1"
                )
            self.format_elements.append(etree.Element("format", attributes))
            self.formats[key] = ident
        return self.formats[key]

    def asset(self, media: MediaRef, frames_needed: int) -> str:
        if media.key in self.assets:
            return self.assets[media.key]
        ident = self._next()
        width = media.width or self.timeline.width
        height = media.height or self.timeline.height
        attributes = {"id": ident, "name": media.file_name.rsplit(".", 1)[0], "start": "0s"}
        if media.kind == "still":
            attributes.update(duration="0s", hasVideo="1", format=self.format("still", width, height))
            attributes["videoSources"] = "1"
        elif media.kind == "video":
            available = self.timeline.rate.frames_in(media.seconds) if media.seconds else 0
            attributes.update(duration=self.clock(max(available, frames_needed)), hasVideo="1")
            attributes.update(format=self.format("video", width, height), videoSources="1")
        else:  # the music
            available = self.timeline.rate.frames_in(media.seconds) if media.seconds else frames_needed
            attributes.update(duration=self.clock(available), hasAudio="1", audioSources="1")
            attributes.update(audioChannels="2", audioRate="48000")
        asset = etree.Element("asset", attributes)
        self.asset_elements.append(asset)
        etree.SubElement(asset, "media-rep", kind="original-media", src=self.timeline.media_url(media))
        self.assets[media.key] = ident
        return ident


def _frames_needed(timeline: ExportTimeline) -> dict[str, int]:
    needed: dict[str, int] = {}
    for clip in timeline.clips:
        if clip.media is not None:
            needed[clip.media.key] = max(needed.get(clip.media.key, 0), clip.source_start + clip.duration)
    return needed


def _scene_markers(timeline: ExportTimeline) -> dict[int, list[tuple[int, str]]]:
    """Record frame of each scene's start → the scene names starting there, for markers on the element there."""
    found: dict[int, list[tuple[int, str]]] = {}
    for scene in timeline.scenes:
        found.setdefault(scene.record_start, []).append((scene.record_start, f"Scene: {scene.name}"))
    return found


def write(timeline: ExportTimeline) -> Written:
    clock = Clock(timeline.rate)
    root = etree.Element("fcpxml", version=VERSION)
    resources = _Resources(timeline, clock, etree.SubElement(root, "resources"))
    needed = _frames_needed(timeline)
    library = etree.SubElement(root, "library")
    event = etree.SubElement(library, "event", name=f"{timeline.name} (StoryCanvas)")
    project = etree.SubElement(event, "project", name=timeline.name)
    sequence = etree.SubElement(
        project,
        "sequence",
        format=resources.sequence_format,
        duration=clock(timeline.duration),
        tcStart=clock(timeline.start_frame),
        tcFormat="DF" if timeline.drop_frame else "NDF",
        audioLayout="stereo",
        audioRate="48k",
    )
    spine = etree.SubElement(sequence, "spine")
    # The spine's time starts at the sequence's start timecode, as Final Cut Pro and Resolve write it: an
    # element at offset 0 with tcStart 01:00:00:00 would sit an hour before the sequence starts.
    origin = timeline.start_frame
    markers = _scene_markers(timeline)
    pending = sorted(markers)
    first: tuple[etree._Element, int] | None = None
    for item in timeline.items:
        local_start = item.source_start if isinstance(item, TimelineClip) and not item.placeholder else 0
        if isinstance(item, TimelineGap):
            element = etree.SubElement(
                spine, "gap", name="Gap", offset=clock(origin + item.record_start), duration=clock(item.duration)
            )
        elif item.placeholder:
            element = etree.SubElement(
                spine,
                "gap",
                name=item.display_name,
                offset=clock(origin + item.record_start),
                duration=clock(item.duration),
            )
        else:
            assert item.media is not None
            tag = "video" if item.still else "asset-clip"
            element = etree.SubElement(
                spine,
                tag,
                ref=resources.asset(item.media, needed[item.media.key]),
                offset=clock(origin + item.record_start),
                name=item.name,
                start=clock(item.source_start),
                duration=clock(item.duration),
            )
            if tag == "asset-clip":
                element.set("tcFormat", "DF" if timeline.drop_frame else "NDF")
        if isinstance(item, TimelineClip):
            note = etree.SubElement(element, "note")
            note.text = "\n".join(note_lines(item, timeline.include_metadata))
        if first is None:
            first = (element, local_start)
        while pending and pending[0] < item.record_end:
            at = pending.pop(0)
            for _, value in markers[at]:
                etree.SubElement(
                    element, "marker", start=clock(local_start + at - item.record_start), duration=clock(1), value=value
                )
    warnings: list[str] = []
    if timeline.music is not None and first is not None:
        element, local_start = first
        music = timeline.music
        length = timeline.rate.frames_in(music.seconds) if music.seconds else timeline.duration
        connected = etree.Element(
            "asset-clip",
            ref=resources.asset(music, timeline.duration),
            lane="-1",
            offset=clock(local_start),
            name="Music",
            start="0s",
            duration=clock(max(1, min(length, timeline.duration))),
            audioRole="music",
        )
        # Connected clips come before markers (and after a note) in the DTD's order.
        position = 1 if len(element) and element[0].tag == "note" else 0
        element.insert(position, connected)
    resources.finish()
    if timeline.media_paths == "relative" and timeline.media:
        warnings.append(
            "FCPXML: Final Cut Pro links media by absolute file URLs; with relative paths it asks you to relink "
            "(File → Relink Files) to the media folder. DaVinci Resolve finds relative media next to the file."
        )
    if timeline.codec_hint:
        warnings.append(f"FCPXML has no place for a codec hint (“{timeline.codec_hint}”); it is left out.")
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True, doctype="<!DOCTYPE fcpxml>")
    return Written(body, warnings)
