"""How long a big project import keeps other writers waiting on SQLite; run by hand.

Why: SQLite has one writer at a time. An import that holds the write lock for its whole
length (a 40,000-clip import held it 13–32 s) stalls every edit, and the dispatcher, for
that long. The import commits in chunks, so another writer waits at most one chunk.

The script makes a JSON export of a project with --clips clips in 40 scenes, imports it in
one thread while another thread renames a project every 20 ms, and prints, exactly:

    import_s: 12.3
    import_clips: 40000
    other_writer_max_wait_ms: 180
    other_writer_failures: 0

    .venv/bin/python bench/import_lock.py [--clips 40000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRITE_EVERY_S = 0.02


def _document(clips: int) -> bytes:
    scenes = 40
    per_scene = max(1, clips // scenes)
    return json.dumps(
        {
            "schema": "storycanvas.project",
            "version": 1,
            "project": {"name": "Big import", "fps": 24, "width": 1920, "height": 1080, "tags": [], "settings": {}},
            "characters": [],
            "styles": [],
            "media_assets": [],
            "scenes": [
                {
                    "name": f"Scene {s}",
                    "description": "",
                    "clips": [
                        {"start_frame": c * 24, "duration_frames": 24, "label": f"{s}.{c}", "image_prompt": "sky"}
                        for c in range(per_scene)
                    ],
                }
                for s in range(scenes)
            ],
        }
    ).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40_000)
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-import-bench-"))
    os.environ["STORYCANVAS_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy.exc import OperationalError

    from app.services import exports, projects, users
    from data import migrate
    from data.engine import session_scope

    try:
        migrate.upgrade()
        with session_scope() as session:
            owner = users.register(
                session, users.validate_registration("bench", "bench@example.com", "bench-password"), force=True
            )
            other = projects.create_project(session, owner, projects.parse_create(name="Other"))
        document = _document(args.clips)
        waits: list[float] = []
        failures: list[int] = []
        done = threading.Event()

        def other_writer() -> None:
            n = 0
            while not done.is_set():
                started = time.perf_counter()
                try:
                    with session_scope() as session:
                        projects.update_project(session, owner, other.id, projects.parse_update(name=f"Other {n}"))
                except OperationalError:  # "database is locked": it waited the whole busy timeout
                    failures.append(n)
                waits.append(time.perf_counter() - started)
                n += 1
                time.sleep(WRITE_EVERY_S)

        writer = threading.Thread(target=other_writer)
        started = time.perf_counter()
        writer.start()
        with session_scope() as session:
            project, _ = exports.import_project(session, owner, document)
        elapsed = time.perf_counter() - started
        done.set()
        writer.join()
        with session_scope() as session:
            count = projects.project_stats(session, owner, project.id).clips  # type: ignore[arg-type]
        print(f"import_s: {elapsed:.1f}")
        print(f"import_clips: {count}")
        print(f"other_writer_max_wait_ms: {max(waits) * 1000:.0f}")
        print(f"other_writer_failures: {len(failures)}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
