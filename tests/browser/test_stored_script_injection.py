"""Stored script injection: text one person stores never runs as script in another person's browser.

A non-administrator stores script payloads in every text field they can reach (project name, description
and tags; scene name and description; clip label, prompts and notes; workflow, batch and preset names; a
negative prompt). The administrator names the servers with payloads too, and a fake ComfyUI answers with
payloads as its error messages, node errors, exception types, GPU name and model file names, which the
app turns into job errors and notifications; the accounts' email addresses hold what an address may (quotes,
backticks, braces, dollars). Then the administrator opens every page (and the dialogs and panels that show
this text), and watches failures arrive as toasts; the test collects, page by page, what went wrong:

- a JavaScript dialog opened (`alert(1)` ran),
- an element carries an attribute a payload brought (`data-x`, `onmouseover`, an `on…` handler calling
  alert, or an attribute name made of payload punctuation),
- an element a payload brought exists (`#pwned`, a `<script>` saying alert(1), an `<img src=x>`, an iframe),
- the console reported a JavaScript error,
- a payload is missing from the page's text: it was shown as markup, or not at all.

Every finding is listed at the end, at once, so one run shows every field that still leaks.

The payload the assessment proved is here as well: a project name that makes the administrator's browser
open /servers in a hidden frame and flip the first server's Enabled switch. After every page was visited,
the REST API must still report every server enabled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Locator, Page, expect
from sqlmodel import Session, select

from data.engine import make_engine
from data.models import User
from tests.fakes.fake_comfyui import DEFAULT_CHECKPOINTS, FakeComfyUI

from .conftest import SECRET_KEY, LiveServer, free_port, shot, sign_in, wait_ready, wait_until

ADMIN, ADMIN_PASSWORD = "ada", "root-of-trust-91"
MEMBER, MEMBER_PASSWORD = "mallory", "stored-payload-13"
MODEL = DEFAULT_CHECKPOINTS[0]
# An email address may hold quotes, backticks, braces and dollars: the administrator's Users page lists them.
EMAILS = {
    MEMBER: "x'onmouseover='alert`1`'x='@example.com",
    "trudy": "{{7*7}}${alert`1`}@example.com",
}

PAYLOADS: dict[str, str] = {
    "vue-bound-attribute": 'x" :data-x="alert(1)',
    "single-quoted-handler": "' onmouseover='alert(1)' x='",
    "script-close": "</script><script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1) id=pwned>",
    "vue-template": "{{ constructor.constructor('alert(1)')() }}",
    "js-template-literal": "${alert(1)}",
}
KEYS = list(PAYLOADS)
# Tags are at most 40 characters (and lowercased): the template payload without its spaces and digit.
TAG_PAYLOADS = {
    key: value if len(value) <= 40 else "{{constructor.constructor('alert()')()}}" for key, value in PAYLOADS.items()
}
# The assessment's proof: the administrator's browser, only by looking at /projects, turns a server off.
# Once per page (Vue evaluates the bound attribute on every render), and only a switch that is on.
EXPLOIT = (
    "x\" :data-x=\"window.z||(z=document.body.appendChild(document.createElement('iframe')),z.src='/servers',"
    "z.onload=_=>setTimeout(_=>z.contentDocument.querySelector('[aria-checked=true]').click(),2e3))"
)
assert len(EXPLOIT) <= 200  # a project name's limit
EXPLOIT_WAIT_SECONDS = 7.0
ACT_TIMEOUT_MS = 8_000

# Attribute names only a payload brings; an `on…` attribute calling alert; names made of payload punctuation.
INSPECT_JS = """
() => {
  const found = [];
  const injectedNames = new Set(["data-x", "onmouseover", "onerror", "x", "pwned", "constructor"]);
  const describe = (el) => {
    const id = el.id ? "#" + el.id : "";
    const testid = el.getAttribute("data-testid") ? `[data-testid=${el.getAttribute("data-testid")}]` : "";
    return `<${el.tagName.toLowerCase()}${id}${testid}>`;
  };
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (injectedNames.has(name) || (name.startsWith("on") && /alert/.test(attr.value)) || /['"<>{}$()]/.test(name)) {
        found.push(`injected attribute ${attr.name}=${JSON.stringify(attr.value.slice(0, 80))} on ${describe(el)}`);
      }
    }
  }
  if (document.getElementById("pwned")) found.push("injected element #pwned (an <img onerror> payload became markup)");
  for (const img of document.querySelectorAll("img")) {
    if (img.getAttribute("src") === "x") found.push(`injected element <img src=x> in ${describe(img.parentElement)}`);
  }
  for (const script of document.querySelectorAll("script")) {
    if ((script.textContent || "").trim() === "alert(1)") found.push("injected element <script>alert(1)</script>");
  }
  for (const frame of document.querySelectorAll("iframe")) found.push(`injected element <iframe src=${frame.src}>`);
  return found;
}
"""

# What a person reads on the page: its text and the values of its fields.
TEXT_JS = """
(scope) => {
  const root = scope ? document.querySelector(scope) : document.body;
  if (!root) return "";
  return [root.innerText, ...Array.from(root.querySelectorAll("input, textarea"), (el) => el.value)].join("\\n");
}
"""

# Present without any payload on a clean page load of this app (none known today).
BENIGN_CONSOLE: tuple[re.Pattern[str], ...] = ()


@dataclass
class Findings:
    """Problems per page, collected during the whole walk and asserted once at the end."""

    problems: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        """The same problem twice on one page (Vue renders an element more than once) is listed once, counted."""
        line = f"{where}: {what}"
        for index, known in enumerate(self.problems):
            if known == line or known.startswith(line + " (×"):
                count = int(known[len(line) + 3 : -1]) + 1 if known != line else 2
                self.problems[index] = f"{line} (×{count})"
                return
        self.problems.append(line)

    def report(self) -> str:
        return "\n".join(f"  - {line}" for line in self.problems)


@dataclass
class World:
    """What the non-administrator and the administrator stored, by payload key."""

    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    scenes: dict[str, dict[str, Any]] = field(default_factory=dict)
    ok_clips: dict[str, int] = field(default_factory=dict)
    failing_clips: dict[str, int] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)
    failed_jobs: dict[str, int] = field(default_factory=dict)
    servers: list[int] = field(default_factory=list)
    exploit_project: int = 0


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    """A ComfyUI whose own texts are payloads: GPU name, two model file names, and (on demand) its errors."""
    fake = FakeComfyUI(
        job_seconds=0.3,
        gpu_name=PAYLOADS["single-quoted-handler"],
        checkpoints=[MODEL, PAYLOADS["img-onerror"] + ".safetensors", PAYLOADS["vue-bound-attribute"] + ".ckpt"],
    ).start()
    yield fake
    fake.stop()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> LiveServer:
    """One attempt per job: a failure the fake sends stays the job's error."""
    monkeypatch.setenv("STORYCANVAS_JOB_MAX_ATTEMPTS", "1")
    return request.getfixturevalue("live_server")


