"""A director on a scene's timeline with a real mouse: move, trim, overlap resolved by ripple, split, undo."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "dora"
PASSWORD = "storyboard-42"
PX_PER_FRAME = 4.0  # the editor's default zoom


def _frames(api: httpx.Client, scene_id: int) -> dict[str, tuple[int, int]]:
    return {c["label"]: (c["start_frame"], c["duration_frames"]) for c in api.get(f"/scenes/{scene_id}/clips").json()}


def _drag(page: Page, selector: str, dx: float, *, screenshot: str | None = None) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y, steps=5)
    page.mouse.move(x + dx, y, steps=5)
    if screenshot:
        shot(page, screenshot)
    page.mouse.up()


def test_move_trim_ripple_split_and_undo_with_the_mouse(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    api = live_server.api(USERNAME, PASSWORD)
    project = api.post("/projects", json={"name": "Harbour", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Dawn"}).json()
    ids = {}
    for label, start in (("A", 0), ("B", 3), ("C", 6)):
        body = {"start": start, "duration": 2, "label": label, "image_prompt": "harbour", "video_prompt": "pan"}
        ids[label] = api.post(f"/scenes/{scene['id']}/clips", json=body).json()["id"]
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene['id']}")
    wait_ready(page)
    expect(page.locator(f"[data-clip-id='{ids['C']}']")).to_be_visible()
    shot(page, "timeline")

    # Move C right by 12 frames.
    _drag(page, f"[data-clip-id='{ids['C']}']", 12 * PX_PER_FRAME)
    _wait(lambda: _frames(api, scene["id"])["C"] == (156, 48))

    # Trim B's end edge out by 6 frames.
    _drag(page, f"[data-clip-id='{ids['B']}'] [data-edge='end']", 6 * PX_PER_FRAME)
    _wait(lambda: _frames(api, scene["id"])["B"] == (72, 54))
    shot(page, "moved-and-trimmed")

    # Drag A onto B: the overlap shows while dragging; on drop choose ripple.
    _drag(page, f"[data-clip-id='{ids['A']}']", 48 * PX_PER_FRAME, screenshot="overlap-while-dragging")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("The clip overlaps its neighbour")).to_be_visible()
    shot(page, "overlap-dialog")
    dialog.get_by_test_id("overlap-ripple").click()
    _wait(lambda: _frames(api, scene["id"])["A"] == (48, 48))
    after = _frames(api, scene["id"])
    assert after["B"][0] >= 96, after  # pushed to the end of A
    assert api.get(f"/projects/{project['id']}/timeline/analysis").json()["overlaps"] == []
    shot(page, "after-ripple")

    # Split B at the playhead: click the ruler 10 frames into B, then Split.
    b_start = after["B"][0]
    ruler = page.get_by_test_id("timeline-ruler").bounding_box()
    clip_b = page.locator(f"[data-clip-id='{ids['B']}']").bounding_box()
    assert ruler is not None and clip_b is not None
    page.mouse.click(clip_b["x"] + 10 * PX_PER_FRAME + 1, ruler["y"] + ruler["height"] / 2)
    expect(page.get_by_test_id("timeline-playhead")).to_have_attribute("data-frame", str(b_start + 10))
    page.get_by_test_id("split").click()
    _wait(lambda: len(api.get(f"/scenes/{scene['id']}/clips").json()) == 4)
    shot(page, "after-split")

    # Undo brings the single clip back.
    page.get_by_test_id("undo").click()
    _wait(lambda: len(api.get(f"/scenes/{scene['id']}/clips").json()) == 3)
    assert _frames(api, scene["id"])["B"] == after["B"]
    shot(page, "after-undo")


def _wait(check, timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the timeline edit did not reach the server in time"
        time.sleep(0.1)


def test_clip_context_menu_copies_and_pastes_where_clicked(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    api = live_server.api(USERNAME, PASSWORD)
    project = api.post("/projects", json={"name": "Harbour", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Dawn"}).json()
    clip = api.post(f"/scenes/{scene['id']}/clips", json={"start": 0, "duration": 1, "label": "Gull"}).json()
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene['id']}")
    wait_ready(page)
    card = page.locator(f"[data-clip-id='{clip['id']}']")
    card.click(button="right")
    menu = page.get_by_role("menu")
    expect(menu.get_by_text("Copy", exact=True)).to_be_visible()
    shot(page, "context-menu")
    menu.get_by_text("Copy", exact=True).click()
    expect(page.get_by_text("Copied 1 clip")).to_be_visible()
    expect(page.get_by_role("menu")).to_be_hidden()  # the first menu has closed before the next opens
    box = card.bounding_box()
    assert box is not None
    # Right-click the empty track 2 s (48 frames) after the clip's start, and paste there.
    page.mouse.click(box["x"] + 48 * PX_PER_FRAME + 2, box["y"] + box["height"] / 2, button="right")
    paste_here = page.get_by_role("menu").get_by_text("Paste here", exact=True)
    expect(paste_here).to_be_visible()
    paste_here.click()
    _wait(lambda: len(api.get(f"/scenes/{scene['id']}/clips").json()) == 2)
    starts = sorted(c["start_frame"] for c in api.get(f"/scenes/{scene['id']}/clips").json())
    assert starts[0] == 0 and 47 <= starts[1] <= 49, starts
    shot(page, "pasted")
