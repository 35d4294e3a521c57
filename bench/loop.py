"""How long the app's event loop stalls while heavy work runs: a batch, a long AAF export, a backup, a big delete.

Why: every page, every open tab and the dispatcher share one event loop. Anything slow on it freezes
the whole studio; the target is that nothing does. /healthz is answered on that loop before any other
layer, so its answer time is the loop's stall.

The script seeds a fresh SQLite installation (a 2,000-clip project and a project with 1,000 media
files), starts `python -m app serve` with the dispatcher on, registers 8 fake ComfyUI servers (each its
own process), and asks /healthz every 50 ms through four phases, one after another:

    batch:  a 500-job batch runs on the 8 fakes (200 ms per job) until every job finished
    export: the 2,000-clip project is exported as AAF over REST
    backup: `python -m app backup` writes the database and media while the app runs
    delete: the project with 1,000 media files is deleted over REST

It prints, over all phases (and per phase on stderr):

    loop_stall_ms_p99: 99th percentile of /healthz answer times
    loop_stall_ms_max: the longest

    .venv/bin/python bench/loop.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))
_DATA = Path(tempfile.mkdtemp(prefix="storycanvas-bench-loop-"))
os.environ["STORYCANVAS_DATA_DIR"] = str(_DATA)
os.environ.pop("DATABASE_URL", None)

from fake_servers import start_fake  # noqa: E402
from startup import free_port, server_env, start_server, stop  # noqa: E402

PROBE_EVERY_S = 0.05
PASSWORD = "bench-password-1"
CHECKPOINT = "alpha.safetensors"


def seed() -> tuple[int, int]:
    """(the 2,000-clip project, the project with 1,000 media files), owned by an administrator."""
    from exports import seed as seed_feature

    from app.config import get_settings
    from app.services import projects
    from data.engine import dispose_engine, session_scope
    from data.models import User

    _user_id, feature = seed_feature(2000)
    with session_scope() as session:
        user = session.get(User, _user_id)
        assert user is not None
        user.is_admin = True
        session.add(user)
        session.commit()
        doomed = projects.create_project(session, user, projects.parse_create(name="To delete"))
    folder = get_settings().media_dir / "projects" / str(doomed.id) / "clips" / "1"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(1000):
        (folder / f"result-{index}.png").write_bytes(b"\x89PNG" + b"\0" * 4096)
    dispose_engine()
    return feature, doomed.id  # type: ignore[return-value]  # stored rows have ids


class Probe:
    """/healthz every 50 ms; each answer time is filed under the phase running then."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.phase = "idle"
        self.times: dict[str, list[float]] = {}
        self._stop = asyncio.Event()

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):
                    await client.get("/healthz")
                self.times.setdefault(self.phase, []).append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(PROBE_EVERY_S)

    def stop(self) -> None:
        self._stop.set()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


async def phases(base: str, feature: int, doomed: int, fakes: list[str]) -> Probe:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        token = (await client.post("/api/v1/auth/token", data={"username": "bench", "password": PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for index, url in enumerate(fakes):
            answer = await client.post(
                "/api/v1/servers", json={"name": f"gpu-{index}", "url": url, "max_jobs": 2}, headers=headers
            )
            answer.raise_for_status()
        clips: list[int] = []
        scenes = (await client.get(f"/api/v1/projects/{feature}/scenes", headers=headers)).json()
        for scene in scenes:
            clips += [
                clip["id"] for clip in (await client.get(f"/api/v1/scenes/{scene['id']}/clips", headers=headers)).json()
            ]
            if len(clips) >= 500:
                break
        probe = Probe(base)
        watcher = asyncio.create_task(probe.run())
        await asyncio.sleep(2)

        probe.phase = "batch"
        batch = await client.post(
            f"/api/v1/projects/{feature}/batches",
            json={"clip_ids": clips[:500], "settings": {"mode": "image", "checkpoint": CHECKPOINT}},
            headers=headers,
        )
        batch.raise_for_status()
        batch_id = batch.json()["id"]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            state = (await client.get(f"/api/v1/batches/{batch_id}", headers=headers)).json()
            if state.get("finished") or state.get("status") in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.5)
        print(f"# batch: {state.get('status')}", file=sys.stderr)

        probe.phase = "export"
        exported = await client.post(f"/api/v1/projects/{feature}/exports", json={"format": "aaf"}, headers=headers)
        print(f"# export: {exported.status_code}, {len(exported.content) // 1024} KB", file=sys.stderr)

        probe.phase = "backup"
        archive = _DATA / "bench-backup.tar"
        backup = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "backup",
            str(archive),
            cwd=REPO,
            env=server_env(_DATA),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        print(f"# backup: exit {await backup.wait()}", file=sys.stderr)

        probe.phase = "delete"
        deleted = await client.delete(f"/api/v1/projects/{doomed}", headers=headers)
        print(f"# delete: {deleted.status_code}", file=sys.stderr)
        await asyncio.sleep(2)  # the files go after the answer

        probe.stop()
        await watcher
        return probe


def main() -> int:
    fakes: list[tuple[subprocess.Popen[str], str]] = []
    process = None
    try:
        feature, doomed = seed()
        fakes = [start_fake(0.2) for _ in range(8)]
        port = free_port()
        env = server_env(_DATA)
        env["STORYCANVAS_RUN_DISPATCHER"] = "1"
        process = start_server(_DATA, port, env=env)
        probe = asyncio.run(phases(f"http://127.0.0.1:{port}", feature, doomed, [url for _p, url in fakes]))
        every = [value for values in probe.times.values() for value in values]
        for phase, values in probe.times.items():
            print(
                f"# {phase}: {len(values)} probes, p99 {percentile(values, 0.99):.0f} ms, max {max(values):.0f} ms",
                file=sys.stderr,
            )
        print(f"loop_stall_ms_p99: {percentile(every, 0.99):.0f}")
        print(f"loop_stall_ms_max: {max(every):.0f}")
    finally:
        if process is not None:
            stop(process)
        for fake, _url in fakes:
            fake.terminate()
        shutil.rmtree(_DATA, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