@contextmanager
def _server_db(server: LiveServer) -> Iterator[Session]:
    """The running app's own database: presets have no REST route, so they are saved through their service."""
    url = server.database_url or f"sqlite:///{server.data_dir / 'storycanvas.db'}"
    engine = make_engine(re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url))
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def _ok(response: httpx.Response) -> Any:
    assert response.is_success, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


def _share_path(item_id: int) -> str:
    """A result's shared link as the app signs it (app/services/share_links.py) with the test server's key."""
    key = hashlib.sha256(f"result-share-links:{SECRET_KEY}".encode()).digest()
    digest = hmac.new(key, f"result:{item_id}".encode(), hashlib.sha256).digest()
    return f"/results/{item_id}?sig={base64.urlsafe_b64encode(digest).decode().rstrip('=')[:22]}"


def _job_statuses(api: httpx.Client, job_ids: list[int]) -> list[str]:
    return [_ok(api.get(f"/jobs/{job_id}"))["status"] for job_id in job_ids]


def _wait_jobs(api: httpx.Client, job_ids: list[int], status: str, timeout: float = 90) -> None:
    def done() -> bool:
        statuses = _job_statuses(api, job_ids)
        assert not any(s in ("failed", "completed", "cancelled") and s != status for s in statuses), statuses
        return all(s == status for s in statuses)

    wait_until(done, timeout=timeout)


