"""A workflow that loads no model (an imported blur) generates without one: the dialog hides its Model and LoRA
fields, says why, and the job reaches ComfyUI without a checkpoint."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.fake_comfyui import FakeComfyUI

from .conftest import LiveServer, shot, sign_in, wait_ready, wait_until

USERNAME = "wren"
PASSWORD = "harbour-lights-8"
BLUR = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
    "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 3, "sigma": 1.0}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "blur"}},
}


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI(job_seconds=0.5).start()
    yield fake
    fake.stop()


def test_a_workflow_that_loads_no_model_generates_without_one(
    live_server: LiveServer, page: Page, comfy: FakeComfyUI
) -> None:
    live_server.create_user(USERNAME, PASSWORD, admin=True)
    api = live_server.api(USERNAME, PASSWORD)
    server = api.post("/servers", json={"name": "Studio GPU", "url": comfy.url, "max_jobs": 1}).json()
    api.post(f"/servers/{server['id']}/catalog/refresh")
    wait_until(lambda: api.get(f"/servers/{server['id']}").json()["status"] == "online")
    bindings = {"width": {"node": "1", "input": "width"}, "height": {"node": "1", "input": "height"}}
    made = api.post("/workflows", json={"name": "Soft blur", "kind": "image", "graph": BLUR, "bindings": bindings})
    assert made.status_code == 201, made.text
    project = api.post("/projects", json={"name": "Harbour", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Quay"}).json()
    body = {"start": 0, "duration": 3, "label": "Fog", "image_prompt": "fog over the quay"}
    clip_id = api.post(f"/scenes/{scene['id']}/clips", json=body).json()["id"]

    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene['id']}")
    wait_ready(page)
    page.locator(f"[data-clip-id='{clip_id}']").click()
    page.get_by_test_id("generate-more").click()
    dialog = page.get_by_test_id("generation-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("dialog-checkpoint")).to_be_visible()
    expect(dialog.get_by_test_id("dialog-add-lora")).to_be_visible()

    page.get_by_test_id("dialog-workflow").click()
    page.get_by_role("option", name="Soft blur", exact=True).click()
    expect(dialog.get_by_test_id("dialog-checkpoint")).to_be_hidden()
    expect(dialog.get_by_test_id("dialog-add-lora")).to_be_hidden()  # no model to apply a LoRA to
    expect(dialog.get_by_test_id("dialog-no-models")).to_have_text(
        "“Soft blur” loads no model of your choosing: it runs without one."
    )
    page.mouse.move(5, 5)
    shot(page, "dialog-modelless-workflow")

    dialog.get_by_test_id("dialog-generate").click()
    expect(dialog.get_by_test_id("dialog-result")).to_contain_text(re.compile(r"[Qq]ueued"))
    expect(dialog.get_by_test_id("dialog-jobs-summary")).to_contain_text("1 of 1 done", timeout=30_000)
    assert len(comfy.prompts) == 1
    graph = comfy.prompts[0]["graph"]
    assert sorted(node["class_type"] for node in graph.values()) == ["EmptyImage", "ImageBlur", "SaveImage"]
