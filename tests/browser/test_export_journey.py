"""A director exports the cut for an editor and brings a project back from its JSON export.

The downloaded files are read by parsers nobody on the team wrote: pycmx for the EDL, lxml with
Apple's DTD for the FCPXML.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pycmx
from lxml import etree
from playwright.sync_api import Page, expect

from tests.exports.readers import fcpxml_dtd

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "ines"
PASSWORD = "tide-tables-77"


def _choose(page: Page, testid: str, option: str) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option).click()


def test_export_edl_and_fcpxml_then_import_the_json(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    api = live_server.api(USERNAME, PASSWORD)
    project = api.post("/projects", json={"name": "Tide Tables", "fps": 24}).json()
    harbour = api.post(f"/projects/{project['id']}/scenes", json={"name": "Harbour"}).json()
    sea = api.post(f"/projects/{project['id']}/scenes", json={"name": "Open sea"}).json()
    api.post(f"/scenes/{harbour['id']}/clips", json={"start": 0, "duration": 2, "label": "Pier"})
    api.post(f"/scenes/{harbour['id']}/clips", json={"start": 3, "duration": 1.5, "label": "Gulls"})
    api.post(f"/scenes/{sea['id']}/clips", json={"start": 0, "duration": 4, "label": "Swell", "image_prompt": "waves"})

    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project['id']}")
    wait_ready(page)
    page.keyboard.press("e")  # the dashboard's shortcut for Export
    dialog = page.get_by_test_id("export-dialog")
    expect(dialog.get_by_test_id("export-summary")).to_contain_text("24 fps")
    page.keyboard.press("e")  # an open dialog owns the keyboard: no second one
    expect(page.get_by_test_id("export-dialog")).to_have_count(1)
    expect(dialog.get_by_test_id("export-preview")).to_contain_text("3 clips")
    expect(dialog.get_by_test_id("export-preview")).to_contain_text("NO MEDIA")
    shot(page, "export-dialog")

    # FCPXML (the default format): valid against Apple's DTD.
    with page.expect_download() as fcpxml_download:
        dialog.get_by_test_id("export-download").click()
    fcpxml = fcpxml_download.value
    assert fcpxml.suggested_filename.endswith(".fcpxml")
    document = etree.parse(fcpxml.path())
    assert fcpxml_dtd().validate(document), fcpxml_dtd().error_log.filter_from_errors()

    # EDL: a CMX3600 list pycmx reads, one event per clip, the record start at 01:00:00:00.
    _choose(page, "export-format", "Premiere / Avid (CMX3600 EDL)")
    expect(dialog.get_by_test_id("export-summary")).to_contain_text("CMX3600")
    with page.expect_download() as edl_download:
        dialog.get_by_test_id("export-download").click()
    edl = edl_download.value
    assert edl.suggested_filename.endswith(".edl")
    with open(edl.path()) as handle:
        parsed = pycmx.parse_cmx3600(handle)
    edits = [event.edits[0] for event in parsed.events]
    names = [edit.clip_name for edit in edits if edit.clip_name]
    assert any("Pier" in name for name in names) and any("Swell" in name for name in names), names
    assert str(edits[0].record_in) == "01:00:00:00"

    # JSON, then Import on the projects page: a second project with the same scenes and clips.
    _choose(page, "export-format", "StoryCanvas project (JSON)")
    with page.expect_download() as json_download:
        dialog.get_by_test_id("export-download").click()
    exported = tmp_path / json_download.value.suggested_filename
    json_download.value.save_as(exported)
    assert exported.name.endswith(".storycanvas.json")
    assert json.loads(exported.read_text())["schema"] == "storycanvas.project"
    page.keyboard.press("Escape")
    page.goto(f"{live_server.url}/projects")
    wait_ready(page)
    page.get_by_test_id("import-project").click()
    page.get_by_test_id("project-import-upload").locator("input[type=file]").set_input_files(exported)
    page.wait_for_url(re.compile(rf"/projects/(?!{project['id']}$)\d+$"))
    wait_ready(page)
    expect(page.get_by_text("Harbour").first).to_be_visible()
    expect(page.get_by_text("Open sea").first).to_be_visible()
    shot(page, "imported")
    listing = api.get("/projects").json()
    copies = [p for p in (listing["items"] if isinstance(listing, dict) else listing) if p["id"] != project["id"]]
    assert len(copies) == 1 and copies[0]["name"].startswith("Tide Tables")
