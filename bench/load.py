"""Concurrent REST load against one app process, and how /healthz answers meanwhile; run by hand.

Why: the app is one process whose event loop also serves every page and the dispatcher. If
requests that wait for a database connection can hold up the loop, a burst from one script
freezes the whole studio. The target: 200 concurrent API requests all answer 2xx within 10 s
on 2 cores, and /healthz stays under 200 ms throughout.

The script starts `python -m app serve` on a free port with a fresh data folder (SQLite, or
PostgreSQL with --database-url), makes a user, a project with scenes and clips, then fires
--requests concurrent requests at once (a mix of project lists and clip edits) while a probe
asks /healthz every 20 ms. Output, exactly:

    load_ok_ratio: 1.000
    load_p99_ms: 1234
    load_max_ms: 2345
    healthz_max_ms: 45

    .venv/bin/python bench/load.py [--requests 200] [--database-url postgresql://127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from startup import drop_pg_database, free_port, pg_database, server_env, start_server, stop

HEALTHZ_EVERY_S = 0.02


def _prepare(base: str) -> tuple[dict[str, str], list[int]]:
    """A user, a token, a project with 40 clips: what the burst reads and edits."""
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post(
            "/api/v1/auth/register",
            json={"username": "loadtest", "email": "load@example.com", "password": "load-test-password"},
        ).raise_for_status()
        token = client.post(
            "/api/v1/auth/token", data={"username": "loadtest", "password": "load-test-password"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        project = client.post("/api/v1/projects", json={"name": "Load"}, headers=headers).json()
        scene = client.post(f"/api/v1/projects/{project['id']}/scenes", json={"name": "One"}, headers=headers).json()
        clip_ids = []
        for index in range(40):
            clip = client.post(
                f"/api/v1/scenes/{scene['id']}/clips",
                json={"start": index * 2, "duration": 2, "image_prompt": f"shot {index}"},
                headers=headers,
            ).json()
            clip_ids.append(clip["id"])
        return headers, clip_ids


async def _burst(base: str, headers: dict[str, str], clip_ids: list[int], count: int) -> tuple[list[float], int]:
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    failures: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def one(index: int) -> tuple[float, bool]:
            started = time.perf_counter()
            try:
                if index % 2:
                    clip_id = clip_ids[index % len(clip_ids)]
                    response = await client.patch(
                        f"/api/v1/clips/{clip_id}", json={"image_prompt": f"edit {index}"}, headers=headers
                    )
                else:
                    response = await client.get("/api/v1/projects", headers=headers)
                ok = 200 <= response.status_code < 300
            except httpx.HTTPError as error:
                ok = False
                failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
            else:
                if not ok:
                    failures[str(response.status_code)] = failures.get(str(response.status_code), 0) + 1
            return (time.perf_counter() - started) * 1000, ok

        results = await asyncio.gather(*(one(index) for index in range(count)))
    if failures:
        print("failures:", ", ".join(f"{name} ×{n}" for name, n in sorted(failures.items())), file=sys.stderr)
    return [elapsed for elapsed, _ in results], sum(ok for _, ok in results)


async def _probe(base: str, stop_event: asyncio.Event) -> float:
    worst = 0.0
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while not stop_event.is_set():
            started = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                await client.get("/healthz")
            worst = max(worst, (time.perf_counter() - started) * 1000)
            await asyncio.sleep(HEALTHZ_EVERY_S)
    return worst


async def _run(base: str, headers: dict[str, str], clip_ids: list[int], count: int) -> None:
    stop_event = asyncio.Event()
    probe = asyncio.create_task(_probe(base, stop_event))
    await asyncio.sleep(0.2)
    latencies, ok = await _burst(base, headers, clip_ids, count)
    stop_event.set()
    healthz_max = await probe
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"load_ok_ratio: {ok / count:.3f}")
    print(f"load_p99_ms: {p99:.0f}")
    print(f"load_max_ms: {latencies[-1]:.0f}")
    print(f"healthz_max_ms: {healthz_max:.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--log", type=Path, help="keep the server's output in this file")
    parser.add_argument("--database-url", help="a PostgreSQL server URL whose database is used to create a new one")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-load-"))
    pg_name = None
    if args.database_url:
        pg_name, url = pg_database(args.database_url)
        os.environ["DATABASE_URL"] = url
    port = free_port()
    env = server_env(data_dir)
    if args.database_url:
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    env["STORYCANVAS_RUN_DISPATCHER"] = "1"
    process = start_server(data_dir, port, env=env, log=args.log)
    base = f"http://127.0.0.1:{port}"
    try:
        headers, clip_ids = _prepare(base)
        asyncio.run(_run(base, headers, clip_ids, args.requests))
    finally:
        stop(process)
        shutil.rmtree(data_dir, ignore_errors=True)
        if pg_name and args.database_url:
            drop_pg_database(args.database_url, pg_name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