def _store_payloads(server: LiveServer, comfy: FakeComfyUI) -> World:
    """Everything the two accounts store, through the REST API (and the preset service)."""
    world = World()
    server.create_user(ADMIN, ADMIN_PASSWORD, admin=True)
    for username, email in EMAILS.items():
        server.create_user(username, MEMBER_PASSWORD, email=email)
    admin = server.api(ADMIN, ADMIN_PASSWORD)
    member = server.api(MEMBER, MEMBER_PASSWORD)

    # Servers are the administrator's: still named with payloads. The first is the fake ComfyUI; the others
    # point at closed ports (one server per address), so they show as offline with their names.
    for index, key in enumerate(KEYS):
        url = comfy.url if index == 0 else f"http://127.0.0.1:{free_port()}"
        body = {"name": PAYLOADS[key][:100], "url": url, "max_jobs": 2}
        world.servers.append(_ok(admin.post("/servers", json=body))["id"])
    gpu = world.servers[0]
    assert MODEL in _ok(admin.post(f"/servers/{gpu}/catalog/refresh"))["checkpoints"]
    wait_until(lambda: _ok(admin.get(f"/servers/{gpu}"))["status"] == "online")

    builtin = next(w for w in _ok(member.get("/workflows")) if w["builtin"] and w["kind"] == "image")
    workflows = {
        key: _ok(member.post(f"/workflows/{builtin['id']}/duplicate", json={"name": PAYLOADS[key]}))["id"]
        for key in KEYS
    }
    world.exploit_project = _ok(member.post("/projects", json={"name": EXPLOIT, "description": EXPLOIT}))["id"]
    for key in KEYS:
        text = PAYLOADS[key]
        body = {"name": text, "description": text, "tags": [TAG_PAYLOADS[key], "ok"], "fps": 24}
        project = world.projects[key] = _ok(member.post("/projects", json=body))
        scene = world.scenes[key] = _ok(
            member.post(f"/projects/{project['id']}/scenes", json={"name": text, "description": text})
        )
        clip = {"label": text, "image_prompt": text, "video_prompt": text, "notes": text, "duration": 2}
        world.ok_clips[key] = _ok(member.post(f"/scenes/{scene['id']}/clips", json={**clip, "start": 0}))["id"]
        world.failing_clips[key] = _ok(member.post(f"/scenes/{scene['id']}/clips", json={**clip, "start": 2}))["id"]

    from app.services import generation_defaults

    with _server_db(server) as session:
        owner = session.exec(select(User).where(User.username == MEMBER)).one()
        for key in KEYS:
            values = {"negative_prompt": PAYLOADS[key], "checkpoint": MODEL}
            generation_defaults.save_preset(session, owner, world.projects[key]["id"], PAYLOADS[key], values)

    # Batches named with payloads, whose jobs succeed: each leaves a result page.
    for key in KEYS:
        body = {"clip_ids": [world.ok_clips[key]], "name": PAYLOADS[key], "settings": {"checkpoint": MODEL}}
        world.batches[key] = _ok(member.post(f"/projects/{world.projects[key]['id']}/batches", json=body))["id"]

    def batches_done() -> bool:
        views = [_ok(member.get(f"/batches/{batch_id}")) for batch_id in world.batches.values()]
        assert not any(view["status"] == "failed" for view in views), views
        return all(view["status"] == "completed" for view in views)

    wait_until(batches_done, timeout=120)
    for key, batch_id in world.batches.items():
        world.results[key] = _ok(member.get(f"/batches/{batch_id}"))["clips"][0]["result_item_id"]

    # Failures whose words come from the "server": an execution error (the member's job and one the
    # administrator starts on the member's clip, which becomes the administrator's notification), then
    # a prompt refused with a node error.
    for index, key in enumerate(KEYS):
        comfy.fail_exception_message = PAYLOADS[key]
        comfy.fail_exception_type = PAYLOADS[KEYS[(index + 1) % len(KEYS)]]
        comfy.fail_next = 2
        clip_id = world.failing_clips[key]
        body = {"checkpoint": MODEL, "workflow_id": workflows[key], "negative_prompt": PAYLOADS[key]}
        jobs = [_ok(member.post(f"/clips/{clip_id}/generate", json=body))[0]["id"]]
        world.failed_jobs[key] = jobs[0]
        jobs.append(_ok(admin.post(f"/clips/{clip_id}/generate", json={"checkpoint": MODEL}))[0]["id"])
        _wait_jobs(admin, jobs, "failed")
        comfy.reject_message = PAYLOADS[key]
        comfy.reject_next = 1
        job = _ok(member.post(f"/clips/{clip_id}/generate", json=body))[0]["id"]
        _wait_jobs(admin, [job], "failed")
    comfy.reject_next = comfy.fail_next = 0
    return world


