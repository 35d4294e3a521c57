"""A director generates ten clips as one batch from the project dashboard, sees two fail with the server's
reason, retries just those, and ends with a result for every clip.

Everything is real but the GPU: the app runs with its own dispatcher and a fake ComfyUI that fails the
first two prompts it is sent. Each job gets a single attempt, so those failures stay failures until retried.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.fake_comfyui import FakeComfyUI

from .conftest import LiveServer, shot, sign_in, wait_ready, wait_until

USERNAME = "ines"
PASSWORD = "harbour-lights-7"
MODEL = "dreamshaper_8.safetensors"
REASON = "CUDA out of memory: the fake GPU ran out"


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI(
        job_seconds=1.2, fail_next=2, fail_exception_type="RuntimeError", fail_exception_message=REASON
    ).start()
    yield fake
    fake.stop()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> LiveServer:
    """The app with one attempt per job: a failed execution is not retried by itself."""
    monkeypatch.setenv("STORYCANVAS_JOB_MAX_ATTEMPTS", "1")
    return request.getfixturevalue("live_server")


def test_a_batch_of_ten_with_two_failures_and_a_retry(server: LiveServer, page: Page, comfy: FakeComfyUI) -> None:
    server.create_user(USERNAME, PASSWORD, admin=True)
    api = server.api(USERNAME, PASSWORD)
    gpu = api.post("/servers", json={"name": "Studio GPU", "url": comfy.url, "max_jobs": 2}).json()
    assert MODEL in api.post(f"/servers/{gpu['id']}/catalog/refresh").json()["checkpoints"]
    wait_until(lambda: api.get(f"/servers/{gpu['id']}").json()["status"] == "online")
    project = api.post("/projects", json={"name": "Night Ferry", "fps": 24}).json()
    scene_ids = {}
    for name, count in (("Harbour", 5), ("Open sea", 5), ("Epilogue", 2)):
        scene = api.post(f"/projects/{project['id']}/scenes", json={"name": name}).json()
        scene_ids[name] = scene["id"]
        for index in range(count):
            body = {
                "start": index * 2,
                "duration": 2,
                "label": f"{name} {index + 1}",
                "image_prompt": f"{name} {index}",
            }
            api.post(f"/scenes/{scene['id']}/clips", json=body).raise_for_status()

    sign_in(page, server, USERNAME, PASSWORD)
    page.goto(f"{server.url}/projects/{project['id']}")
    wait_ready(page)
    page.keyboard.press("g")  # the dashboard's shortcut for Generate all
    dialog = page.get_by_test_id("batch-dialog")
    expect(dialog).to_be_visible()
    # Every clip lacks a result, so all twelve start chosen; keep the first two scenes only.
    expect(dialog.get_by_test_id("batch-count")).to_have_text("12 of 12 clips chosen")
    expect(dialog.get_by_test_id("batch-estimate")).to_contain_text("12 jobs · ")
    dialog.get_by_test_id("batch-select-none").click()
    expect(dialog.get_by_test_id("batch-count")).to_have_text("0 of 12 clips chosen")
    for name in ("Harbour", "Open sea"):
        dialog.locator(f"[data-testid='batch-scene'][data-scene-id='{scene_ids[name]}']").click()
    expect(dialog.get_by_test_id("batch-count")).to_have_text("10 of 12 clips chosen")
    expect(dialog.get_by_test_id("batch-estimate")).to_contain_text(re.compile(r"^10 jobs · ~\d+ (s|min) until all"))
    expect(dialog.get_by_test_id("batch-submit")).to_have_text(re.compile("Generate 10 clips"))
    dialog.get_by_test_id("batch-name-input").fill("Dusk pass")
    shot(page, "ten-clips-chosen")

    # Ctrl+Enter submits from anywhere in the dialog.
    dialog.get_by_test_id("batch-name-input").press("Control+Enter")
    progress = page.get_by_test_id("batch-progress")
    expect(progress).to_be_visible()
    rows = progress.get_by_test_id("batch-row")
    expect(rows).to_have_count(10)
    expect(progress.get_by_test_id("batch-name")).to_have_text("Dusk pass")
    expect(progress.locator("[data-testid='batch-row'][data-status='running']").first).to_be_visible()
    page.mouse.move(5, 5)
    shot(page, "running")

    status = progress.get_by_test_id("batch-status")
    expect(status).to_have_attribute("data-status", "failed", timeout=60_000)
    failed = progress.locator("[data-testid='batch-row'][data-status='failed']")
    expect(failed).to_have_count(2)
    expect(progress.locator("[data-testid='batch-row'][data-status='completed']")).to_have_count(8)
    for index in range(2):
        expect(failed.nth(index).get_by_test_id("batch-row-error")).to_contain_text(REASON)
    expect(progress.get_by_test_id("batch-summary")).to_have_text("8 of 10 clips done · 2 failed")
    expect(progress.get_by_test_id("batch-retry-failed")).to_contain_text("Retry failed (2)")
    shot(page, "two-failed")

    progress.get_by_test_id("batch-retry-failed").click()
    expect(status).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(progress.locator("[data-testid='batch-row'][data-status='completed']")).to_have_count(10)
    expect(progress.get_by_test_id("batch-summary")).to_have_text("10 of 10 clips done")
    thumbs = progress.locator("img.sc-batch-thumb")
    expect(thumbs).to_have_count(10)
    for index in range(10):
        expect(thumbs.nth(index)).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", thumbs.first.element_handle()) > 0
    shot(page, "all-done")

    batch_url = page.get_by_test_id("batch-page-link").get_attribute("href") or ""
    batch_id = int(batch_url.rsplit("/", 1)[1])
    batch = api.get(f"/batches/{batch_id}").json()
    assert (batch["status"], batch["clip_count"], batch["name"]) == ("completed", 10, "Dusk pass")
    assert all(row["result_item_id"] for row in batch["clips"])
    assert sorted(row["scene_name"] for row in batch["clips"]) == ["Harbour"] * 5 + ["Open sea"] * 5
    assert len(comfy.prompts) == 12  # ten clips, and only the two failures again

    page.get_by_test_id("batch-close").click()
    page.goto(f"{server.url}{batch_url}")
    wait_ready(page)
    expect(page.get_by_test_id("batch-rows").get_by_test_id("batch-row")).to_have_count(10)
    expect(page.get_by_test_id("batch-status")).to_have_attribute("data-status", "completed")
    shot(page, "batch-page")
