"""`serve --port` names the process after the port it serves, so processes on one host never share a worker id."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import _server_env, _suite_database_is_postgresql, free_port, stop_process


@pytest.fixture
def database_url() -> Iterator[str | None]:
    if not _suite_database_is_postgresql():
        yield None
        return
    from tests.conftest import create_pg_database, drop_pg_database

    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


def test_the_default_worker_id_names_the_port_given_to_serve(database_url: str | None) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-worker-id-"))
    env = _server_env(data_dir, database_url)
    for name in ("STORYCANVAS_WORKER_ID", "STORYCANVAS_PORT"):
        env.pop(name, None)
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        deadline = time.monotonic() + 60
        while True:
            try:
                if api.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (data_dir / "server.log").read_text(errors="replace")
            time.sleep(0.1)
        account = {"username": "boss", "email": "b@example.com", "password": "pass-word-1"}
        api.post("/api/v1/auth/register", json=account).raise_for_status()
        token = api.post("/api/v1/auth/token", data={"username": "boss", "password": "pass-word-1"}).json()
        answer = api.get("/api/v1/admin/dispatcher", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["worker_id"] == f"{socket.gethostname()}:{port}"
    finally:
        stop_process(process)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
