"""A director's day in the clip inspector with a real browser: nothing typed is lost.

Typing then switching clips saves; Ctrl+Enter inside a field saves; a change from another tab while typing
asks keep mine / take theirs instead of replacing the text; an older prompt comes back from the history;
leaving the page while unsaved asks first and still saves. The inspector's states are photographed in the
dark and the light theme.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "dora"
PASSWORD = "storyboard-42"


def _stored(api: httpx.Client, scene_id: int) -> dict[str, dict]:
    return {c["label"]: c for c in api.get(f"/scenes/{scene_id}/clips").json()}


def _wait(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _state(page: Page, state: str) -> None:
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-save-state", state)


def test_nothing_typed_is_lost(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    api = live_server.api(USERNAME, PASSWORD)
    project = api.post("/projects", json={"name": "Harbour", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Dawn"}).json()
    ids = {}
    for label, start in (("A", 0), ("B", 3)):
        body = {"start": start, "duration": 2, "label": label, "image_prompt": "harbour", "video_prompt": "pan"}
        ids[label] = api.post(f"/scenes/{scene['id']}/clips", json=body).json()["id"]
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene['id']}")
    wait_ready(page)
    image = page.get_by_test_id("image-prompt")
    video = page.get_by_test_id("video-prompt")
    header = page.get_by_test_id("inspector-header")

    # Typing, then switching to another clip before the pause is over: the text is saved, not dropped.
    page.locator(f"[data-clip-id='{ids['A']}']").click()
    expect(header).to_contain_text("A ·")
    _state(page, "saved")
    image.fill("harbour at dawn, gulls over the pier")
    _state(page, "unsaved")
    page.locator(f"[data-clip-id='{ids['B']}']").click()
    expect(header).to_contain_text("B ·")
    assert _stored(api, scene["id"])["A"]["image_prompt"] == "harbour at dawn, gulls over the pier"
    page.locator(f"[data-clip-id='{ids['A']}']").click()
    expect(image).to_have_value("harbour at dawn, gulls over the pier")
    _state(page, "saved")

    # A pause in typing saves by itself; the header follows the label as it is typed.
    page.get_by_test_id("clip-label").fill("Opening")
    expect(header).to_contain_text("Opening ·")
    _wait(lambda: "Opening" in _stored(api, scene["id"]))
    _state(page, "saved")

    # Ctrl+Enter inside a field saves at once (well before the autosave pause is over).
    video.fill("slow pan left")
    video.press("Control+Enter")
    _wait(lambda: _stored(api, scene["id"])["Opening"]["video_prompt"] == "slow pan left", timeout=0.7)
    _state(page, "saved")

    # Another tab renames the clip while this one types a prompt: the label follows, the typing stays and saves.
    image.click()
    _state(page, "saved")
    image.fill("harbour at dawn, typed here")
    _state(page, "unsaved")
    api.patch(f"/clips/{ids['A']}", json={"label": "Opening, wide"})
    expect(header).to_contain_text("Opening, wide ·")
    expect(page.get_by_test_id("clip-label")).to_have_value("Opening, wide")
    expect(image).to_have_value("harbour at dawn, typed here")
    _wait(
        lambda: _stored(api, scene["id"]).get("Opening, wide", {}).get("image_prompt") == "harbour at dawn, typed here"
    )
    _state(page, "saved")

    # Another tab saves the same prompt while this one types: the local text stays, and the choice shows.
    image.click()  # the field left saves on blur: only then does the typing below stay unsaved
    _state(page, "saved")
    image.fill("mine: a foggy harbour")
    _state(page, "unsaved")
    api.patch(f"/clips/{ids['A']}", json={"image_prompt": "theirs: a sunny harbour"})
    _state(page, "conflict")
    expect(image).to_have_value("mine: a foggy harbour")
    expect(page.get_by_test_id("conflict-theirs")).to_have_text("theirs: a sunny harbour")
    page.get_by_test_id("keep-mine").click()
    _wait(lambda: _stored(api, scene["id"])["Opening, wide"]["image_prompt"] == "mine: a foggy harbour")
    _state(page, "saved")

    image.click()  # the field left saves on blur: only then does the typing below stay unsaved
    _state(page, "saved")
    image.fill("mine again")
    _state(page, "unsaved")
    api.patch(f"/clips/{ids['A']}", json={"image_prompt": "theirs again"})
    _state(page, "conflict")
    expect(image).to_have_value("mine again")
    page.get_by_test_id("take-theirs").click()
    expect(image).to_have_value("theirs again")
    _state(page, "saved")
    assert _stored(api, scene["id"])["Opening, wide"]["image_prompt"] == "theirs again"

    # The history: every saved wording, and an older one restored.
    page.get_by_test_id("prompt-history").click()
    dialog = page.get_by_test_id("prompt-history-dialog")
    expect(dialog.get_by_text("harbour at dawn, gulls over the pier").first).to_be_visible()
    shot(page, "history")
    history = api.get(f"/clips/{ids['A']}/prompt-history").json()
    assert history[-1]["image_prompt"] == "harbour" and history[0]["image_prompt"] == "theirs again"
    page.get_by_test_id(f"restore-{history[-1]['n']}").click()
    expect(image).to_have_value("harbour")
    assert _stored(api, scene["id"])["Opening, wide"]["image_prompt"] == "harbour"

    # Undo in the field goes back to the wording before the restore.
    page.get_by_test_id("prompt-undo").click()
    expect(image).to_have_value("theirs again")
    _wait(lambda: _stored(api, scene["id"])["Opening, wide"]["image_prompt"] == "theirs again")

    # Leaving while unsaved asks first; leaving anyway still saves what was typed.
    asked: list[str] = []

    def answer(dialog) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.type)
        dialog.dismiss()  # stay

    page.on("dialog", answer)
    video.fill("typed just before leaving")
    _state(page, "unsaved")
    page.close(run_before_unload=True)
    for _ in range(100):  # the sync API hands events over only while it is called
        if asked:
            break
        page.wait_for_timeout(50)
    assert asked == ["beforeunload"]
    assert not page.is_closed()  # "stay" kept the page
    page.close()  # closing for good: the server saves what it had
    _wait(lambda: _stored(api, scene["id"])["Opening, wide"]["video_prompt"] == "typed just before leaving")


def test_inspector_states_in_both_themes(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    api = live_server.api(USERNAME, PASSWORD)
    project = api.post("/projects", json={"name": "Harbour", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Dawn"}).json()
    body = {"start": 0, "duration": 3, "label": "Pier", "image_prompt": "a pier at dawn", "video_prompt": "pan"}
    clip_id = api.post(f"/scenes/{scene['id']}/clips", json=body).json()["id"]
    api.patch(f"/clips/{clip_id}", json={"image_prompt": "a pier at dawn, (gulls:1.2)"})
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/scenes/{scene['id']}")
    wait_ready(page)
    page.locator(f"[data-clip-id='{clip_id}']").click()
    image = page.get_by_test_id("image-prompt")
    for theme in ("dark", "light"):
        _state(page, "saved")
        page.mouse.move(700, 860)  # no tooltip in the pictures
        shot(page, f"{theme}-saved")
        image.fill(f"a pier at dawn, {theme} sky")
        _state(page, "unsaved")
        shot(page, f"{theme}-unsaved")
        api.patch(f"/clips/{clip_id}", json={"image_prompt": f"a pier at noon ({theme})"})
        _state(page, "conflict")
        shot(page, f"{theme}-changed-elsewhere")
        page.get_by_test_id("keep-mine").click()
        _state(page, "saved")
        page.get_by_test_id("prompt-history").click()
        expect(page.get_by_test_id("prompt-history-dialog")).to_be_visible()
        shot(page, f"{theme}-history")
        page.get_by_test_id("prompt-history-dialog").get_by_role("button", name="Close").click()
        expect(page.get_by_test_id("prompt-history-dialog")).to_be_hidden()
        if theme == "dark":
            page.get_by_role("button", name="Toggle dark or light theme").click()
            expect(page.locator("body.body--light")).to_have_count(1)
