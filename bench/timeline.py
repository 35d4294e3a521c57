"""Timeline speed on a big project (50 scenes x 20 clips), measured by hand.

Why: the project page and a scene's timeline are where a director spends the day; a drag must
feel immediate (the widget moves locally, then the server's answer lands without a page rebuild).

It seeds a temporary SQLite installation, starts `python -m app serve`, signs in with chromium
(Debian's /usr/bin/chromium) and prints, as medians:

    project_page_ms: server-side render of /projects/{id} (the dashboard with 50 scene cards)
    scene_timeline_ms: server-side render of /scenes/{id} (a timeline with 20 clips)
    drag_roundtrip_ms: in the browser, mouse-up of a clip drag until the server's new clips are drawn
    autosave_ms: in the browser, the last keystroke in a prompt until the inspector says it is saved on the
        server (the pause before saving, 0.8 s, included; aim < 1500)
    inspector_switch_ms: in the browser, a click on another clip until the inspector shows its fields
        (unchanged fields, so no save in between; aim < 150)

    .venv/bin/python bench/timeline.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import free_port, server_env, signed_in_page, start_server

SCENES, CLIPS_PER_SCENE = 50, 20
USERNAME, PASSWORD = "bench", "bench-password-1"


def seed(data_dir: Path) -> tuple[int, int]:
    """A project of 50 scenes x 20 clips, written straight through the models (seeding is not what we time)."""
    env = server_env(data_dir)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("STORYCANVAS_", "NICEGUI_"))})
    from app.services import projects, users
    from data import migrate
    from data.engine import dispose_engine, session_scope
    from data.models import Clip, Scene

    migrate.upgrade()
    with session_scope() as session:
        user = users.register(session, users.validate_registration(USERNAME, "bench@example.com", PASSWORD))
        project = projects.create_project(session, user, projects.parse_create(name="Bench film", fps=24))
        first_scene = 0
        for index in range(SCENES):
            scene = Scene(project_id=project.id, position=index, name=f"Scene {index + 1}")
            session.add(scene)
            session.flush()
            first_scene = first_scene or scene.id
            session.add_all(
                Clip(
                    scene_id=scene.id,
                    project_id=project.id,
                    start_frame=n * 72,
                    duration_frames=60,
                    label=f"Shot {n + 1}",
                    image_prompt="a harbour at dawn",
                    video_prompt="slow pan",
                )
                for n in range(CLIPS_PER_SCENE)
            )
        session.commit()
        ids = (project.id, first_scene)
    dispose_engine()
    return ids  # type: ignore[return-value]


def timed_get(client: httpx.Client, url: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-bench-"))
    process = None
    try:
        project_id, scene_id = seed(data_dir)
        port = free_port()
        process = start_server(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            page = signed_in_page(playwright, base, USERNAME, PASSWORD)
            browser = page.context.browser
            cookies = {c["name"]: c["value"] for c in page.context.cookies()}
            with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
                print(f"project_page_ms: {timed_get(client, f'/projects/{project_id}', args.runs):.0f}")
                print(f"scene_timeline_ms: {timed_get(client, f'/scenes/{scene_id}', args.runs):.0f}")
            print(f"drag_roundtrip_ms: {drag_roundtrip(page, f'{base}/scenes/{scene_id}', args.runs):.0f}")
            print(f"inspector_switch_ms: {inspector_switch(page, f'{base}/scenes/{scene_id}', args.runs):.0f}")
            print(f"autosave_ms: {autosave(page, f'{base}/scenes/{scene_id}', args.runs):.0f}")
            browser.close()
    finally:
        if process:
            process.terminate()
            process.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


# Timed inside the page: pointer-up on the clip until the widget's revision (bumped when the server's
# new clips arrive) changes, both on the page's own clock.
_WATCH = """() => {
  const root = document.querySelector('[data-revision]');
  window.__drag = {up: null, seen: null, revision: root.getAttribute('data-revision')};
  document.addEventListener('pointerup', () => { window.__drag.up = performance.now(); }, {capture: true, once: true});
  new MutationObserver((changes, observer) => {
    if (root.getAttribute('data-revision') !== window.__drag.revision) {
      window.__drag.seen = performance.now();
      observer.disconnect();
    }
  }).observe(root, {attributes: true, attributeFilter: ['data-revision']});
}"""


def drag_roundtrip(page, url: str, runs: int) -> float:  # type: ignore[no-untyped-def]
    """Drag the first clip by five frames, right then back; from pointer-up until the server's redraw lands."""
    page.goto(url)
    page.wait_for_selector("[data-clip-id]")
    samples = []
    for run in range(runs):
        box = page.locator("[data-clip-id]").first.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.evaluate(_WATCH)
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + (20 if run % 2 == 0 else -20), y, steps=4)
        page.mouse.up()
        page.wait_for_function("() => window.__drag.seen !== null", polling=5)
        samples.append(page.evaluate("() => window.__drag.seen - window.__drag.up"))
    return statistics.median(samples)


# A click on a clip until the inspector's header names that clip, on the page's own clock.
_SWITCH = """(label) => {
  window.__switch = {down: null, seen: null};
  document.addEventListener('pointerdown', () => { window.__switch.down = performance.now(); },
    {capture: true, once: true});
  const observer = new MutationObserver(() => {
    const header = document.querySelector('[data-testid="inspector-header"]');
    if (header && header.textContent.startsWith(label + ' ·')) {
      window.__switch.seen = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def inspector_switch(page, url: str, runs: int) -> float:  # type: ignore[no-untyped-def]
    """Alternate between the second and third clip; from pointer-down until the header shows the clicked clip."""
    page.goto(url)
    page.wait_for_selector("[data-clip-id]")
    cards = page.locator("[data-clip-id]")
    cards.nth(0).click()
    page.wait_for_selector('[data-testid="inspector-header"]')
    samples = []
    for run in range(runs):
        index = 1 + run % 2
        page.evaluate(_SWITCH, f"Shot {index + 1}")
        cards.nth(index).click()
        page.wait_for_function("() => window.__switch.seen !== null", polling=5)
        samples.append(page.evaluate("() => window.__switch.seen - window.__switch.down"))
    return statistics.median(samples)


# The last input event in the image prompt until the save state turns "saved".
_AUTOSAVE = """() => {
  const state = document.querySelector('[data-testid="save-state"]');
  window.__save = {typed: null, seen: null, unsaved: false};
  document.addEventListener('input', () => { window.__save.typed = performance.now(); }, {capture: true});
  new MutationObserver((changes, observer) => {
    const value = state.getAttribute('data-save-state');
    if (value !== 'saved') window.__save.unsaved = true;
    else if (window.__save.unsaved) { window.__save.seen = performance.now(); observer.disconnect(); }
  }).observe(state, {attributes: true, attributeFilter: ['data-save-state']});
}"""


def autosave(page, url: str, runs: int) -> float:  # type: ignore[no-untyped-def]
    """Type a few words into the first clip's image prompt and stop; until the server has saved them."""
    page.goto(url)
    page.wait_for_selector("[data-clip-id]")
    page.locator("[data-clip-id]").first.click()
    field = page.get_by_test_id("image-prompt")
    field.click()
    samples = []
    for run in range(runs):
        page.wait_for_selector('[data-save-state="saved"]')
        page.evaluate(_AUTOSAVE)
        field.press_sequentially(f" take {run}", delay=30)
        page.wait_for_function("() => window.__save.seen !== null", polling=5, timeout=10_000)
        samples.append(page.evaluate("() => window.__save.seen - window.__save.typed"))
    return statistics.median(samples)


if __name__ == "__main__":
    main()
