"""Startup time and idle memory of `storycanvas serve`, measured by hand.

Why: StoryCanvas is one process that self-hosters start on small machines and in containers,
so a slow start delays every deploy and health check, and resident memory is the floor
of what a host must have. The targets are a first answered /login within 3 s and under
150 MB resident when idle; this script gives the two figures to compare against them.

Each run starts `python -m app serve` on a free port with a fresh temporary data folder
(SQLite, a fixed secret key, NiceGUI storage inside the folder), times process start until
GET /login first answers 200, waits a few idle seconds, then reads the resident set size
of the process and any children. With several runs the median is printed:

    .venv/bin/python bench/startup.py [--runs N]

Output, exactly:

    startup_s: 1.23
    idle_rss_mb: 98.7
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POLL_INTERVAL_S = 0.02
STARTUP_TIMEOUT_S = 60.0
IDLE_WAIT_S = 3.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "STORYCANVAS_DATABASE_URL", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    env["STORYCANVAS_DATA_DIR"] = str(data_dir)
    env["NICEGUI_STORAGE_PATH"] = str(data_dir / "nicegui-storage")
    env["STORYCANVAS_SECRET_KEY"] = "bench-startup-fixed-secret-key-not-for-production-use-0123456789"
    return env


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def signed_in_page(playwright: Any, base: str, username: str, password: str) -> Any:
    """A chromium page (Debian's /usr/bin/chromium) signed in through the login form, on /projects."""
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/projects")
    return page


def start_server(
    data_dir: Path, port: int, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """The app on a port of its own, quiet (or into `log`), once it answers /healthz (benches measure it warm)."""
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env or server_env(data_dir),
        cwd=data_dir,
        stdout=output,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start within 60 s")


def pg_database(admin_url: str, prefix: str = "storycanvas_bench") -> tuple[str, str]:
    """A new, empty database on the PostgreSQL server of `admin_url`: its name and its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return name, admin_url.rpartition("/")[0] + "/" + name


def drop_pg_database(admin_url: str, name: str) -> None:
    """Dropped even while connections are open (a process that did not stop in time)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rss_bytes(process: psutil.Process) -> int:
    """Resident memory of the process and all its descendants (NiceGUI may not spawn any)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def measure_once() -> tuple[float, float]:
    """Seconds until /login answers 200, and idle resident memory in MB, for one fresh server."""
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/login"
    log_path = data_dir / "server.log"
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    try:
        with log_path.open("wb") as log:
            started = time.perf_counter()
            proc = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=server_env(data_dir), stdout=log, stderr=subprocess.STDOUT
            )
            try:
                startup = wait_for_login(proc, url, started, log_path)
                time.sleep(IDLE_WAIT_S)
                rss = rss_bytes(psutil.Process(proc.pid))
            finally:
                stop(proc)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return startup, rss / (1024 * 1024)


def wait_for_login(proc: subprocess.Popen[bytes], url: str, started: float, log_path: Path) -> float:
    with httpx.Client(timeout=2.0) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > STARTUP_TIMEOUT_S:
                raise RuntimeError(f"/login did not answer 200 within {STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(POLL_INTERVAL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="fresh server starts to measure; the median is printed")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    startups: list[float] = []
    rss_values: list[float] = []
    for _ in range(args.runs):
        startup, rss_mb = measure_once()
        startups.append(startup)
        rss_values.append(rss_mb)
    print(f"startup_s: {statistics.median(startups):.2f}")
    print(f"idle_rss_mb: {statistics.median(rss_values):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
