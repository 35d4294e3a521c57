"""`storycanvas backup` against the real app while it works: every run succeeds, and its archive restores whole.

The app runs as its own process (with its dispatcher feeding a fake ComfyUI), writers edit clips and
projects through the REST API, generate and delete results, and add, grow, shrink and delete files in
the media folder, while the `storycanvas backup` command runs several times as its own process. Each
archive is then restored with `storycanvas restore` into a fresh data directory and database, and
checked: row counts as the manifest says, every result's file present, every media member whole.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import SQLModel

import data.models  # noqa: F401  (every table on SQLModel.metadata)
from tests.browser.conftest import _server_env, _suite_database_is_postgresql, free_port, stop_process
from tests.fakes.fake_comfyui import FakeComfyUI

PASSWORD = "pass-word-1"
BACKUPS = 3


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Install:
    """A data directory with its database (SQLite inside it, or a throwaway PostgreSQL database)."""

    data_dir: Path
    database_url: str | None
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = _server_env(self.data_dir, self.database_url)

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            env=self.env,
            cwd=self.data_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Plain SQL on this installation's database, apart from the test process's own engine."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as connection:
                return list(connection.execute(sql).fetchall())
        with sqlite3.connect(self.data_dir / "storycanvas.db") as connection:
            return list(connection.execute(sql).fetchall())


@pytest.fixture
def new_install() -> Iterator[Callable[[], Install]]:
    made: list[Install] = []

    def make() -> Install:
        database_url = None
        if _suite_database_is_postgresql():
            from tests.conftest import create_pg_database

            database_url = create_pg_database()
        made.append(Install(Path(tempfile.mkdtemp(prefix="storycanvas-backup-live-")), database_url))
        return made[-1]

    yield make
    for install in made:
        if install.database_url:
            from tests.conftest import drop_pg_database

            drop_pg_database(install.database_url)
        shutil.rmtree(install.data_dir, ignore_errors=True)


@pytest.fixture
def running_app(new_install: Callable[[], Install]) -> Iterator[tuple[Install, str]]:
    """`python -m app serve` with its dispatcher on, answering /healthz; its log is shown when a test fails."""
    install = new_install()
    install.env.update(STORYCANVAS_RUN_DISPATCHER="1", STORYCANVAS_HEALTH_INTERVAL_SECONDS="1")
    url = f"http://127.0.0.1:{free_port()}"
    log_path = install.data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]],
            env=install.env,
            cwd=install.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def healthy() -> bool:
        assert process.poll() is None, f"the app exited:\n{log_path.read_text(errors='replace')}"
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _until(healthy, 60, "the app to answer /healthz")
        yield install, url
    finally:
        stop_process(process)


class Writers:
    """The work of a studio while the backup runs: REST edits, results made and deleted, media files churned."""

    def __init__(self, api: httpx.Client, clip_ids: list[int], project_id: int, media_dir: Path) -> None:
        self.api, self.clip_ids, self.project_id, self.media_dir = api, clip_ids, project_id, media_dir
        self.stop = threading.Event()
        self.edits = 0
        self.generations = 0
        self.deleted_results = 0
        self.files_touched = 0
        self.errors: list[str] = []
        self._threads = [threading.Thread(target=self._guard(work), daemon=True) for work in self._work()]

    def _work(self) -> list[Callable[[], None]]:
        return [self._edit, self._generate, self._churn_files]

    def _guard(self, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except Exception as error:  # reported by the test
                self.errors.append(f"{work.__name__}: {type(error).__name__}: {error}")

        return run

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _check(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            self.errors.append(f"{response.request.method} {response.request.url.path}: {response.status_code}")

    def _edit(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            clip_id = self.clip_ids[n % len(self.clip_ids)]
            self._check(self.api.patch(f"/clips/{clip_id}", json={"label": f"take {n}", "image_prompt": f"fox {n}"}))
            self._check(self.api.patch(f"/projects/{self.project_id}", json={"description": f"edit {n} ✓"}))
            self.edits += 2

    def _generate(self) -> None:
        seed = 1000
        while not self.stop.is_set():
            clip_id = self.clip_ids[seed % len(self.clip_ids)]
            seed += 1
            made = self.api.post(
                f"/clips/{clip_id}/generate",
                json={"checkpoint": "dreamshaper_8.safetensors", "variations": 1, "seed": seed},
            )
            self._check(made)
            self.generations += 1
            items = self.api.get(f"/clips/{clip_id}/gallery").json()
            if len(items) > 2:  # deleting a result removes its files from the media folder
                oldest = min(items, key=lambda item: item["id"])
                self._check(self.api.delete(f"/gallery/{oldest['id']}"))
                self.deleted_results += 1
            self.stop.wait(0.2)

    def _churn_files(self) -> None:
        """Files that appear, grow while read, shrink in place, and vanish, as uploads and renders do."""
        folder = self.media_dir / "churn"
        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(7)
        n = 0
        while not self.stop.is_set():
            n += 1
            growing = folder / f"growing-{n}.bin"
            with growing.open("wb") as out:
                for _ in range(8):
                    out.write(rng.randbytes(32 * 1024))
                    out.flush()
                    time.sleep(0.005)
            shrinking = folder / "rewritten.bin"
            shrinking.write_bytes(rng.randbytes(rng.choice([1024, 256 * 1024])))
            subfolder = folder / f"dir-{n}"
            subfolder.mkdir()
            (subfolder / "inside.bin").write_bytes(rng.randbytes(4096))
            if n > 3:
                (folder / f"growing-{n - 3}.bin").unlink(missing_ok=True)
                shutil.rmtree(folder / f"dir-{n - 3}", ignore_errors=True)
            self.files_touched += 4


def _prepare_studio(install: Install, url: str, fake: FakeComfyUI) -> tuple[httpx.Client, list[int], int]:
    api = httpx.Client(base_url=f"{url}/api/v1", timeout=30)
    registered = api.post("/auth/register", json={"username": "boss", "email": "b@example.com", "password": PASSWORD})
    assert registered.status_code in (200, 201), registered.text
    token = api.post("/auth/token", data={"username": "boss", "password": PASSWORD}).json()
    api.headers["Authorization"] = f"Bearer {token['access_token']}"
    project = api.post("/projects", json={"name": "Film"}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Opening"}).json()
    clip_ids = [
        api.post(f"/scenes/{scene['id']}/clips", json={"duration": 2, "image_prompt": f"a fox {i}"}).json()["id"]
        for i in range(3)
    ]
    server = api.post("/servers", json={"name": "gpu-1", "url": fake.url, "max_jobs": 2}).json()
    _until(lambda: api.get(f"/servers/{server['id']}").json()["status"] == "online", 30, "the server online")
    # Enough media that a backup takes a while, so the writers get to work in the middle of it.
    bulk = install.media_dir / "projects" / str(project["id"]) / "uploads"
    bulk.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    for i in range(24):
        (bulk / f"upload-{i:02}.bin").write_bytes(rng.randbytes(256 * 1024))
    return api, clip_ids, project["id"]


def _check_restored(archive: Path, target: Install) -> dict[str, Any]:
    """Restore into a fresh installation and check it holds what the manifest says, files included."""
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        members = {m.name: m.size for m in tar.getmembers() if m.isfile() and m.name.startswith("media/")}
        for name in members:  # every member reads whole: the sizes in the headers are the sizes written
            assert len(tar.extractfile(name).read()) == members[name]  # type: ignore[union-attr]
    media = manifest["media"]
    assert media["files"] == len(members) and media["bytes"] == sum(members.values())
    assert not {f"media/{entry['path']}" for entry in media["skipped"]} & set(members)
    assert all(entry["reason"] for entry in media["skipped"])

    restored = target.cli("restore", "--yes", str(archive))
    assert restored.returncode == 0, f"restore failed:\n{restored.stdout}\n{restored.stderr}"

    for table in SQLModel.metadata.tables:
        assert target.query(f'SELECT COUNT(*) FROM "{table}"')[0][0] == manifest["tables"][table], table
    rows = target.query("SELECT file_path, thumbnail_path FROM gallery_items")
    referenced = {path for row in rows for path in row if path}
    missing = sorted(path for path in referenced if not (target.media_dir / path).is_file())
    assert missing == [], f"results whose file is not in the archive: {missing}"
    # A running job's live preview can be replaced or removed in the instant between the two looks at the
    # media folder; a result's file never is (the first look's link keeps it).
    assert all(entry["path"].startswith("jobs/") for entry in manifest["media"]["missing"])
    on_disk = {
        str(path.relative_to(target.data_dir)): path.stat().st_size
        for path in target.media_dir.rglob("*")
        if path.is_file()
    }
    assert on_disk == members
    return manifest


def test_backups_taken_while_the_app_works_succeed_and_restore_whole(
    running_app: tuple[Install, str], new_install: Callable[[], Install]
) -> None:
    install, url = running_app
    fake = FakeComfyUI(job_seconds=0.15).start()
    try:
        api, clip_ids, project_id = _prepare_studio(install, url, fake)
        runs: list[tuple[Path, subprocess.CompletedProcess[str], int]] = []
        with Writers(api, clip_ids, project_id, install.media_dir) as writers:
            _until(lambda: writers.generations >= 3 and writers.files_touched >= 8, 60, "the writers under way")
            for n in range(BACKUPS):
                archive = install.data_dir / "backups" / f"live-{n}.tar.gz"
                edits_before = writers.edits
                result = install.cli("backup", str(archive))
                runs.append((archive, result, writers.edits - edits_before))
        assert writers.errors == []
        assert writers.deleted_results > 0
    finally:
        fake.stop()

    for archive, result, edits_meanwhile in runs:
        print(f"--- backup during {edits_meanwhile} edits ---\n{result.stdout}{result.stderr}")
        assert result.returncode == 0, f"backup exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        assert edits_meanwhile > 0  # the app really was being written to while this backup ran
        assert str(archive) in result.stdout
        assert "gallery_items" in result.stdout and "media files" in result.stdout
    assert not list(install.data_dir.glob(".backup-*"))  # the links of each run are gone with it
    assert sorted(p.name for p in (install.data_dir / "backups").iterdir()) == [a.name for a, _r, _e in runs]
    results_seen = 0
    for archive, _result, _edits in runs:
        manifest = _check_restored(archive, new_install())
        results_seen += manifest["tables"]["gallery_items"]
    assert results_seen > 0
