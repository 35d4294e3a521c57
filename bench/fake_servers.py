"""Fake ComfyUI servers for the benches, each in a process of its own (its work is not the app's CPU)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start_fake(job_seconds: float, port: int = 0, checkpoints: tuple[str, ...] = ("alpha.safetensors",)) -> tuple[
    subprocess.Popen[str], str
]:
    """A started fake and its URL (`python -m tests.fakes.fake_comfyui` prints `READY <url>` when it listens)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.fake_comfyui",
            "--port",
            str(port),
            "--job-seconds",
            str(job_seconds),
            "--checkpoints",
            ",".join(checkpoints),
            "--preview-frames",
            "0",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("READY "):
            return process, line.split()[1]
    raise RuntimeError("fake ComfyUI did not start")
