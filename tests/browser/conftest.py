"""Real-browser journeys: the app runs as its own process, Chromium drives it through Playwright.

Every test here gets the `browser` marker. Without /usr/bin/chromium (STORYCANVAS_CHROMIUM names
another binary) or without Playwright the tests skip with the reason, unless
STORYCANVAS_REQUIRE_BROWSER=1 (CI), where they fail. Never `playwright install`: the system
Chromium is used.

- `live_server`: a fresh `python -m app serve` on a free port with its own data directory and,
  when the suite runs on PostgreSQL, its own throwaway database. Its output goes to a log file
  that is attached to the report of a failing test.
- `page`: a Chromium page (Playwright's sync API, opened and closed inside the test: a
  session-wide `sync_playwright()` would break the asyncio tests of the rest of the suite).
- `shot(page, name)`: a full-page screenshot, test-output/screenshots/<test>/<NN-name>.png.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path(os.environ.get("STORYCANVAS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1440, "height": 900}
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_ROOT = REPO_ROOT / "test-output" / "screenshots"
SECRET_KEY = "browser-test-secret-key-not-for-production"
STARTUP_TIMEOUT = 30.0
BROWSER_DIR = Path(__file__).resolve().parent
REQUIRE_BROWSER = os.environ.get("STORYCANVAS_REQUIRE_BROWSER") == "1"


def browser_problem() -> str | None:
    """Why real-browser tests cannot run on this machine, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"real-browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return f"real-browser tests need Playwright (pip install -e '.[test]'): {error}"
    return None


def _is_browser_test(item: pytest.Item) -> bool:
    return BROWSER_DIR in Path(item.path).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problem = browser_problem()
    for item in items:
        if not _is_browser_test(item):
            continue
        item.add_marker(pytest.mark.browser)
        if problem and not REQUIRE_BROWSER:
            item.add_marker(pytest.mark.skip(reason=problem))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item (fixtures look at it) and attach the server log to failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    server: LiveServer | None = getattr(item, "_storycanvas_server", None)
    if server is not None and report.failed and report.when in ("setup", "call"):
        report.sections.append(("storycanvas server log", server.read_log()))
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _suite_database_is_postgresql() -> bool:
    """tests/conftest.py puts DATABASE_URL in the environment only for a PostgreSQL run."""
    return bool(os.environ.get("DATABASE_URL"))


@dataclass
class LiveServer:
    """A running StoryCanvas process."""

    url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    database_url: str | None = None

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no server log: {error})"

    def api(self, username: str, password: str) -> httpx.Client:
        """A REST client signed in as that user (tests set up through the API what the journey does not show)."""
        token = httpx.post(f"{self.url}/api/v1/auth/token", data={"username": username, "password": password}).json()
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30
        )

    def create_user(self, username: str, password: str, *, email: str | None = None, admin: bool = False) -> None:
        """An account made through the `storycanvas create-user` command against this server's database."""
        command = [sys.executable, "-m", "app", "create-user", username, email or f"{username}@example.com"]
        if admin:
            command.append("--admin")
        result = subprocess.run(
            command,
            env={**self.env, "STORYCANVAS_NEW_PASSWORD": password},
            cwd=self.data_dir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"create-user failed:\n{result.stdout}\n{result.stderr}"


def _server_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)  # else NiceGUI believes it runs under pytest and refuses ui.run
    env.pop("STORYCANVAS_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(
        STORYCANVAS_DATA_DIR=str(data_dir),
        NICEGUI_STORAGE_PATH=str(data_dir / "nicegui-storage"),
        STORYCANVAS_SECRET_KEY=SECRET_KEY,
        STORYCANVAS_RUN_DISPATCHER="1",  # a real app: its dispatcher feeds the fake ComfyUI servers
        STORYCANVAS_HEALTH_INTERVAL_SECONDS="2",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p),
    )
    return env


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Polls a condition outside the browser (the API, the database) until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def _wait_until_healthy(server: LiveServer) -> str | None:
    """None once GET /healthz answers 200; otherwise why the server did not come up."""
    assert server.process is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return f"the server exited with code {server.process.returncode}"
            try:
                response = client.get(f"{server.url}/healthz")
                if response.status_code == 200:
                    return None
                last_error = f"/healthz answered {response.status_code}"
            except httpx.HTTPError as error:
                last_error = f"{type(error).__name__}: {error}"
            time.sleep(0.1)
    return f"no healthy answer from {server.url}/healthz within {STARTUP_TIMEOUT:.0f} s ({last_error})"


