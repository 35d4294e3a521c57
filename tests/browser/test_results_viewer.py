"""The results viewer in chromium: open a result from the strip, browse with the arrow keys, compare two."""

from __future__ import annotations

import json
import subprocess
import sys

from playwright.sync_api import Page, expect

from .conftest import REPO_ROOT, LiveServer, shot, sign_in, wait_ready

PASSWORD = "night-ferry-42"


def seed(server: LiveServer, count: int) -> dict:
    """One clip with `count` image results (real WebP files), through the gallery bench's seeding."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "gallery.py"), "--seed-only", "--results", str(count)],
        env={**server.env, "STORYCANVAS_NEW_PASSWORD": PASSWORD},
        cwd=server.data_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seeded = json.loads(result.stdout.strip().splitlines()[-1])
    return seeded


def test_browse_with_arrow_keys_zoom_and_compare(live_server: LiveServer, page: Page) -> None:
    seeded = seed(live_server, 4)
    ids = seeded["item_ids"]  # oldest first; the strip shows newest first

    sign_in(page, live_server, "bench", PASSWORD)
    page.goto(f"{live_server.url}/scenes/{seeded['scene_id']}")
    wait_ready(page)
    page.locator(f"[data-clip-id='{seeded['clip_id']}']").click()
    tiles = page.get_by_test_id("result")
    expect(tiles).to_have_count(4)
    expect(page.get_by_test_id("results-tab-image")).to_have_text("Images · 4")
    tiles.nth(0).hover()
    expect(page.get_by_test_id("results-meta")).to_have_attribute("data-item-id", str(ids[-1]))
    shot(page, "strip")

    tiles.nth(1).dblclick()
    viewer = page.get_by_test_id("results-viewer")
    expect(viewer).to_be_visible()
    expect(viewer).to_have_attribute("data-item-id", str(ids[-2]))
    expect(page.get_by_test_id("viewer-count")).to_have_text("2 / 4")
    expect(page.get_by_test_id("viewer-image")).to_have_js_property("complete", True)

    page.keyboard.press("ArrowRight")
    expect(viewer).to_have_attribute("data-item-id", str(ids[-3]))
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(viewer).to_have_attribute("data-item-id", str(ids[-1]))
    page.keyboard.press("ArrowLeft")  # wraps around to the oldest
    expect(viewer).to_have_attribute("data-item-id", str(ids[0]))

    page.keyboard.press("+")
    page.keyboard.press("+")
    expect(viewer).to_have_attribute("data-zoom", "1.56")
    page.keyboard.press("r")
    expect(viewer).to_have_attribute("data-rotation", "90")
    page.keyboard.press("i")
    expect(page.get_by_test_id("viewer-meta")).to_contain_text("a pier at dusk")
    shot(page, "viewer-zoomed-with-details")
    page.keyboard.press("0")
    expect(viewer).to_have_attribute("data-zoom", "1.00")

    page.keyboard.press("c")
    compare = page.get_by_test_id("viewer-compare-grid")
    expect(compare).to_have_attribute("data-count", "2")
    page.locator(f".sc-rv-pick[data-item-id='{ids[1]}']").click()
    expect(compare).to_have_attribute("data-count", "3")
    shot(page, "compare-three")
    page.keyboard.press("w")
    expect(page.get_by_test_id("viewer-wipe-stage")).to_be_visible()
    shot(page, "ab-wipe")

    href = page.get_by_test_id("viewer-download").get_attribute("href")
    assert href is not None and href.endswith("?download=1")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200 and "attachment" in response.headers["content-disposition"]

    page.keyboard.press("Escape")
    expect(viewer).to_have_count(0)


def test_copy_link_puts_the_signed_link_of_this_address_on_the_clipboard(live_server: LiveServer, page: Page) -> None:
    """The server signs the path, the page adds the address it was opened under; the link opens the result."""
    seeded = seed(live_server, 1)
    (item_id,) = seeded["item_ids"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    sign_in(page, live_server, "bench", PASSWORD)
    page.goto(f"{live_server.url}/scenes/{seeded['scene_id']}")
    wait_ready(page)
    page.locator(f"[data-clip-id='{seeded['clip_id']}']").click()
    page.get_by_test_id("result").first.hover()
    page.get_by_test_id("results-actions").click()
    page.get_by_text("Copy link", exact=True).click()
    expect(page.get_by_text("Link copied")).to_be_visible()

    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(f"{live_server.url}/results/{item_id}?sig="), link
    assert page.request.get(link).status == 200
