"""Does one app process give its memory back after a long session? Bounded to a few minutes; run by hand.

Why: a studio leaves the app running for weeks. Memory that grows with every job or every page load
(caches without bounds, state kept per tab or per prompt) ends in a restart at the worst moment.

The script seeds a fresh SQLite installation (a clip with 5,000 results), starts `python -m app serve`
with the dispatcher and 8 fake ComfyUI servers (each its own process), warms the app up (a page load, a
few jobs), notes its resident memory, then runs 2,000 jobs and opens the 5,000-result clip in chromium
ten times (and reads its REST gallery page by page), waits a quiet minute and notes the memory again:

    rss_warm_mb: after the warm-up
    rss_end_mb: after the work and a quiet minute
    rss_growth_mb: the difference (aim < 20)

    .venv/bin/python bench/soak.py [--jobs 2000] [--results 5000] [--loads 10] [--quiet 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))
_DATA = Path(tempfile.mkdtemp(prefix="storycanvas-bench-soak-"))
os.environ["STORYCANVAS_DATA_DIR"] = str(_DATA)
os.environ.pop("DATABASE_URL", None)

from fake_servers import start_fake  # noqa: E402
from startup import free_port, rss_bytes, server_env, signed_in_page, start_server, stop  # noqa: E402

USERNAME, PASSWORD = "soak", "soak-password-1"
CHECKPOINT = "alpha.safetensors"


def seed(results: int) -> dict[str, int]:
    """An administrator, a project, a clip with `results` image results (one small shared picture on disk)."""
    from app.config import get_settings
    from app.services import clips, projects, scenes, users
    from data import migrate
    from data.engine import dispose_engine, session_scope
    from data.models import GalleryItem
    from tests.fakes.fake_media import png_bytes

    migrate.upgrade()
    with session_scope() as session:
        user = users.register(
            session, users.validate_registration(USERNAME, "soak@example.com", PASSWORD), admin=True, force=True
        )
        project = projects.create_project(session, user, projects.parse_create(name="Soak", fps=24))
        scene = scenes.create_scene(session, user, project.id, "Harbour")
        many = clips.create_clip(session, user, scene.id, start=0.0, duration=3.0, label="Many results")
        work = clips.create_clip(session, user, scene.id, start=3.0, duration=3.0, label="Work", image_prompt="a pier")
        folder = get_settings().media_dir / "projects" / str(project.id) / "clips" / str(many.id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "shared.png").write_bytes(png_bytes(64, 36, seed=1))
        relative = f"projects/{project.id}/clips/{many.id}/shared.png"
        session.add_all(
            GalleryItem(
                clip_id=many.id,
                project_id=project.id,
                kind="image",
                file_path=relative,
                thumbnail_path=relative,
                width=64,
                height=36,
                selected=index == 0,
                params={"prompt": "a pier at dusk", "seed": index, "model": CHECKPOINT, "steps": 20},
            )
            for index in range(results)
        )
        session.commit()
        seeded = {"project": project.id, "scene": scene.id, "many": many.id, "work": work.id}  # type: ignore[dict-item]
    dispose_engine()
    return seeded  # type: ignore[return-value]


async def run_jobs(client: httpx.AsyncClient, headers: dict[str, str], clip: int, count: int) -> None:
    """`count` jobs through the generation route, 16 variations a request, until every one finished."""
    ids: list[int] = []
    while len(ids) < count:
        made = await client.post(
            f"/api/v1/clips/{clip}/generate",
            json={"checkpoint": CHECKPOINT, "variations": min(16, count - len(ids))},
            headers=headers,
        )
        made.raise_for_status()
        ids += [job["id"] for job in made.json()]
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        jobs = (await client.get("/api/v1/jobs", params={"clip_id": clip, "limit": 5000}, headers=headers)).json()
        if sum(job["status"] in ("completed", "failed", "cancelled") for job in jobs) >= count:
            return
        await asyncio.sleep(1)
    raise RuntimeError("the jobs did not finish")


def open_pages(base: str, seeded: dict[str, int], loads: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        page = signed_in_page(playwright, base, USERNAME, PASSWORD)
        browser = page.context.browser
        for _ in range(loads):
            page.goto(f"{base}/scenes/{seeded['scene']}?clip={seeded['many']}")
            page.wait_for_selector("[data-testid=result]", timeout=120_000)
        page.goto(f"{base}/projects")
        browser.close()


async def read_gallery(client: httpx.AsyncClient, headers: dict[str, str], clip: int, loads: int) -> None:
    for _ in range(loads):
        offset = 0
        while True:
            page = await client.get(
                f"/api/v1/clips/{clip}/gallery", params={"limit": 1000, "offset": offset}, headers=headers
            )
            offset += len(page.json())
            if offset >= int(page.headers["X-Total-Count"]):
                break


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--results", type=int, default=5000)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--quiet", type=float, default=60)
    args = parser.parse_args()
    fakes: list[tuple[subprocess.Popen[str], str]] = []
    process = None
    try:
        seeded = seed(args.results)
        fakes = [start_fake(0.02) for _ in range(8)]
        port = free_port()
        env = server_env(_DATA)
        env["STORYCANVAS_RUN_DISPATCHER"] = "1"
        process = start_server(_DATA, port, env=env)
        base = f"http://127.0.0.1:{port}"
        watched = psutil.Process(process.pid)

        async def prepare() -> dict[str, str]:
            async with httpx.AsyncClient(base_url=base, timeout=600) as client:
                form = {"username": USERNAME, "password": PASSWORD}
                answer = await client.post("/api/v1/auth/token", data=form)
                if answer.status_code != 200:
                    raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text}")
                token = answer.json()
                headers = {"Authorization": f"Bearer {token['access_token']}"}
                for index, (_fake, url) in enumerate(fakes):
                    answer = await client.post(
                        "/api/v1/servers", json={"name": f"gpu-{index}", "url": url, "max_jobs": 2}, headers=headers
                    )
                    answer.raise_for_status()
                await run_jobs(client, headers, seeded["work"], 64)
                await read_gallery(client, headers, seeded["many"], 1)
                return headers

        headers = asyncio.run(prepare())
        open_pages(base, seeded, 1)
        time.sleep(5)
        warm = rss_bytes(watched) / 2**20
        print(f"# warm: {warm:.0f} MB", file=sys.stderr, flush=True)

        async def work() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=600) as client:
                await run_jobs(client, headers, seeded["work"], args.jobs + 64)
                await read_gallery(client, headers, seeded["many"], args.loads)

        started = time.monotonic()
        asyncio.run(work())
        print(f"# {args.jobs} jobs and gallery reads in {time.monotonic() - started:.0f} s", file=sys.stderr)
        open_pages(base, seeded, args.loads)
        print(f"# after the work: {rss_bytes(watched) / 2**20:.0f} MB", file=sys.stderr, flush=True)
        time.sleep(args.quiet)
        end = rss_bytes(watched) / 2**20
        print(f"rss_warm_mb: {warm:.0f}")
        print(f"rss_end_mb: {end:.0f}")
        print(f"rss_growth_mb: {end - warm:.1f}")
    finally:
        if process is not None:
            stop(process)
        for fake, _url in fakes:
            fake.terminate()
        shutil.rmtree(_DATA, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
