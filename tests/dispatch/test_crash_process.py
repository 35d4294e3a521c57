"""Kill the real app process in the middle of a generation and start it again: nothing lost, nothing twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import _server_env, _suite_database_is_postgresql, free_port, stop_process
from tests.fakes.fake_comfyui import FakeComfyUI


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class App:
    """`python -m app serve` on a fixed port and data directory, started and killed at will."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **_server_env(data_dir, database_url),
            "STORYCANVAS_RUN_DISPATCHER": "1",
            "STORYCANVAS_HEALTH_INTERVAL_SECONDS": "1",
            "STORYCANVAS_WORKER_ID": "studio-main",
        }
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            cwd=self.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _until(healthy, 30, "the app to answer /healthz")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)  # no shutdown handler runs: a crash
        self.process.wait(timeout=10)


@pytest.fixture
def app_process() -> Iterator[App]:
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-crash-"))
    database_url = None
    if _suite_database_is_postgresql():
        from tests.conftest import create_pg_database, drop_pg_database

        database_url = create_pg_database()
    app = App(data_dir, database_url)
    try:
        yield app
    finally:
        if app.process is not None:
            stop_process(app.process)
        if database_url:
            drop_pg_database(database_url)
        shutil.rmtree(data_dir, ignore_errors=True)


def test_killing_the_app_mid_generation_loses_nothing_and_runs_nothing_twice(app_process: App) -> None:
    fake = FakeComfyUI(job_seconds=0.6).start()
    try:
        app_process.start()
        api = httpx.Client(base_url=app_process.url, timeout=10)
        api.post(
            "/api/v1/auth/register", json={"username": "boss", "email": "b@example.com", "password": "pass-word-1"}
        )
        token = api.post("/api/v1/auth/token", data={"username": "boss", "password": "pass-word-1"}).json()
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        project = api.post("/api/v1/projects", json={"name": "Film"}).json()
        scene = api.post(f"/api/v1/projects/{project['id']}/scenes", json={"name": "S"}).json()
        clip = api.post(f"/api/v1/scenes/{scene['id']}/clips", json={"duration": 2, "image_prompt": "a fox"}).json()
        server = api.post("/api/v1/servers", json={"name": "gpu-1", "url": fake.url, "max_jobs": 2}).json()
        _until(lambda: api.get(f"/api/v1/servers/{server['id']}").json()["status"] == "online", 20, "server online")
        made = api.post(
            f"/api/v1/clips/{clip['id']}/generate",
            json={"checkpoint": "dreamshaper_8.safetensors", "variations": 6, "seed": 100},
        )
        assert made.status_code == 201, made.text

        def jobs() -> list[dict]:
            return api.get("/api/v1/jobs", params={"clip_id": clip["id"]}).json()

        _until(lambda: sum(job["status"] == "completed" for job in jobs()) >= 1, 30, "a first result")
        _until(lambda: any(job["status"] == "running" for job in jobs()), 10, "a running job")
        app_process.kill()
        time.sleep(1.0)  # the server goes on with what it holds while the app is down

        app_process.start()
        _until(lambda: all(job["status"] == "completed" for job in jobs()), 60, "every job to complete")

        finished = jobs()
        assert len(finished) == 6 and all(job["attempts"] == 1 for job in finished)
        ran = Counter(run["prompt_id"] for run in fake.executions)
        assert sum(ran.values()) == 6 and max(ran.values()) == 1  # none ran twice
        gallery = api.get(f"/api/v1/clips/{clip['id']}/gallery").json()
        assert len(gallery) == 6  # none lost, none stored twice
        assert sum(item["selected"] for item in gallery) == 1
    finally:
        fake.stop()
