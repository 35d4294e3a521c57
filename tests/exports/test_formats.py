"""Each format written from a real project and read back by other people's readers (see readers.py)."""

from __future__ import annotations

import io

import aaf2
import opentimelineio as otio
import pycmx
import pytest
from lxml import etree

from app.exports import aaf, edl, fcpxml, otio_export, xmeml
from app.services.project_cut import load_cut
from tests.exports.readers import (
    check_aaf,
    check_edl,
    check_fcpxml,
    check_otio,
    check_xmeml,
)

RATE_CASES = [("23.976", False), ("24", False), ("25", False), ("29.97", True), ("29.97", False), ("59.94", True)]


@pytest.mark.parametrize(("rate", "drop"), RATE_CASES)
def test_fcpxml_is_valid_on_the_frame_grid_and_contiguous(db, film, rate, drop):
    timeline = load_cut(db, film.owner, film.project.id, frame_rate=rate, drop_frame=drop)
    root = check_fcpxml(fcpxml.write(timeline).content, timeline)
    spine = root.find("library/event/project/sequence/spine")
    assert [child.tag for child in spine] == ["asset-clip", "video", "gap", "gap", "asset-clip", "video", "asset-clip"]
    assert spine[3].get("name") == "NO MEDIA – Gull"
    music = spine[0].find("asset-clip")
    assert music.get("lane") == "-1" and music.get("name") == "Music"
    assert [marker.get("value") for marker in root.iter("marker")] == ["Scene: Harbour", "Scene: Lighthouse"]
    still = root.find(f"resources/asset[@id='{spine[1].get('ref')}']")
    still_format = root.find(f"resources/format[@id='{still.get('format')}']")
    assert still_format.get("name") == "FFVideoFormatRateUndefined" and still.get("duration") == "0s"


def test_fcpxml_frame_times_at_23976_are_multiples_of_1001_over_24000(db, film):
    timeline = load_cut(db, film.owner, film.project.id, frame_rate="23.976")
    text = fcpxml.write(timeline).content.decode()
    assert 'frameDuration="1001/24000s"' in text
    # The still at frame 48 of the cut: the spine starts at the sequence's 01:00:00:00 (86,400 frames).
    assert f'offset="{(86400 + 48) * 1001}/24000s"' in text


@pytest.mark.parametrize(("rate", "drop"), [("24", False), ("25", False), ("29.97", True), ("29.97", False)])
def test_edl_reads_back_in_pycmx_and_opentimelineio(db, film, rate, drop):
    timeline = load_cut(db, film.owner, film.project.id, frame_rate=rate, drop_frame=drop)
    content = edl.write(timeline).content
    check_edl(content, timeline)
    lines = content.decode().splitlines()
    assert lines[0] == "TITLE: Moonrise"
    assert lines[1] == ("FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME")
    events = [line for line in lines if line[:3].isdigit()]
    assert {len(line) for line in events} == {76}  # fixed columns
    assert events[0].startswith("001  AX       V     C        00:00:00")
    assert events[0].endswith("01:00:00;00 01:00:02;00" if drop else "01:00:00:00 01:00:02:00")
    assert events[2].startswith("003  BL       V     C")  # the placeholder is black
    assert any(line.startswith("* STILL IMAGE:") for line in lines)


def test_edl_record_start_option_and_drop_frame_across_a_minute(db, make_user, make_project):
    from app.services import clips, scenes

    owner = make_user("editor")
    project = make_project(owner, "Long", fps=29.97)
    scene = scenes.create_scene(db, owner, project.id, "One")
    clips.create_clip(db, owner, scene.id, start_frame=0, duration_frames=1800, label="A")  # 60.06 s
    clips.create_clip(db, owner, scene.id, start_frame=1800, duration_frames=30, label="B")
    timeline = load_cut(db, owner, project.id, drop_frame=True, start_timecode="00:59:00;02")
    content = edl.write(timeline).content
    check_edl(content, timeline)
    listing = pycmx.parse_cmx3600(io.StringIO(content.decode()))
    second = list(listing.events)[1].edits[0]
    # Minute 59 holds 1798 frames (;00 and ;01 are skipped); minute 60, a tenth minute, skips none.
    assert second.record_in == "01:00:00;02"


