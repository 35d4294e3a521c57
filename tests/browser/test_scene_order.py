"""Reordering scenes by dragging their handles on the dashboard; the order is kept exactly."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "rio"
PASSWORD = "scene-order-1"


def test_drag_a_scene_to_the_top_keeps_the_order(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    token = httpx.post(f"{live_server.url}/api/v1/auth/token", data={"username": USERNAME, "password": PASSWORD})
    api = httpx.Client(
        base_url=f"{live_server.url}/api/v1", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    project = api.post("/projects", json={"name": "Order"}).json()
    for name in ("Dawn", "Noon", "Dusk"):
        api.post(f"/projects/{project['id']}/scenes", json={"name": name})
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/projects/{project['id']}")
    wait_ready(page)
    names = page.get_by_test_id("scene-name")
    expect(names).to_have_text(["Dawn", "Noon", "Dusk"])
    cards = page.get_by_test_id("scene-card")
    handle = cards.nth(2).locator(".sc-drag-handle")
    target = cards.nth(0).bounding_box()
    start = handle.bounding_box()
    assert target is not None and start is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    # Through the middle card, then well into the top card's upper half, where SortableJS places it first.
    page.mouse.move(start["x"] + 5, target["y"] + target["height"] * 1.5, steps=10)
    page.mouse.move(start["x"] + 5, target["y"] + target["height"] * 0.25, steps=10)
    page.wait_for_timeout(200)  # let SortableJS's swap animation settle before the drop
    page.mouse.move(start["x"] + 5, target["y"] + 1, steps=4)
    page.mouse.up()
    expect(names).to_have_text(["Dusk", "Dawn", "Noon"])
    shot(page, "reordered")
    stored = [s["name"] for s in api.get(f"/projects/{project['id']}/scenes").json()]
    assert stored == ["Dusk", "Dawn", "Noon"]
    page.reload()
    expect(page.get_by_test_id("scene-name")).to_have_text(["Dusk", "Dawn", "Noon"])
