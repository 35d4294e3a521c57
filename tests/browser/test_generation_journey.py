"""A director generates a clip's image from the scene timeline and picks among the results.

Everything is real but the GPU: the app runs with its own dispatcher, a fake ComfyUI answers it
like ComfyUI does (slowly enough to watch the progress), and the results land as files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.fake_comfyui import FakeComfyUI

from .conftest import LiveServer, shot, sign_in, wait_ready, wait_until

USERNAME = "nora"
PASSWORD = "night-ferry-42"
MODEL = "dreamshaper_8.safetensors"


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI(job_seconds=3.0).start()
    yield fake
    fake.stop()


def test_generate_watch_progress_and_pick_a_result(live_server: LiveServer, page: Page, comfy: FakeComfyUI) -> None:
    live_server.create_user(USERNAME, PASSWORD, admin=True)
    api = live_server.api(USERNAME, PASSWORD)
    server = api.post("/servers", json={"name": "Studio GPU", "url": comfy.url, "max_jobs": 1}).json()
    assert MODEL in api.post(f"/servers/{server['id']}/catalog/refresh").json()["checkpoints"]
    wait_until(lambda: api.get(f"/servers/{server['id']}").json()["status"] == "online")
    project = api.post("/projects", json={"name": "Night Ferry", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Harbour"}).json()
    body = {"start": 0, "duration": 3, "label": "Pier", "image_prompt": "a pier at dusk", "video_prompt": "slow pan"}
    clip_id = api.post(f"/scenes/{scene['id']}/clips", json=body).json()["id"]
    api.post(f"/scenes/{scene['id']}/clips", json={**body, "start": 3, "label": "Ferry"})

    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene['id']}")
    wait_ready(page)
    card = page.locator(f"[data-clip-id='{clip_id}']")
    card.click()
    panel = page.get_by_test_id("generate-panel")
    expect(panel.get_by_test_id("generate-checkpoint")).to_contain_text(MODEL)
    shot(page, "clip-selected")

    # Generate: the job shows its progress, then its result lands in the strip and on the card.
    panel.get_by_test_id("generate").click()
    job = page.get_by_test_id("clip-job")
    expect(job).to_have_attribute("data-status", re.compile("queued|dispatched|running"))
    expect(card.get_by_test_id("clip-status")).to_be_visible()
    expect(page.locator("[data-testid='clip-job'][data-status='running']")).to_be_visible()
    expect(page.get_by_test_id(re.compile(r"clip-job-progress-\d+"))).to_contain_text(re.compile(r"[1-9]\d*%"))
    page.mouse.move(700, 80)  # no tooltip over the job row
    shot(page, "running")
    results = page.get_by_test_id("result")
    expect(results).to_have_count(1, timeout=30_000)
    first_id = results.first.get_attribute("data-item-id")
    expect(results.first).to_have_attribute("data-selected", "true")
    thumb = card.locator("img.sc-tl-thumb")
    expect(thumb).to_have_attribute("src", f"/api/v1/gallery/{first_id}/thumbnail")
    expect(card.get_by_test_id("clip-status")).to_be_hidden()
    expect(job).to_have_count(0)
    assert page.evaluate("(img) => img.naturalWidth", thumb.element_handle()) > 0  # the cookie opens the route
    shot(page, "first-result")

    # A second variation: the new one comes first, unselected; choosing it changes the card.
    panel.get_by_test_id("generate").click()
    expect(results).to_have_count(2, timeout=30_000)
    second = results.first
    second_id = second.get_attribute("data-item-id")
    assert second_id != first_id
    expect(second).to_have_attribute("data-selected", "false")
    title = second.get_attribute("title") or ""
    assert "seed" in title and MODEL in title and "Studio GPU" in title and "took" in title, title
    shot(page, "second-result")
    second.click()
    expect(second).to_have_attribute("data-selected", "true")
    expect(results.nth(1)).to_have_attribute("data-selected", "false")
    expect(thumb).to_have_attribute("src", f"/api/v1/gallery/{second_id}/thumbnail")
    chosen = api.get(f"/clips/{clip_id}/gallery").json()
    assert [(item["id"], item["selected"]) for item in chosen] == [(int(second_id), True), (int(first_id), False)]
    page.mouse.move(700, 80)
    shot(page, "second-selected")

    # The full dialog: the composed prompt is previewed, and its generation lands like the panel's.
    page.get_by_test_id("generate-more").click()
    dialog = page.get_by_test_id("generation-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("prompt-preview")).to_contain_text("a pier at dusk")
    expect(dialog.get_by_test_id("dialog-checkpoint")).to_have_value(re.compile(re.escape(MODEL)))
    shot(page, "generation-dialog")
    dialog.get_by_test_id("dialog-generate").click()
    expect(dialog.get_by_test_id("dialog-result")).to_contain_text(re.compile(r"[Qq]ueued"))
    # The dialog follows its job: running with progress, then done.
    expect(dialog.locator("[data-testid='clip-job'][data-status='running']")).to_be_visible()
    expect(dialog.get_by_test_id("dialog-jobs-summary")).to_contain_text("0 of 1 done")
    shot(page, "dialog-running")
    expect(dialog.get_by_test_id("dialog-jobs-summary")).to_contain_text("1 of 1 done", timeout=30_000)
    page.keyboard.press("Escape")
    expect(results).to_have_count(3, timeout=30_000)
