"""The clip results strip with 500 results, measured in chromium.

Why: a director keeps generating variations, and the strip is redrawn whenever one lands; it must stay
quick to show and cheap to load (thumbnails load lazily, the full files only when one is opened).

It seeds a temporary SQLite installation (one clip, 500 image results with real small WebP files and
thumbnails), starts `python -m app serve`, signs in with chromium (/usr/bin/chromium) and prints:

    gallery_render_ms: clicking the clip on the timeline until the strip's first tiles are painted
                       (server render of the inspector with its strip + first paint), median of runs
    gallery_bytes_per_item: bytes the browser fetched for results (thumbnails, files) per shown item,
                            until one is opened (lazy loading: off-screen thumbnails are not fetched)
    gallery_items_loaded: how many result files the browser fetched (of the tiles on the page)

    .venv/bin/python bench/gallery.py [--results N] [--runs N]
    .venv/bin/python bench/gallery.py --seed-only --results 6   # seeds the installation its env names (tests)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import free_port, server_env, signed_in_page, start_server

USERNAME, PASSWORD = "bench", "bench-password-1"
PALETTE = [(40, 70, 120), (150, 80, 40), (30, 110, 90), (110, 40, 110), (160, 140, 50), (60, 60, 70)]


def _picture(index: int, size: tuple[int, int], quality: int) -> bytes:
    """A distinct frame per result: a two-colour gradient with its number (so screenshots tell them apart)."""
    from PIL import Image, ImageDraw

    width, height = size
    top, bottom = PALETTE[index % len(PALETTE)], PALETTE[(index * 7 + 3) % len(PALETTE)]
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    draw.ellipse([width * 0.55, height * 0.2, width * 0.8, height * 0.65], fill=(230, 220, 190))
    draw.text((width * 0.06, height * 0.08), f"#{index + 1}", fill=(255, 255, 255), font_size=max(10, height // 6))
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=quality)
    return buffer.getvalue()


def seed_results(count: int, *, username: str = USERNAME, password: str = PASSWORD) -> dict[str, Any]:
    """An account, a project with one scene and one clip holding `count` image results, newest selected.

    Runs against the installation the environment names (STORYCANVAS_DATA_DIR, DATABASE_URL).
    """
    from app.config import get_settings
    from app.services import clips, projects, scenes, users
    from data import migrate
    from data.engine import dispose_engine, session_scope
    from data.models import GalleryItem

    migrate.upgrade()
    with session_scope() as session:
        user = users.register(session, users.validate_registration(username, f"{username}@example.com", password))
        project = projects.create_project(session, user, projects.parse_create(name="Gallery film", fps=24))
        scene = scenes.create_scene(session, user, project.id, "Harbour")
        clip = clips.create_clip(session, user, scene.id, start=0.0, duration=3.0, label="Pier")
        folder = get_settings().media_dir / "projects" / str(project.id) / "clips" / str(clip.id)
        folder.mkdir(parents=True, exist_ok=True)
        ids = []
        for index in range(count):
            full, thumb = _picture(index, (768, 432), 80), _picture(index, (256, 144), 60)
            digest = hashlib.sha256(full).hexdigest()
            (folder / f"{digest[:16]}.webp").write_bytes(full)
            (folder / f"{digest[:16]}.thumb.webp").write_bytes(thumb)
            item = GalleryItem(
                clip_id=clip.id,
                project_id=project.id,
                kind="image",
                file_path=f"projects/{project.id}/clips/{clip.id}/{digest[:16]}.webp",
                thumbnail_path=f"projects/{project.id}/clips/{clip.id}/{digest[:16]}.thumb.webp",
                width=768,
                height=432,
                content_hash=digest,
                selected=index == count - 1,
                params={
                    "prompt": "a pier at dusk, lanterns",
                    "model": "dreamshaper_8.safetensors",
                    "seed": 1000 + index,
                    "steps": 20,
                    "cfg": 6.5,
                    "sampler": "euler",
                    "server": "Studio GPU",
                    "duration_s": 3.5,
                },
            )
            session.add(item)
            session.flush()
            ids.append(item.id)
        session.commit()
        seeded = {"project_id": project.id, "scene_id": scene.id, "clip_id": clip.id, "item_ids": ids}
    dispose_engine()
    return seeded


def measure(page, base: str, seeded: dict[str, Any], runs: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Median click-to-painted-strip time; bytes of result responses per shown tile on the first load."""
    clip_id = seeded["clip_id"]
    samples: list[float] = []
    loaded: dict[str, int] = {}

    def count(response) -> None:  # type: ignore[no-untyped-def]
        if "/api/v1/gallery/" in response.url:
            try:
                loaded[response.url] = len(response.body())
            except Exception:  # a response cut short by navigation has no body
                loaded.setdefault(response.url, 0)

    tiles = 0
    for run in range(runs):
        if run == 0:
            page.on("response", count)
        page.goto(f"{base}/scenes/{seeded['scene_id']}")
        page.wait_for_selector(f"[data-clip-id='{clip_id}']")
        page.wait_for_function("() => window.did_handshake === true")
        page.evaluate(
            """() => { window.__paint = null;
              new MutationObserver((_, o) => { if (document.querySelector('[data-testid=result]')) {
                o.disconnect(); requestAnimationFrame(() => requestAnimationFrame(() => {
                  window.__paint = performance.now(); })); } })
                .observe(document.body, {childList: true, subtree: true});
              window.__start = performance.now(); }"""
        )
        page.locator(f"[data-clip-id='{clip_id}']").click()
        page.wait_for_function("() => window.__paint !== null", timeout=60_000)
        samples.append(page.evaluate("() => window.__paint - window.__start"))
        if run == 0:
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(500)
            page.remove_listener("response", count)
            tiles = page.locator("[data-testid=result]").count()
    total = sum(loaded.values())
    return statistics.median(samples), total / max(1, tiles), len(loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed-only", action="store_true", help="seed the installation the environment names")
    args = parser.parse_args()
    if args.seed_only:
        print(json.dumps(seed_results(args.results, password=os.environ.get("STORYCANVAS_NEW_PASSWORD", PASSWORD))))
        return
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-bench-"))
    process = None
    try:
        env = server_env(data_dir)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("STORYCANVAS_", "NICEGUI_"))})
        seeded = seed_results(args.results)
        port = free_port()
        process = start_server(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            page = signed_in_page(playwright, base, USERNAME, PASSWORD)
            browser = page.context.browser
            render_ms, per_item, fetched = measure(page, base, seeded, args.runs)
            print(f"gallery_render_ms: {render_ms:.0f}")
            print(f"gallery_bytes_per_item: {per_item:.0f}")
            print(f"gallery_items_loaded: {fetched}")
            browser.close()
    finally:
        if process:
            process.terminate()
            process.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
