"""Checks of each export format with readers nobody on the team wrote (lxml + Apple's DTD, pycmx,
OpenTimelineIO's adapters, pyaaf2), against the neutral timeline the file was written from.

Each check raises AssertionError with what differs; the unit tests and the property tests share them.
"""

from __future__ import annotations

import io
import tempfile
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aaf2
import opentimelineio as otio
import pycmx
import pytest
from lxml import etree

from app.exports import aaf, edl, fcpxml, otio_export, xmeml
from app.exports.timeline import ExportTimeline, TimelineClip

VALIDATORS = Path(__file__).resolve().parents[2].parent / "shared" / "validators"
FCPXML_DTD = VALIDATORS / "FCPXMLv1_9.dtd"
_dtd: etree.DTD | None = None


def fcpxml_dtd() -> etree.DTD:
    """Apple's DTD from ../shared/validators beside the repository (CI always has it)."""
    global _dtd
    if not FCPXML_DTD.is_file():
        pytest.skip(f"Apple's FCPXML DTD is not at {FCPXML_DTD}: the shared validators folder is absent here")
    if _dtd is None:
        _dtd = etree.DTD(str(FCPXML_DTD))
    return _dtd


def expected_spans(timeline: ExportTimeline, absolute: bool = False) -> list[tuple[int, int]]:
    offset = timeline.start_frame if absolute else 0
    return [(clip.record_start + offset, clip.duration) for clip in timeline.clips]


def _frames(rational: otio.opentime.RationalTime, fps: float) -> int:
    value = rational.value_rescaled_to(fps)
    assert abs(value - round(value)) < 1e-6, f"{rational} is not on the frame grid"
    return round(value)


# --- FCPXML -------------------------------------------------------------------------------------------


def _file_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "file":
        assert parts.netloc in ("", "localhost"), url
        return unquote(parts.path)
    return unquote(url)


def fcp_time(text: str) -> Fraction:
    assert text.endswith("s"), text
    body = text[:-1]
    if "/" in body:
        numerator, denominator = body.split("/")
        return Fraction(int(numerator), int(denominator))
    return Fraction(int(body))


def check_fcpxml(content: bytes, timeline: ExportTimeline) -> etree._Element:
    """Valid against the DTD, every time on the frame grid, the spine contiguous, and the clips as expected."""
    dtd = fcpxml_dtd()
    root = etree.parse(io.BytesIO(content)).getroot()
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    assert root.get("version") == "1.9"
    frame = timeline.rate.frame_duration
    sequence = root.find("library/event/project/sequence")
    assert sequence is not None, "library → event → project → sequence is missing"
    sequence_format = root.find(f"resources/format[@id='{sequence.get('format')}']")
    assert fcp_time(sequence_format.get("frameDuration")) == frame
    for element in root.iter():
        for attribute in ("offset", "start", "duration", "tcStart"):
            value = element.get(attribute)
            if value is not None:
                count = fcp_time(value) / frame
                assert count.denominator == 1, f"<{element.tag} {attribute}={value}> is not a whole number of frames"
    spine = sequence.find("spine")
    # The spine's time starts at the sequence's start timecode, as Final Cut Pro and Resolve write it.
    origin = fcp_time(sequence.get("tcStart"))
    assert origin == timeline.start_frame * frame
    cursor = origin
    for child in spine:
        assert fcp_time(child.get("offset")) == cursor, f"spine hole or overlap at {child.get('offset')}"
        cursor += fcp_time(child.get("duration"))
    assert cursor - origin == fcp_time(sequence.get("duration")) == timeline.duration * frame
    assert sequence.get("tcFormat") == ("DF" if timeline.drop_frame else "NDF")
    media_elements = [child for child in spine if child.tag in ("asset-clip", "video")]
    placeholders = [child for child in spine if child.tag == "gap" and child.get("name", "").startswith("NO MEDIA")]
    with_media = [clip for clip in timeline.clips if not clip.placeholder]
    placed = [
        ((fcp_time(element.get("offset")) - origin) / frame, fcp_time(element.get("duration")) / frame)
        for element in media_elements
    ]
    assert placed == [(clip.record_start, clip.duration) for clip in with_media]
    assert len(placeholders) == sum(1 for clip in timeline.clips if clip.placeholder)
    for element, clip in zip(media_elements, with_media, strict=True):
        assert element.tag == ("video" if clip.still else "asset-clip")
        assert fcp_time(element.get("start")) / frame == clip.source_start
        asset = root.find(f"resources/asset[@id='{element.get('ref')}']")
        assert asset.find("media-rep").get("src") == timeline.media_url(clip.media)
        assert f"StoryCanvas clip {clip.clip_id}" in element.find("note").text
    return root


# --- EDL ----------------------------------------------------------------------------------------------