@contextlib.contextmanager
def running_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """A fresh app process (and database) for as long as the block runs; `request` receives its log on failure."""
    data_dir = Path(tempfile.mkdtemp(prefix="storycanvas-browser-"))
    database_url = None
    if _suite_database_is_postgresql():
        from tests.conftest import create_pg_database

        database_url = create_pg_database()
    env = _server_env(data_dir, database_url)
    server: LiveServer | None = None
    try:
        problem = None
        for _attempt in range(3):  # the free port can be taken between choosing and binding it
            port = free_port()
            log_path = data_dir / f"server-{port}.log"
            server = LiveServer(f"http://127.0.0.1:{port}", data_dir, log_path, env, database_url=database_url)
            request.node._storycanvas_server = server
            with log_path.open("wb") as log:
                server.process = subprocess.Popen(
                    [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    cwd=data_dir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            problem = _wait_until_healthy(server)
            if problem is None:
                break
            stop_process(server.process)
            if "address already in use" not in server.read_log().lower():
                break
        if problem is not None:
            assert server is not None
            pytest.fail(f"StoryCanvas did not start: {problem}\n--- server output ---\n{server.read_log()}")
        assert server is not None
        yield server
    finally:
        if server is not None and server.process is not None:
            stop_process(server.process)
            if _failed(request):
                _keep_log(request, server)
        if database_url:
            from tests.conftest import drop_pg_database

            drop_pg_database(database_url)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with running_server(request) as server:
        yield server


def _test_dir_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")


def _keep_log(request: pytest.FixtureRequest, server: LiveServer) -> None:
    """A failing test's server log stays next to its screenshots."""
    target = SCREENSHOT_ROOT / _test_dir_name(request)
    target.mkdir(parents=True, exist_ok=True)
    (target / "server.log").write_text(server.read_log())


# Screenshots: per page, the folder and the running number of the next picture.
_shots: dict[int, list[Any]] = {}


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as test-output/screenshots/<test>/<NN-name>.png and return its path."""
    state = _shots.get(id(page))
    if state is None:  # a page not made by the fixture: file it under "misc"
        state = _shots[id(page)] = [SCREENSHOT_ROOT / "misc", 1]
    folder, number = state
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{number:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')}.png"
    state[1] = number + 1
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path


@pytest.fixture(autouse=True)
def _browser_available() -> None:
    """First thing in every browser test: without a browser, fail (the test was not skipped: CI)."""
    problem = browser_problem()
    if problem:
        pytest.fail(f"{problem} (STORYCANVAS_REQUIRE_BROWSER=1)", pytrace=False)


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)
    folder = SCREENSHOT_ROOT / _test_dir_name(request)
    shutil.rmtree(folder, ignore_errors=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
        context.set_default_timeout(25_000)
        browser_page = context.new_page()
        console: list[str] = []
        browser_page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        browser_page.on("pageerror", lambda e: console.append(f"page error: {e}"))
        _shots[id(browser_page)] = [folder, 1]
        try:
            yield browser_page
        finally:
            if _failed(request):
                with contextlib.suppress(Exception):
                    shot(browser_page, "FAILED")
                if console:
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / "browser-console.log").write_text("\n".join(console))
            _shots.pop(id(browser_page), None)
            context.close()
            browser.close()


def wait_ready(page: Any) -> None:
    """Wait until the page is mounted and connected to its server-side client.

    Clicks made earlier are not lost (NiceGUI holds events until the handshake), but listeners
    on the document, like `ui.keyboard` shortcuts, exist only once the page is mounted.
    """
    page.wait_for_function("() => window.did_handshake === true")


def sign_in(page: Any, server: LiveServer, username: str, password: str) -> None:
    """Sign in through the /login form and wait for the projects page."""
    from playwright.sync_api import expect

    page.goto(f"{server.url}/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/projects$"))
    wait_ready(page)
