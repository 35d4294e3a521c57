"""An administrator adds a ComfyUI server in a real browser, tests it and sees it online with its GPU."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.fake_comfyui import FakeComfyUI

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "ada"
PASSWORD = "render-farm-42"
GPU = "NVIDIA GeForce RTX 4090"


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI()
    fake.gpu_name = GPU
    fake.checkpoints = ["sdxl_base_1.0.safetensors", "flux1_dev.safetensors"]
    fake.loras = ["ink_wash_style.safetensors", "film_grain.safetensors"]
    fake.vaes = ["sdxl_vae.safetensors"]
    fake.start()
    yield fake
    fake.stop()


def test_add_a_server_test_it_and_see_it_online(live_server: LiveServer, page: Page, comfy: FakeComfyUI) -> None:
    live_server.create_user(USERNAME, PASSWORD, admin=True)
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.get_by_test_id("nav-servers").click()
    wait_ready(page)
    expect(page.get_by_test_id("servers-empty")).to_contain_text("No ComfyUI servers yet")
    shot(page, "empty")

    page.get_by_test_id("add-server").click()
    dialog = page.get_by_test_id("server-dialog")
    dialog.get_by_label("Name", exact=True).fill("Studio GPU 1")
    dialog.get_by_label("URL", exact=True).fill(comfy.url)
    dialog.get_by_test_id("dialog-test").click()
    expect(dialog.get_by_test_id("dialog-test-result")).to_contain_text("RTX 4090")
    shot(page, "dialog-tested")
    dialog.get_by_test_id("server-save").click()
    expect(dialog).to_be_hidden()

    row = page.get_by_test_id("server-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("server-status")).to_have_attribute("data-status", "online")
    expect(row.get_by_test_id("server-gpu")).to_have_text(GPU)
    expect(row.get_by_test_id("server-catalog-counts")).to_contain_text("2 ckpt")

    row.get_by_test_id("server-test").click()
    expect(row.get_by_test_id("server-test-result")).to_contain_text("ComfyUI")
    row.get_by_test_id("server-catalog").click()
    expect(row.get_by_test_id("server-catalog-panel")).to_contain_text("flux1_dev.safetensors")
    shot(page, "online-with-catalog")

    comfy.go_down()
    row.get_by_test_id("server-test").click()
    expect(row.get_by_test_id("server-status")).to_have_attribute("data-status", "offline")
    expect(row.get_by_test_id("server-test-result")).to_contain_text("refused")
    shot(page, "offline")