class Walk:
    """Opens pages as the administrator and inspects each one into `findings`."""

    def __init__(self, page: Page, server: LiveServer, findings: Findings) -> None:
        self.page, self.server, self.findings = page, server, findings
        self.where = "sign-in"
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self._error(f"page error: {error}"))

    def _dialog(self, dialog: Dialog) -> None:
        self.findings.add(self.where, f"a {dialog.type} dialog opened: {dialog.message!r}")
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._error(f"console error: {message.text}")

    def _error(self, text: str) -> None:
        if not any(pattern.search(text) for pattern in BENIGN_CONSOLE):
            self.findings.add(self.where, f"JavaScript {text[:300]}")

    def visit(self, where: str, path: str, *, settle: float = 0.5) -> None:
        self.where = where
        self.findings.visited.append(where)
        self.page.goto(f"{self.server.url}{path}")
        try:
            wait_ready(self.page)
        except Exception as error:  # a page that breaks is a finding, not the end of the walk
            self.findings.add(where, f"the page did not get ready: {str(error).splitlines()[0]}")
        self.page.wait_for_timeout(settle * 1000)

    def act(self, what: str, action: Callable[[], None]) -> None:
        """A step inside the page (open a dialog, a panel, a menu); one that fails twice is a finding.

        A list that redraws under the pointer (a health check, another tab) can swallow a click, hence the
        second try after closing whatever the first one opened.
        """
        self.page.set_default_timeout(ACT_TIMEOUT_MS)
        try:
            for attempt in (1, 2):
                try:
                    action()
                    break
                except Exception as error:
                    if attempt == 2:
                        shot(self.page, f"could-not-{what[:40]}")
                        reason = " ".join(line.strip() for line in str(error).splitlines()[:3])
                        self.findings.add(self.where, f"could not {what}: {reason}")
                    else:
                        self.page.keyboard.press("Escape")
                        self.page.wait_for_timeout(500)
        finally:
            self.page.set_default_timeout(25_000)
        self.page.wait_for_timeout(600)

    def inspect(self, expected: dict[str, str], *, part: str = "", scope: str | None = None) -> None:
        """Injected attributes and elements, and every expected payload as plain text (inside `scope`, a CSS
        selector, when given)."""
        where = f"{self.where}{' · ' + part if part else ''}"
        for problem in self.page.evaluate(INSPECT_JS):
            self.findings.add(where, problem)
        text = self.page.evaluate(TEXT_JS, scope)
        for field_name, payload in expected.items():
            if payload not in text:
                self.findings.add(where, f"{field_name} payload {payload!r} is not shown as text")


def _each(field_name: str, source: dict[str, str] | None = None) -> dict[str, str]:
    """Every payload, named by the field that holds it."""
    return {f"{field_name} [{key}]": value for key, value in (source or PAYLOADS).items()}


