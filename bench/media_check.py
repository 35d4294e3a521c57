"""Peak memory of checking a large picture and a decompression bomb before they are stored as results.

Why: a server (or later an upload) decides what the dispatcher decodes. A 12000×12000 PNG decoded whole took
more than a gigabyte; a 20000×20000 "bomb" of about a megabyte must be refused before a pixel is decoded.

Each case runs in a fresh process (ru_maxrss only grows, so one process per figure) and prints:

    media_check_<case>_peak_mb: growth of the process's peak resident memory while checking, in MB
    media_check_<case>_seconds: wall time of the check
    media_check_<case>_outcome: the size it was accepted at, or the reason it was refused

    .venv/bin/python bench/media_check.py            # both cases
    .venv/bin/python bench/media_check.py 12000      # one case (12000 or bomb)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CASE = """
import resource, time
from tests.fakes import fake_media
case = {case!r}
if case == "bomb":
    data = fake_media.streamed_png(20000, 20000, pattern="flat")
else:
    data = fake_media.streamed_png(int(case), int(case))
from app.services import media_check
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    checked = media_check.check_output(data, "result.png", "image")
    outcome = f"accepted {{checked.width}}x{{checked.height}}, thumbnail {{checked.thumbnail.size}}"
except media_check.BadMedia as bad:
    outcome = "refused: " + bad.reason
seconds = time.perf_counter() - started
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(f"media_check_{{case}}_peak_mb: {{peak:.0f}}")
print(f"media_check_{{case}}_seconds: {{seconds:.2f}}")
print(f"media_check_{{case}}_outcome: {{outcome}}")
"""


def run(case: str) -> str:
    with tempfile.TemporaryDirectory(prefix="storycanvas-bench-") as data_dir:
        env = {**os.environ, "STORYCANVAS_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", _CASE.format(case=case)], cwd=ROOT, env=env, capture_output=True, text=True
        )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout


if __name__ == "__main__":
    for name in sys.argv[1:] or ["12000", "bomb"]:
        print(run(name), end="")