def check_edl(content: bytes, timeline: ExportTimeline) -> None:
    """pycmx reads a 3600 list with nothing unrecognised; OTIO's cmx_3600 adapter reads each clip's place."""
    text = content.decode("utf-8")
    rate = timeline.rate
    listing = pycmx.parse_cmx3600(io.StringIO(text))
    assert listing.format == ("3600" if timeline.clips else "unknown")
    assert list(listing.unrecognized_statements) == []
    events = list(listing.events) if timeline.clips else []
    assert len(events) == len(timeline.clips)
    for event, clip in zip(events, timeline.clips, strict=True):
        (edit,) = event.edits
        record_in = _parse_tc(edit.record_in, timeline)
        record_out = _parse_tc(edit.record_out, timeline)
        assert (record_in, record_out - record_in) == (timeline.start_frame + clip.record_start, clip.duration)
        assert (";" in edit.record_in) == timeline.drop_frame
        assert edit.black == clip.placeholder
    if not timeline.clips:
        return
    read = otio.adapters.read_from_string(text, "cmx_3600", rate=float(rate.fps))
    (track,) = read.tracks
    # The adapter offsets the track so the first event's record in is its zero (no offset when that is 0).
    offset = -_frames(track.source_range.start_time, float(rate.fps)) if track.source_range else 0
    fps = float(rate.fps)
    found = [
        (offset + _frames(item.range_in_parent().start_time, fps), _frames(item.duration(), fps))
        for item in track
        if isinstance(item, otio.schema.Clip)
    ]
    assert found == expected_spans(timeline, absolute=True)


def _parse_tc(text: str, timeline: ExportTimeline) -> int:
    from data import frames

    return frames.parse_timecode(text, float(timeline.rate.label), timeline.drop_frame)


# --- OTIO-read formats (xmeml, otio, aaf) ------------------------------------------------------------


def _check_otio_track(read: otio.schema.Timeline, timeline: ExportTimeline, placeholder_kind: type) -> None:
    fps = float(timeline.rate.fps)
    video = next(track for track in read.tracks if track.kind == otio.schema.TrackKind.Video)
    clips = [item for item in video if isinstance(item, otio.schema.Clip)]
    spans = [(_frames(c.range_in_parent().start_time, fps), _frames(c.duration(), fps)) for c in clips]
    assert spans == expected_spans(timeline)
    assert _frames(video.duration(), fps) == timeline.duration or not timeline.duration
    for found, clip in zip(clips, timeline.clips, strict=True):
        reference = found.media_reference
        if clip.placeholder:
            assert isinstance(reference, placeholder_kind), reference
            assert found.name.startswith("NO MEDIA")
        else:
            assert isinstance(reference, otio.schema.ExternalReference), reference
            # The file an editor opens: file:// or file://localhost/ (as FCP 7 writes it), percent-decoded; a
            # relative name some readers turn into "file://" + name.
            url = timeline.media_url(clip.media)
            target = reference.target_url
            assert target in (url, "file://" + url) or _file_path(target) == _file_path(url), target
            start = _frames(found.source_range.start_time, fps) - _frames(reference.available_range.start_time, fps)
            assert start == clip.source_start
    if read.global_start_time is not None:
        assert _frames(read.global_start_time, fps) == timeline.start_frame


def check_xmeml(content: bytes, timeline: ExportTimeline) -> None:
    read = otio.adapters.read_from_string(content.decode("utf-8"), "fcp_xml")
    if isinstance(read, otio.schema.SerializableCollection):
        (read,) = list(read)
    _check_otio_track(read, timeline, otio.schema.GeneratorReference)
    assert read.name == timeline.name


def check_otio(content: bytes, timeline: ExportTimeline) -> None:
    read = otio.adapters.read_from_string(content.decode("utf-8"), "otio_json")
    _check_otio_track(read, timeline, otio.schema.MissingReference)
    for found, clip in zip(read.find_clips(), timeline.clips, strict=False):
        assert found.metadata["storycanvas"]["clip_id"] == clip.clip_id


def check_aaf(content: bytes, timeline: ExportTimeline) -> None:
    """pyaaf2 finds the top-level composition with its primary timecode and picture tracks, master and file mobs
    with locators; OTIO's AAF adapter reads the clips back with their media URLs."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cut.aaf"
        path.write_bytes(content)
        with aaf2.open(str(path), "r") as reader:
            (composition,) = list(reader.content.toplevel())
            assert composition.name == timeline.name
            timecode_slot, picture_slot = list(composition.slots)
            assert timecode_slot["PhysicalTrackNumber"].value == 1
            assert isinstance(timecode_slot.segment, aaf2.components.Timecode)
            assert timecode_slot.segment.start == timeline.start_frame
            assert timecode_slot.segment.drop == timeline.drop_frame
            assert Fraction(str(picture_slot.edit_rate)) == timeline.rate.fps
            components = list(picture_slot.segment.components)
            assert [c.length for c in components] == [item.duration for item in timeline.items]
            for component, item in zip(components, timeline.items, strict=True):
                if not isinstance(item, TimelineClip):
                    assert isinstance(component, aaf2.components.Filler)
                    continue
                assert isinstance(component, aaf2.components.SourceClip)
                master = component.mob
                assert isinstance(master, aaf2.mobs.MasterMob)
                assert master.name == item.display_name
                assert f"StoryCanvas clip {item.clip_id}" in master.comments["Comments"]
                assert master.comments["Scene"] == item.scene_name
                if item.media is not None:
                    assert component.start == item.source_start
                    file_mob = master.slot_at(1).segment.mob
                    (locator,) = list(file_mob.descriptor["Locator"].value)
                    assert locator["URLString"].value == timeline.media_url(item.media)
        if timeline.clips:
            read = otio.adapters.read_from_file(str(path), "AAF")
            _check_otio_track(read, timeline, otio.schema.MissingReference)


CHECKS = {
    "fcpxml": (fcpxml, check_fcpxml),
    "edl": (edl, check_edl),
    "xmeml": (xmeml, check_xmeml),
    "otio": (otio_export, check_otio),
    "aaf": (aaf, check_aaf),
}