@pytest.mark.parametrize(("rate", "drop"), [("24", False), ("29.97", True), ("25", False)])
def test_fcp7_xml_reads_back_in_opentimelineio(db, film, rate, drop):
    timeline = load_cut(db, film.owner, film.project.id, frame_rate=rate, drop_frame=drop)
    content = xmeml.write(timeline).content
    check_xmeml(content, timeline)
    text = content.decode()
    assert '<xmeml version="4">' in text and "<duration>" in text and "<pathurl>file://localhost/" in text
    # As Final Cut Pro 7 writes them: file://localhost/ and the path percent-encoded.
    urls = [element.text for element in etree.fromstring(content).iter("pathurl")]
    assert urls and all(url.startswith("file://localhost/") and url.isascii() and " " not in url for url in urls)
    read = otio.adapters.read_from_string(text, "fcp_xml")
    audio = [track for track in read.tracks if track.kind == otio.schema.TrackKind.Audio]
    assert audio and audio[0][0].media_reference.target_url.endswith("theme.wav")


@pytest.mark.parametrize(("rate", "drop"), [("24", False), ("29.97", True)])
def test_aaf_reads_back_in_pyaaf2_and_opentimelineio_with_media_urls(db, film, rate, drop):
    timeline = load_cut(db, film.owner, film.project.id, frame_rate=rate, drop_frame=drop)
    check_aaf(aaf.write(timeline).content, timeline)


def test_aaf_master_mobs_carry_prompts_when_asked(db, film, tmp_path):
    timeline = load_cut(db, film.owner, film.project.id)
    path = tmp_path / "cut.aaf"
    path.write_bytes(aaf.write(timeline).content)
    with aaf2.open(str(path), "r") as reader:
        pier = next(mob for mob in reader.content.mastermobs() if mob.name == "Pier")
        assert "Image prompt: a pier at dusk" in pier.comments["Comments"]
    bare = load_cut(db, film.owner, film.project.id, include_metadata=False)
    path.write_bytes(aaf.write(bare).content)
    with aaf2.open(str(path), "r") as reader:
        pier = next(mob for mob in reader.content.mastermobs() if mob.name == "Pier")
        assert "Image prompt" not in pier.comments["Comments"]


def test_otio_reads_back_with_metadata_and_scene_markers(db, film):
    timeline = load_cut(db, film.owner, film.project.id)
    content = otio_export.write(timeline).content
    check_otio(content, timeline)
    read = otio.adapters.read_from_string(content.decode(), "otio_json")
    assert [marker.name for marker in read.tracks[0].markers] == ["Scene: Harbour", "Scene: Lighthouse"]
    beam = next(clip for clip in read.find_clips() if clip.name == "Beam")
    assert beam.metadata["storycanvas"]["params"] == {"seed": 7, "steps": 20}


def test_relative_media_paths_point_into_the_package_folder(db, film):
    timeline = load_cut(db, film.owner, film.project.id, media_paths="relative")
    text = fcpxml.write(timeline).content.decode()
    assert 'src="media/pier-' in text and "file://" not in text
    check_xmeml(xmeml.write(timeline).content, timeline)
    written = fcpxml.write(timeline)
    assert any("relink" in warning.lower() for warning in written.warnings)


def test_an_empty_project_exports_in_every_format(db, make_user, make_project):
    owner = make_user("empty")
    project = make_project(owner, "Nothing yet")
    timeline = load_cut(db, owner, project.id)
    assert timeline.items == ()
    check_fcpxml(fcpxml.write(timeline).content, timeline)
    check_edl(edl.write(timeline).content, timeline)
    check_aaf(aaf.write(timeline).content, timeline)
    check_otio(otio_export.write(timeline).content, timeline)
