"""Exports of a 10,000-clip project, per format, measured in-process.

Why: a feature film's cut runs to thousands of clips; handing it to the editor must take seconds, not
minutes, and must not hold the whole server's memory. Aim: under 1000 ms for each text format.

It seeds a temporary SQLite installation (50 scenes x 200 clips; 60 % with a selected video, 30 % a
selected still, 10 % none; a few overlaps; small real files so the existence checks touch the disk) and
times the service call the REST API makes (database read, timeline, writer), then prints per format:

    export_ms_<format>: median wall time of export_project (database to bytes), of --runs runs
    export_peak_mb_<format>: peak Python memory allocated during one export (tracemalloc), in MB

    .venv/bin/python bench/exports.py [--clips N] [--runs N] [--formats fcpxml,edl,…]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import server_env

FORMATS = ("fcpxml", "edl", "xmeml", "otio", "aaf", "json")
SCENES = 50


def seed(clip_count: int) -> tuple[int, int]:
    """The user and project ids of a project with clip_count clips over 50 scenes, written through the models."""
    from app.config import get_settings
    from app.services import projects, users
    from data import migrate
    from data.engine import session_scope
    from data.models import Clip, GalleryItem, Scene

    migrate.upgrade()
    media = get_settings().media_dir
    with session_scope() as session:
        user = users.register(session, users.validate_registration("bench", "bench@example.com", "bench-password-1"))
        project = projects.create_project(session, user, projects.parse_create(name="Feature", fps=23.976))
        per_scene = max(1, clip_count // SCENES)
        made = 0
        for position in range(SCENES):
            scene = Scene(project_id=project.id, position=position, name=f"Scene {position + 1}")
            session.add(scene)
            session.flush()
            clips = []
            for index in range(per_scene if position < SCENES - 1 else clip_count - made):
                # Every 25th clip overlaps its predecessor by 6 frames; every 40th leaves a 12-frame gap.
                start = index * 72 - (6 if index % 25 == 24 else 0) + (12 if index % 40 == 39 else 0)
                clips.append(
                    Clip(
                        scene_id=scene.id,
                        project_id=project.id,
                        start_frame=max(0, start),
                        duration_frames=72,
                        label=f"Shot {position + 1}.{index + 1}",
                        image_prompt="a lighthouse keeper climbs the stairs, lantern light, ink wash",
                        video_prompt="slow push in, the lantern swings",
                        overlap_allowed=index % 25 == 24,
                    )
                )
            session.add_all(clips)
            session.flush()
            made += len(clips)
            for number, clip in enumerate(clips):
                kind = ("video", "video", "video", "video", "video", "video", "image", "image", "image", None)[
                    number % 10
                ]
                if kind is None:
                    continue
                relative = f"projects/{project.id}/clips/{clip.id}/result.{'mp4' if kind == 'video' else 'png'}"
                target = media / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(b"x")
                session.add(
                    GalleryItem(
                        clip_id=clip.id,
                        project_id=project.id,
                        kind=kind,
                        file_path=relative,
                        width=1920,
                        height=1080,
                        duration=3.0 if kind == "video" else None,
                        selected=True,
                        params={"model": "dreamshaper_8.safetensors", "seed": clip.id, "steps": 20, "cfg": 6.5},
                    )
                )
        session.commit()
        return user.id, project.id  # type: ignore[return-value]


def export_once(user_id: int, project_id: int, fmt: str) -> int:
    from app.services import exports
    from data.engine import session_scope
    from data.models import User

    with session_scope() as session:
        user = session.get(User, user_id)
        exported = exports.export_project(session, user, project_id, exports.parse_options(format=fmt))  # type: ignore[arg-type]
        return len(exported.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-bench-"))
    try:
        env = server_env(data_dir)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("STORYCANVAS_", "NICEGUI_"))})
        for name in ("DATABASE_URL", "STORYCANVAS_DATABASE_URL"):
            os.environ.pop(name, None)
        began = time.perf_counter()
        user_id, project_id = seed(args.clips)
        print(f"# seeded {args.clips} clips in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
        for fmt in args.formats.split(","):
            # AAF takes tens of seconds at this size (pyaaf2 builds every object in a compound file): one run.
            runs = 1 if fmt == "aaf" else args.runs
            if fmt != "aaf":
                export_once(user_id, project_id, fmt)  # warm-up: imports, caches
            samples = []
            for _ in range(runs):
                began = time.perf_counter()
                size = export_once(user_id, project_id, fmt)
                samples.append((time.perf_counter() - began) * 1000)
            tracemalloc.start()
            export_once(user_id, project_id, fmt)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"export_ms_{fmt}: {statistics.median(samples):.0f}", flush=True)
            print(f"export_peak_mb_{fmt}: {peak / 1024 / 1024:.1f}", flush=True)
            print(f"# {fmt}: {size / 1024:.0f} KB for {args.clips} clips", file=sys.stderr)
    finally:
        from data.engine import dispose_engine

        dispose_engine()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
