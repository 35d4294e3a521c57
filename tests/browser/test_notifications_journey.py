"""Desktop notifications in a real browser: the permission path on /account, then a notice from a finished job.

The app runs with its dispatcher and a fake ComfyUI, so the job really runs and the sweep really
tells its owner. The browser's Notification is wrapped by an init script that records each
`new Notification(...)` and reports the tab as hidden (a headless tab is never in the background).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from data.engine import make_engine
from data.models import GenerationJob
from tests.fakes.fake_comfyui import FakeComfyUI

from .conftest import LiveServer, shot, sign_in, wait_ready, wait_until

USERNAME = "nora"
PASSWORD = "night-ferry-42"
MODEL = "dreamshaper_8.safetensors"

# Reports every page as a background tab and records desktop notices instead of showing them.
HIDDEN_TAB_RECORDER = """
(() => {
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => true });
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get: () => "hidden" });
  const Real = window.Notification;
  window.__desktopNotices = [];
  function Recorder(title, options) {
    window.__desktopNotices.push({ title, ...(options || {}) });
    this.close = () => {};
  }
  Object.defineProperty(Recorder, "permission", { get: () => Real.permission });
  Recorder.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorder;
})();
"""


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI(job_seconds=2.0).start()
    yield fake
    fake.stop()


@contextmanager
def _server_db(server: LiveServer) -> Iterator[Session]:
    """The running app's own database, to leave a job as the dispatcher would."""
    url = server.database_url or f"sqlite:///{server.data_dir / 'storycanvas.db'}"
    engine = make_engine(re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url))
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def test_enable_desktop_notifications_then_a_finished_job_shows_one(
    live_server: LiveServer, page: Page, comfy: FakeComfyUI
) -> None:
    live_server.create_user(USERNAME, PASSWORD, admin=True)
    api = live_server.api(USERNAME, PASSWORD)
    server = api.post("/servers", json={"name": "Studio GPU", "url": comfy.url, "max_jobs": 1}).json()
    assert MODEL in api.post(f"/servers/{server['id']}/catalog/refresh").json()["checkpoints"]
    wait_until(lambda: api.get(f"/servers/{server['id']}").json()["status"] == "online")
    project = api.post("/projects", json={"name": "Night Ferry", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Harbour"}).json()
    body = {"start": 0, "duration": 3, "label": "Pier", "image_prompt": "a pier at dusk"}
    clip_id = api.post(f"/scenes/{scene['id']}/clips", json=body).json()["id"]

    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.add_init_script(HIDDEN_TAB_RECORDER)
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/account")
    wait_ready(page)
    card = page.get_by_test_id("notification-preferences")
    expect(card.get_by_test_id("desktop-state")).to_contain_text("Off")
    card.get_by_test_id("desktop-enable").click()
    expect(card.get_by_test_id("desktop-state")).to_contain_text("On: shown while StoryCanvas is in a background tab")
    expect(card.get_by_test_id("desktop-help")).to_be_hidden()
    minimum = card.locator("input[type=number]")
    minimum.fill("1")
    minimum.blur()
    wait_until(lambda: api.get("/me/notification-preferences").json()["desktop_min_seconds"] == 1)
    assert api.get("/me/notification-preferences").json()["desktop"] is True
    card.get_by_text("Play a short sound").click()
    wait_until(lambda: api.get("/me/notification-preferences").json()["sound"] is True)
    page.mouse.move(10, 890)
    shot(page, "account-preferences")

    # A job runs for ~2 s on the fake GPU while the tab is "in the background": one desktop notice.
    page.goto(f"{live_server.url}/projects")
    wait_ready(page)
    assert page.evaluate("window.__desktopNotices") == []
    created = api.post(f"/clips/{clip_id}/generate", json={"checkpoint": MODEL})
    assert created.status_code == 201, created.text
    toast = page.get_by_test_id("toast")
    expect(toast).to_have_count(1, timeout=40_000)
    expect(toast.get_by_test_id("toast-title")).to_have_text("Image ready: Harbour · #1")
    expect(page.get_by_test_id("notification-count")).to_have_text("1")
    page.wait_for_function("window.__desktopNotices.length === 1")
    (notice,) = page.evaluate("window.__desktopNotices")
    assert notice["title"] == "Image ready: Harbour · #1"
    assert notice["body"].startswith("Night Ferry · a pier at dusk") and notice["tag"].startswith("storycanvas-")
    toast.hover()  # hovered: it stays for the picture
    shot(page, "toast")

    # A job that failed (as the dispatcher leaves it) gets a toast with Retry, but no desktop notice: it was short.
    with _server_db(live_server) as session:
        owner_id = api.get("/me").json()["id"]
        session.add(
            GenerationJob(
                kind="video",
                project_id=project["id"],
                clip_id=clip_id,
                owner_id=owner_id,
                status="failed",
                error="Studio GPU: Prompt outputs failed validation: VHS_VideoCombine: Value not in list: format",
                finished_at=datetime.now(UTC),
            )
        )
        session.commit()
    failure = page.locator("[data-testid=toast][data-key=job_failed]")
    expect(failure.get_by_test_id("toast-retry")).to_be_visible()
    expect(failure.get_by_test_id("toast-title")).to_have_text("Video failed: Harbour · #1")
    failure.hover()
    shot(page, "failure-toast")
    assert len(page.evaluate("window.__desktopNotices")) == 1

    # The bell's panel lists both; Open leads to the clip's scene.
    page.get_by_test_id("notification-bell").click()
    panel = page.get_by_test_id("notification-panel")
    expect(panel.get_by_test_id("notification")).to_have_count(2)
    expect(page.get_by_test_id("toast")).to_have_count(0)  # the panel says it all: the toasts step aside
    expect(panel.get_by_test_id("notification-title").last).to_have_text("Image ready: Harbour · #1")
    page.mouse.move(700, 500)
    shot(page, "panel")
    panel.get_by_test_id("notification-open").last.click()
    expect(page).to_have_url(re.compile(rf"/scenes/{scene['id']}\?clip={clip_id}$"))
    assert api.get("/notifications").json()["unread"] == 1


def test_a_browser_that_blocks_notifications_gets_told_how_to_allow_them(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    api = live_server.api(USERNAME, PASSWORD)
    sign_in(page, live_server, USERNAME, PASSWORD)  # no permission granted: headless Chromium answers "denied"
    page.goto(f"{live_server.url}/account")
    wait_ready(page)
    card = page.get_by_test_id("notification-preferences")
    card.get_by_test_id("desktop-enable").click()
    help_text = card.get_by_test_id("desktop-help")
    expect(help_text).to_contain_text("Your browser blocks notifications from this site")
    expect(help_text).to_contain_text("Site settings")
    expect(card.get_by_test_id("desktop-state")).to_contain_text("Off")
    assert api.get("/me/notification-preferences").json()["desktop"] is False
    shot(page, "blocked-help")
