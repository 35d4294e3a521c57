"""A director who uses no mouse edits a scene: Tab reaches the track, the arrow keys choose clips, Enter edits.

Up and Down choose the previous or next clip (a listbox, so a screen reader announces each clip with its
length and state), Left and Right still move the playhead a frame, and Enter puts the keyboard into the
chosen clip's inspector. The clip menu lists the keys of its actions.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME, PASSWORD = "keys", "no-mouse-today-3"
MAX_TABS = 80


def _seed(server: LiveServer) -> tuple[int, list[int]]:
    server.create_user(USERNAME, PASSWORD)
    api = server.api(USERNAME, PASSWORD)
    project = api.post("/projects", json={"name": "Moonrise", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Harbour"}).json()
    clip_ids = []
    for index, label in enumerate(("Pier", "Lantern", "Ferry")):
        body = {"start": index * 2, "duration": 2, "label": label, "image_prompt": label}
        response = api.post(f"/scenes/{scene['id']}/clips", json=body)
        response.raise_for_status()
        clip_ids.append(response.json()["id"])
    return scene["id"], clip_ids


def _track_focused(page: Page) -> bool:
    return bool(page.evaluate("document.activeElement && document.activeElement.classList.contains('sc-tl')"))


def test_tab_to_the_track_choose_clips_with_arrows_and_enter_edits(live_server: LiveServer, page: Page) -> None:
    scene_id, (pier, lantern, ferry) = _seed(live_server)
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene_id}")
    wait_ready(page)
    expect(page.locator(f"[data-clip-id='{ferry}']")).to_be_visible()

    page.locator("body").focus()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if _track_focused(page):
            break
    assert _track_focused(page), f"Tab did not reach the timeline's track in {MAX_TABS} presses"
    track = page.get_by_role("listbox", name="Clips on the timeline", exact=False)
    expect(track).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused track shows no focus ring"
    shot(page, "track-focused")

    page.keyboard.press("ArrowDown")
    clip = page.locator(f"[data-clip-id='{pier}']")
    expect(clip).to_have_attribute("aria-selected", "true")
    expect(track).to_have_attribute("aria-activedescendant", f"sc-tl-clip-{pier}")
    expect(page.get_by_role("option", name="Pier", exact=False)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator(f"[data-clip-id='{ferry}']")).to_have_attribute("aria-selected", "true")
    expect(clip).to_have_attribute("aria-selected", "false")
    page.keyboard.press("ArrowUp")
    expect(page.locator(f"[data-clip-id='{lantern}']")).to_have_attribute("aria-selected", "true")
    playhead = page.get_by_test_id("timeline-playhead")
    expect(playhead).to_have_attribute("data-frame", "48")  # the chosen clip's start: 2 s at 24 fps

    # The keys that were there before keep their meaning: Left and Right move the playhead one frame.
    page.keyboard.press("ArrowRight")
    expect(playhead).to_have_attribute("data-frame", "49")
    page.keyboard.press("ArrowLeft")
    expect(playhead).to_have_attribute("data-frame", "48")
    shot(page, "lantern-chosen")

    page.keyboard.press("Enter")
    inspector = page.get_by_test_id("clip-inspector")
    expect(inspector).to_be_visible()
    expect(inspector.locator("input").first).to_have_value("Lantern")
    page.wait_for_function(
        "() => !!document.activeElement && !!document.activeElement.closest('[data-testid=\"clip-inspector\"]')"
    )
    shot(page, "inspector-focused")


def test_the_clip_menu_shows_each_actions_keys(live_server: LiveServer, page: Page) -> None:
    scene_id, (pier, _lantern, _ferry) = _seed(live_server)
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene_id}")
    wait_ready(page)
    page.locator(f"[data-clip-id='{pier}']").click(button="right")
    menu = page.get_by_test_id("clip-context-menu")
    expect(menu).to_be_visible()
    for action, keys in (
        ("Edit in the inspector", "Enter"),
        ("Split at the playhead", "S"),
        ("Duplicate", "Ctrl+D"),
        ("Copy", "Ctrl+C"),
        ("Cut", "Ctrl+X"),
        ("Paste here", "Ctrl+V"),
        ("Delete", "Del"),
    ):
        item = menu.locator(".q-item").filter(has_text=action).first
        expect(item.locator(".sc-kbd")).to_have_text(keys)
    shot(page, "clip-menu")
