"""The queue in a real browser: jobs in every state, a running one with its live preview, cancelling one.

The app runs without its dispatcher here: the jobs are rows written straight into its database, so
nothing moves them but the person at the queue page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlmodel import Session

from data.engine import make_engine
from data.models import ComfyServer, GenerationJob

from . import conftest as browser
from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "mira"
PASSWORD = "queue-watcher-7"


@pytest.fixture
def without_dispatcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for before live_server: its process starts with the dispatcher off."""
    original = browser._server_env

    def env(data_dir: Path, database_url: str | None) -> dict[str, str]:
        return {**original(data_dir, database_url), "STORYCANVAS_RUN_DISPATCHER": "0"}

    monkeypatch.setattr(browser, "_server_env", env)


@pytest.fixture
def server_db(live_server: LiveServer) -> Iterator[Session]:
    url = live_server.database_url or f"sqlite:///{live_server.data_dir / 'storycanvas.db'}"
    engine = make_engine(re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url))
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def _api_clip(server: LiveServer) -> tuple[int, int, int, int]:
    """A project, scene and clip made over REST as the user: (user id, project id, scene id, clip id)."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        token = client.post("/api/v1/auth/token", data={"username": USERNAME, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        project = client.post("/api/v1/projects", headers=headers, json={"name": "Night Ferry"}).json()
        scene = client.post(f"/api/v1/projects/{project['id']}/scenes", headers=headers, json={"name": "Harbour"})
        scene_id = scene.json()["id"]
        for start in (0, 3):
            body = {"start": start, "duration": 3}
            clip = client.post(f"/api/v1/scenes/{scene_id}/clips", headers=headers, json=body)
        me = client.get("/api/v1/me", headers=headers).json()
        return me["id"], project["id"], scene_id, clip.json()["id"]


def _preview_jpeg() -> bytes:
    image = Image.new("RGB", (96, 96), (38, 70, 140))
    for x in range(96):
        for y in range(40, 56):
            image.putpixel((x, y), (250, 190, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def test_queue_shows_every_state_and_cancels_a_job(
    without_dispatcher: None, live_server: LiveServer, server_db: Session, page: Page
) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    owner_id, project_id, scene_id, clip_id = _api_clip(live_server)
    gpu = ComfyServer(name="gpu-1", base_url="http://127.0.0.1:9", status="online", max_jobs=1)
    server_db.add(gpu)
    server_db.commit()
    now = datetime.now(UTC)

    def job(minutes_ago: float, **fields: object) -> GenerationJob:
        made = GenerationJob(
            kind=str(fields.pop("kind", "image")),
            project_id=project_id,
            clip_id=clip_id,
            owner_id=owner_id,
            created_at=now - timedelta(minutes=minutes_ago),
            params={"prompt": "a ferry leaving the harbour at night, sodium lights, light rain", "seed": 42},
            **fields,  # type: ignore[arg-type]
        )
        server_db.add(made)
        server_db.commit()
        return made

    job(
        30,
        status="completed",
        server_id=gpu.id,
        started_at=now - timedelta(minutes=29),
        finished_at=now - timedelta(minutes=28, seconds=18),
        checkpoint="sdxl_base_1.0.safetensors",
    )
    failed = job(
        20,
        status="failed",
        attempts=3,
        error="Prompt outputs failed validation: CheckpointLoaderSimple: "
        "Value not in list: ckpt_name: 'missing.safetensors' not in ['sdxl_base_1.0.safetensors']",
    )
    job(15, status="cancelled")
    running = job(
        4,
        status="running",
        server_id=gpu.id,
        attempts=1,
        progress=0.64,
        current_node="KSampler",
        started_at=now - timedelta(seconds=50),
    )
    preview = live_server.data_dir / "media" / "jobs" / str(running.id) / "preview.jpg"
    preview.parent.mkdir(parents=True, exist_ok=True)
    preview.write_bytes(_preview_jpeg())
    running.preview_path = f"jobs/{running.id}/preview.jpg"
    server_db.add(running)
    server_db.commit()
    first = job(2, kind="video")
    second = job(1)

    sign_in(page, live_server, USERNAME, PASSWORD)
    page.get_by_test_id("nav-queue").click()
    expect(page).to_have_url(re.compile(r"/queue$"))
    wait_ready(page)
    expect(page.get_by_test_id("queue-summary")).to_have_text("6 jobs")
    expect(page.get_by_test_id(f"job-progress-{running.id}")).to_have_text("64% · KSampler")
    thumb = page.get_by_test_id(f"job-preview-{running.id}")
    expect(thumb).to_be_visible()
    page.wait_for_function("(el) => el.complete && el.naturalWidth === 96", arg=thumb.element_handle())
    expect(page.get_by_test_id(f"job-queue-{first.id}")).to_contain_text("#1 ·")
    expect(page.get_by_test_id(f"job-queue-{second.id}")).to_contain_text("#2 ·")
    expect(page.get_by_test_id(f"job-info-{second.id}").get_by_role("link")).to_have_attribute(
        "href", f"/scenes/{scene_id}"
    )
    expect(page.get_by_test_id("status-chip-failed")).to_have_text(re.compile(r"Failed\s*1"))
    shot(page, "queue")

    page.get_by_test_id(f"job-details-{failed.id}").click()
    details = page.get_by_test_id("job-details")
    expect(details.get_by_test_id("job-details-error")).to_contain_text("missing.safetensors")
    shot(page, "details")
    details.get_by_role("button", name="Close").click()
    expect(details).to_be_hidden()

    page.get_by_test_id(f"job-cancel-{first.id}").click()
    expect(page.get_by_test_id(f"job-row-{first.id}")).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_test_id(f"job-queue-{second.id}")).to_contain_text("#1 ·")
    expect(page.get_by_test_id("status-chip-cancelled")).to_have_text(re.compile(r"Cancelled\s*2"))
    shot(page, "cancelled-one")
    server_db.expire_all()
    assert server_db.get(GenerationJob, first.id).status == "cancelled"  # type: ignore[union-attr]
