"""Fake ComfyUI servers for the benches, outside the bench's process (their work is not the app's CPU).

`start_fake` runs one fake per process; `start_fakes` runs many in one process (each on its own port and
thread, as `python bench/fake_servers.py --count N` does), for fleets too big for a process each.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent


def start_fake(
    job_seconds: float, port: int = 0, checkpoints: tuple[str, ...] = ("alpha.safetensors",)
) -> tuple[subprocess.Popen[str], str]:
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


def start_fakes(
    count: int, job_seconds: float, checkpoints: tuple[str, ...] = ("alpha.safetensors",)
) -> tuple[subprocess.Popen[str], list[str]]:
    """`count` fakes in one process of their own, and their URLs; SIGTERM stops them all."""
    command = [sys.executable, str(Path(__file__).resolve()), "--count", str(count), "--job-seconds", str(job_seconds)]
    process = subprocess.Popen(
        [*command, "--checkpoints", ",".join(checkpoints)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    urls: list[str] = []
    for line in process.stdout:
        if line.startswith("READY "):
            urls.append(line.split()[1])
            if len(urls) == count:
                return process, urls
    stop_fakes([process])
    raise RuntimeError(f"only {len(urls)} of {count} fake ComfyUI servers started")


def stop_fakes(processes: list[subprocess.Popen[str]]) -> None:
    """SIGTERM, then SIGKILL for any that has not gone within 10 s."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def graph(seed: int, checkpoint: str | None) -> dict[str, Any]:
    """A graph the fakes run with no sampler (no progress messages); the seed makes each one different,
    so the fake's whole-graph cache never answers it at once."""
    if checkpoint is None:
        return {
            "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": seed}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bench"}},
        }
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": seed}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "bench"}},
    }


def logs(urls: list[str]) -> list[dict[str, Any]]:
    """Each fake's records: prompts received, executions, interrupts, queue deletes …"""
    return [httpx.get(f"{url}/__fake__/log", timeout=30).json() for url in urls]


def configure(urls: list[str], **knobs: Any) -> None:
    """The same knobs (e.g. job_seconds) on every fake."""
    for url in urls:
        httpx.post(f"{url}/__fake__/config", json=knobs, timeout=10).raise_for_status()


def serve_many(argv: list[str] | None = None) -> None:
    """Runs `--count` fakes until SIGTERM or SIGINT, printing `READY <url>` for each."""
    parser = argparse.ArgumentParser(description="Several fake ComfyUI servers in one process.")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--job-seconds", type=float, default=0.05)
    parser.add_argument("--checkpoints", default="alpha.safetensors")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import uvicorn

    from tests.fakes.fake_comfyui import FakeComfyUI

    class KeepAlive(uvicorn.Config):
        """Idle connections kept 75 s, as ComfyUI's aiohttp server keeps them. uvicorn's 5 s equals the
        client's own expiry, so a request sent as the server closes breaks: a race real servers never run."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("timeout_keep_alive", 75)
            super().__init__(*args, **kwargs)

    setattr(uvicorn, "Config", KeepAlive)  # noqa: B010  # what the fakes' server thread builds its server with

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    checkpoints = [name for name in args.checkpoints.split(",") if name]
    fakes: list[FakeComfyUI] = []
    try:
        for _ in range(args.count):
            fakes.append(FakeComfyUI(job_seconds=args.job_seconds, checkpoints=checkpoints, preview_frames=0).start())
            print(f"READY {fakes[-1].url}", flush=True)
        stopping.wait()
    finally:
        for fake in fakes:
            with contextlib.suppress(Exception):
                fake.stop()


if __name__ == "__main__":
    serve_many()
