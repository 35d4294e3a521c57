"""Image to image from an uploaded picture: the picture the director uploads is the one ComfyUI loads.

Before, the graph kept its placeholder `example.png`, which a real ComfyUI has in its input folder: the job
"succeeded" with ComfyUI's sample picture. Here the fake ComfyUI must receive the uploaded bytes through
/upload/image, and the queued graph's LoadImage must name exactly that file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.fake_comfyui import FakeComfyUI
from tests.fakes.fake_media import png_bytes

from .conftest import LiveServer, shot, sign_in, wait_ready, wait_until

USERNAME = "iris"
PASSWORD = "harbour-lights-7"
MODEL = "dreamshaper_8.safetensors"


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI(job_seconds=1.0).start()
    yield fake
    fake.stop()


def _pick(page: Page, select_testid: str, option: str) -> None:
    page.get_by_test_id(select_testid).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_image_to_image_sends_the_uploaded_picture(
    live_server: LiveServer, page: Page, comfy: FakeComfyUI, tmp_path: Path
) -> None:
    live_server.create_user(USERNAME, PASSWORD, admin=True)
    api = live_server.api(USERNAME, PASSWORD)
    server = api.post("/servers", json={"name": "Studio GPU", "url": comfy.url, "max_jobs": 1}).json()
    api.post(f"/servers/{server['id']}/catalog/refresh")
    wait_until(lambda: api.get(f"/servers/{server['id']}").json()["status"] == "online")
    project = api.post("/projects", json={"name": "Harbour", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Quay"}).json()
    body = {"start": 0, "duration": 3, "label": "Crane", "image_prompt": "a crane at dawn, oil painting"}
    clip_id = api.post(f"/scenes/{scene['id']}/clips", json=body).json()["id"]
    picture = png_bytes(96, 64, seed="crane sketch")
    sketch = tmp_path / "crane-sketch.png"
    sketch.write_bytes(picture)
    renamed = tmp_path / "notes.png"
    renamed.write_text("shopping list: rope, paint\n" * 5)

    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene['id']}")
    wait_ready(page)
    page.locator(f"[data-clip-id='{clip_id}']").click()
    page.get_by_test_id("generate-more").click()
    dialog = page.get_by_test_id("generation-dialog")
    expect(dialog).to_be_visible()
    picker = dialog.get_by_test_id("dialog-start-picture")
    expect(picker).to_be_hidden()  # text to image loads no picture

    _pick(page, "dialog-workflow", "Image to image")
    expect(picker).to_be_visible()
    expect(dialog.get_by_test_id("dialog-face-picture")).to_be_hidden()

    # Without a picture the request is refused before anything is queued.
    dialog.get_by_test_id("dialog-generate").click()
    expect(dialog.get_by_test_id("dialog-result")).to_contain_text("needs the picture it starts from")
    assert comfy.prompts == []

    # A text file renamed .png is refused with the reason.
    picker.locator("input[type=file]").set_input_files(str(renamed))
    expect(picker.get_by_test_id("dialog-start-picture-message")).to_contain_text("is not a picture")

    picker.locator("input[type=file]").set_input_files(str(sketch))
    expect(picker.get_by_test_id("dialog-start-picture-select")).to_have_value("crane-sketch.png · 96×64 · uploaded")
    thumbnail = picker.get_by_test_id("dialog-start-picture-thumbnail").locator("img")
    expect(thumbnail).to_have_attribute("src", re.compile(r"/input-images/[0-9a-f]{32}/file$"))
    expect(picker.get_by_test_id("dialog-start-picture-message")).to_be_hidden()
    page.mouse.move(5, 5)
    shot(page, "dialog-image-to-image-dark")

    dialog.get_by_test_id("dialog-generate").click()
    expect(dialog.get_by_test_id("dialog-result")).to_contain_text(re.compile(r"[Qq]ueued"))
    expect(dialog.get_by_test_id("dialog-jobs-summary")).to_contain_text("1 of 1 done", timeout=30_000)

    assert len(comfy.prompts) == 1
    graph = comfy.prompts[0]["graph"]
    loaded = graph["10"]["inputs"]["image"]
    assert graph["10"]["class_type"] == "LoadImage" and loaded != "example.png"
    subfolder, _, name = loaded.rpartition("/")
    assert comfy.uploaded_file(name, subfolder) == picture
    assert [(u["name"], u["subfolder"]) for u in comfy.uploads] == [(name, subfolder)]

    # Light theme: the upload is offered again to the next generation of the project.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Toggle dark or light theme").click()
    page.get_by_test_id("generate-more").click()
    expect(dialog).to_be_visible()
    _pick(page, "dialog-workflow", "Image to image")
    _pick(page, "dialog-start-picture-select", "crane-sketch.png · 96×64 · uploaded")
    expect(thumbnail).to_have_attribute("src", re.compile(r"/input-images/[0-9a-f]{32}/file$"))
    page.mouse.move(5, 5)
    shot(page, "dialog-image-to-image-light")
