"""DaVinci Resolve / Premiere: Final Cut Pro 7 XML (xmeml version 4).

Every element editors were seen to need is written: the sequence's duration, rate (timebase + ntsc)
and start timecode on the sequence, on each clip and each file, and `file` elements with a `pathurl`.
Holes are left to the clips' start/end frames (xmeml has no gap element); placeholders are Slug
generators named "NO MEDIA – …". Prompts go into the clip's logging description, its identity into
master comment 1, scenes into sequence markers; the music is an audio track.
"""

from __future__ import annotations

from lxml import etree

from .notes import identity, note_lines
from .timeline import ExportTimeline, MediaRef, Rate, TimelineClip, Written

FORMAT = "xmeml"
EXTENSION = "xml"
MEDIA_TYPE = "application/xml"


def _sub(parent: etree._Element, tag: str, text: str | int | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _rate(parent: etree._Element, rate: Rate) -> None:
    element = _sub(parent, "rate")
    _sub(element, "timebase", rate.timebase)
    _sub(element, "ntsc", "TRUE" if rate.ntsc else "FALSE")


def _timecode(parent: etree._Element, rate: Rate, count: int, drop: bool) -> None:
    element = _sub(parent, "timecode")
    _rate(element, rate)
    _sub(element, "string", rate.timecode(count, drop))
    _sub(element, "frame", count)
    _sub(element, "displayformat", "DF" if drop else "NDF")


class _Files:
    """A file is written in full once; later clips refer to it by id, as FCP 7 does."""

    def __init__(self, timeline: ExportTimeline) -> None:
        self.timeline = timeline
        self.written: set[str] = set()
        self.lengths: dict[str, int] = {}
        for clip in timeline.clips:
            if clip.media is not None:
                key, needed = clip.media.key, clip.source_start + clip.duration
                self.lengths[key] = max(self.lengths.get(key, 0), needed)

    def length(self, media: MediaRef) -> int:
        rate = self.timeline.rate
        known = rate.frames_in(media.seconds) if media.seconds and media.kind != "still" else 0
        return max(known, self.lengths.get(media.key, 0), 1)

    def add(self, parent: etree._Element, media: MediaRef) -> None:
        ident = f"file-{media.key}"
        if media.key in self.written:
            etree.SubElement(parent, "file", id=ident)
            return
        self.written.add(media.key)
        timeline, rate = self.timeline, self.timeline.rate
        element = etree.SubElement(parent, "file", id=ident)
        _sub(element, "name", media.file_name)
        _sub(element, "pathurl", timeline.fcp7_url(media))
        _rate(element, rate)
        _sub(element, "duration", self.length(media))
        _timecode(element, rate, 0, timeline.drop_frame)
        kinds = _sub(element, "media")
        if media.kind == "audio":
            audio = _sub(kinds, "audio")
            samples = _sub(audio, "samplecharacteristics")
            _sub(samples, "depth", 16)
            _sub(samples, "samplerate", 48000)
            _sub(audio, "channelcount", 2)
        else:
            video = _sub(kinds, "video")
            samples = _sub(video, "samplecharacteristics")
            _rate(samples, rate)
            _sub(samples, "width", media.width or timeline.width)
            _sub(samples, "height", media.height or timeline.height)
            _sub(samples, "pixelaspectratio", "square")
            _sub(samples, "fielddominance", "none")


def _timing(element: etree._Element, rate: Rate, length: int, start: int, end: int, source_in: int) -> None:
    _sub(element, "duration", length)
    _rate(element, rate)
    _sub(element, "start", start)
    _sub(element, "end", end)
    _sub(element, "in", source_in)
    _sub(element, "out", source_in + end - start)


def _clip_item(track: etree._Element, clip: TimelineClip, index: int, files: _Files, timeline: ExportTimeline) -> None:
    rate = timeline.rate
    if clip.media is None:
        item = etree.SubElement(track, "generatoritem", id=f"generatoritem-{index}")
        _sub(item, "name", clip.display_name)
        _sub(item, "enabled", "TRUE")
        _timing(item, rate, clip.duration, clip.record_start, clip.record_end, 0)
        effect = _sub(item, "effect")
        _sub(effect, "name", "Slug")
        _sub(effect, "effectid", "Slug")
        _sub(effect, "effectcategory", "Matte")
        _sub(effect, "effecttype", "generator")
        _sub(effect, "mediatype", "video")
    else:
        item = etree.SubElement(track, "clipitem", id=f"clipitem-{index}")
        _sub(item, "name", clip.name)
        _sub(item, "enabled", "TRUE")
        _timing(item, rate, files.length(clip.media), clip.record_start, clip.record_end, clip.source_start)
        if clip.still:
            _sub(item, "stillframe", "TRUE")
        files.add(item, clip.media)
        source = _sub(item, "sourcetrack")
        _sub(source, "mediatype", "video")
        _sub(source, "trackindex", 1)
    logging = _sub(item, "logginginfo")
    _sub(logging, "description", "\n".join(note_lines(clip, timeline.include_metadata)[1:]))
    _sub(logging, "scene", clip.scene_name)
    comments = _sub(item, "comments")
    _sub(comments, "mastercomment1", identity(clip))


def write(timeline: ExportTimeline) -> Written:
    rate = timeline.rate
    root = etree.Element("xmeml", version="4")
    sequence = etree.SubElement(root, "sequence", id="sequence-1")
    _sub(sequence, "name", timeline.name)
    _sub(sequence, "duration", timeline.duration)
    _rate(sequence, rate)
    _timecode(sequence, rate, timeline.start_frame, timeline.drop_frame)
    media = _sub(sequence, "media")
    video = _sub(media, "video")
    video_format = _sub(video, "format")
    samples = _sub(video_format, "samplecharacteristics")
    _rate(samples, rate)
    _sub(samples, "width", timeline.width)
    _sub(samples, "height", timeline.height)
    _sub(samples, "pixelaspectratio", "square")
    _sub(samples, "fielddominance", "none")
    if timeline.codec_hint:
        codec = _sub(samples, "codec")
        _sub(codec, "name", timeline.codec_hint)
    track = _sub(video, "track")
    files = _Files(timeline)
    for index, clip in enumerate(timeline.clips, start=1):
        _clip_item(track, clip, index, files, timeline)
    _sub(track, "enabled", "TRUE")
    _sub(track, "locked", "FALSE")
    audio = _sub(media, "audio")
    if timeline.music is not None and timeline.duration:
        music = timeline.music
        audio_track = _sub(audio, "track")
        item = etree.SubElement(audio_track, "clipitem", id="clipitem-music")
        _sub(item, "name", "Music")
        _sub(item, "enabled", "TRUE")
        length = files.length(music)
        _timing(item, rate, length, 0, min(length, timeline.duration), 0)
        files.add(item, music)
        source = _sub(item, "sourcetrack")
        _sub(source, "mediatype", "audio")
        _sub(source, "trackindex", 1)
    for scene in timeline.scenes:
        marker = _sub(sequence, "marker")
        _sub(marker, "name", f"Scene: {scene.name}")
        _sub(marker, "comment", f"StoryCanvas scene {scene.scene_id}")
        _sub(marker, "in", scene.record_start)
        _sub(marker, "out", -1)
    warnings: list[str] = []
    if timeline.media_paths == "relative" and timeline.media:
        warnings.append(
            "FCP 7 XML: relative media paths open in DaVinci Resolve; Premiere asks to locate the media folder."
        )
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True, doctype="<!DOCTYPE xmeml>")
    return Written(body, warnings)