def _walk(page: Page, server: LiveServer, world: World, findings: Findings, comfy: FakeComfyUI) -> None:
    walk = Walk(page, server, findings)
    walk.where = "sign-in"
    sign_in(page, server, ADMIN, ADMIN_PASSWORD)
    expect.set_options(timeout=ACT_TIMEOUT_MS)  # a step that does not happen is a finding, soon

    walk.visit("/projects", "/projects", settle=EXPLOIT_WAIT_SECONDS)
    walk.inspect({**_each("project name"), "exploit project name": EXPLOIT})
    shot(page, "projects-as-admin")
    walk.act("open the tag filter", lambda: page.locator(".q-select").filter(has_text="Tag").click())
    walk.inspect(_each("project tag", TAG_PAYLOADS), part="tag options", scope=".q-menu")
    page.keyboard.press("Escape")
    for item, part in (("Settings…", "settings dialog"), ("Delete…", "delete question")):
        for key in KEYS:
            card = page.locator(f"[data-testid=project-card][data-project-id='{world.projects[key]['id']}']")

            def open_item(card: Locator = card, item: str = item) -> None:
                card.get_by_test_id("project-menu").click()
                page.locator(".q-menu .q-item").filter(has_text=item).click()
                expect(page.locator(".q-dialog")).to_be_visible(timeout=ACT_TIMEOUT_MS)

            walk.act(f"open {item} of a project", open_item)
            walk.inspect({"project name": PAYLOADS[key]}, part=f"{part} [{key}]", scope=".q-dialog")
            page.keyboard.press("Escape")
            walk.act("close the dialog", lambda: expect(page.locator(".q-dialog")).to_have_count(0))
    walk.act("show the projects as a list", lambda: page.get_by_text("List", exact=True).click())
    walk.inspect(_each("project name"), part="list view")

    for key in KEYS:
        text = PAYLOADS[key]
        project_id, scene_id = world.projects[key]["id"], world.scenes[key]["id"]

        walk.visit(f"dashboard [{key}]", f"/projects/{project_id}")
        walk.inspect({"project name": text, "scene name": text})

        def open_batch_dialog(key: str = key) -> None:
            page.keyboard.press("g")
            expect(page.get_by_test_id("batch-dialog")).to_be_visible()
            page.get_by_test_id("batch-dialog").locator(".q-select").first.click()

        walk.act("open the batch dialog", open_batch_dialog)
        walk.inspect({"clip label": text, "scene name": text}, part="batch dialog")
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")

        def open_export_dialog() -> None:
            page.keyboard.press("e")
            expect(page.get_by_test_id("export-preview")).to_be_visible(timeout=ACT_TIMEOUT_MS)

        walk.visit(f"dashboard, export [{key}]", f"/projects/{project_id}")
        walk.act("open the export dialog", open_export_dialog)
        walk.inspect({"clip label": text, "scene name": text}, part="export dialog", scope=".q-dialog")
        page.keyboard.press("Escape")

        walk.visit(f"timeline [{key}]", f"/projects/{project_id}/timeline")
        walk.inspect({"scene name": text, "clip label": text})

        walk.visit(f"settings [{key}]", f"/projects/{project_id}/settings")
        walk.inspect({"project name": text, "project description": text, "project tag": TAG_PAYLOADS[key]})

        # The clip whose jobs failed: its inspector, its failed job with the server's words, the dialog's presets.
        walk.visit(f"scene [{key}]", f"/scenes/{scene_id}?clip={world.failing_clips[key]}")
        walk.act("see the clip inspector", lambda: expect(page.get_by_test_id("clip-inspector")).to_be_visible())
        walk.inspect(
            {"scene name": text, "clip label": text, "image prompt": text, "video prompt": text, "notes": text}
            | {"job error": text}
        )

        def open_generation_dialog() -> None:
            page.get_by_test_id("generate-more").click()
            dialog = page.get_by_test_id("generation-dialog")
            expect(dialog).to_be_visible()
            dialog.get_by_test_id("preset-select").click()

        walk.act("open the generation dialog and its presets", open_generation_dialog)
        walk.inspect({"preset name": text}, part="generation dialog")
        page.keyboard.press("Escape")

        walk.visit(f"batch [{key}]", f"/batches/{world.batches[key]}")
        walk.inspect({"batch name": text})

        walk.visit(f"result [{key}]", _share_path(world.results[key]))
        walk.inspect({"clip label": text})
        walk.act("show the result's details", lambda: page.get_by_test_id("results-viewer").press("i"))
        walk.inspect({"prompt": text}, part="details")

    walk.visit("/queue", "/queue")
    walk.inspect({**_each("clip label"), **_each("job error")})
    for key, job_id in world.failed_jobs.items():

        def open_details(job_id: int = job_id) -> None:
            page.get_by_test_id(f"job-actions-{job_id}").locator("[title='Details']").click()
            expect(page.get_by_test_id("job-details")).to_be_visible()

        walk.act(f"open job {job_id}'s details", open_details)
        walk.inspect({"job error": PAYLOADS[key]}, part=f"details of job {job_id} [{key}]")
        page.keyboard.press("Escape")

    walk.visit("/history", "/history")
    walk.inspect(_each("prompt"))

    def compare_two() -> None:
        boxes = page.get_by_test_id("history-table").locator("tbody .q-checkbox")
        boxes.nth(0).click()
        boxes.nth(1).click()
        page.get_by_test_id("history-compare").click()
        expect(page.get_by_test_id("compare-summary")).to_be_visible()

    walk.act("compare two requests", compare_two)
    walk.inspect({}, part="compare dialog")
    page.keyboard.press("Escape")
    failed_badge = page.get_by_test_id("history-table").locator("tbody .q-badge").filter(has_text="failed").first
    walk.act("hover a failed request's status", failed_badge.hover)
    walk.inspect({}, part="error tooltip")

    walk.visit("/workflows", "/workflows")
    walk.inspect(_each("workflow name"))

    walk.visit("/servers", "/servers")
    walk.inspect({**_each("server name"), "GPU name": PAYLOADS["single-quoted-handler"]})
    gpu_row = page.locator(f"[data-testid='server-row'][data-server-id='{world.servers[0]}']")
    def open_models() -> None:
        gpu_row.get_by_test_id("server-catalog").click()
        expect(page.get_by_test_id("server-catalog-panel").first).to_contain_text(".safetensors")  # it has arrived

    walk.act("open the ComfyUI server's models", open_models)
    walk.inspect({"model file name": PAYLOADS["img-onerror"] + ".safetensors"}, part="models")
    for index, key in enumerate(KEYS):
        row = page.locator(f"[data-testid='server-row'][data-server-id='{world.servers[index]}']")

        def edit_server(row: Locator = row) -> None:
            row.get_by_test_id("server-edit").click()
            expect(page.get_by_test_id("server-dialog")).to_be_visible()

        walk.act("open a server's edit dialog", edit_server)
        walk.inspect({"server name": PAYLOADS[key]}, part=f"edit dialog [{key}]", scope=".q-dialog")
        page.keyboard.press("Escape")

    walk.visit("/account", "/account")
    walk.inspect({})

    walk.visit("/users", "/users")
    walk.inspect({f"email of {username}": email for username, email in EMAILS.items()})

    walk.visit("notification panel", "/projects")
    walk.act("open the notification panel", lambda: page.get_by_test_id("notification-bell").click())
    walk.inspect({**_each("clip label in a notice"), **_each("error in a notice")})
    shot(page, "notifications-as-admin")

    # Live: failures that arrive while the administrator looks pop up as toasts (and a desktop notice).
    walk.visit("toasts arriving on /projects", "/projects")
    admin = server.api(ADMIN, ADMIN_PASSWORD)
    comfy.fail_exception_message = PAYLOADS["script-close"]
    comfy.fail_next = len(KEYS)
    jobs = [
        _ok(admin.post(f"/clips/{world.failing_clips[key]}/generate", json={"checkpoint": MODEL}))[0]["id"]
        for key in KEYS
    ]
    _wait_jobs(admin, jobs, "failed")
    walk.act("see a toast", lambda: expect(page.get_by_test_id("toast-title").first).to_be_visible())
    page.wait_for_timeout(1000)
    # One toast for the six, naming the first clips (the rest as "…").
    first = {key: PAYLOADS[key] for key in KEYS[:2]}
    walk.inspect(_each("clip label in a toast", first), scope="[data-testid=toasts]")
    shot(page, "toasts-as-admin")


def test_payloads_stored_by_a_member_never_run_in_the_administrators_browser(
    server: LiveServer, page: Page, comfy: FakeComfyUI
) -> None:
    started = time.monotonic()
    world = _store_payloads(server, comfy)
    stored = time.monotonic()
    findings = Findings()
    _walk(page, server, world, findings, comfy)
    walked = time.monotonic()

    admin = server.api(ADMIN, ADMIN_PASSWORD)
    for server_id in world.servers:
        if not _ok(admin.get(f"/servers/{server_id}"))["enabled"]:
            findings.add(
                "REST check after the walk",
                f"server {server_id} was disabled: a stored name ran an administrator-only action",
            )
    timing = f"storing {stored - started:.0f} s, walking {walked - stored:.0f} s"
    assert not findings.problems, (
        f"{len(findings.problems)} problems on {len(findings.visited)} pages visited as the administrator "
        f"({timing}):\n" + findings.report()
    )
