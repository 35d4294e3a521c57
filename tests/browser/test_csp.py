"""The Content-Security-Policy and the other security headers on a running server, in a real browser.

- The main pages (and the API documentation) work under the policy: no `securitypolicyviolation`
  event and no console CSP error while each loads; a deliberate violation proves the listener works.
- Every kind of answer (page, NiceGUI static file, media-like asset, health check, API, docs) carries
  the headers.
- NiceGUI's upload endpoint is capped on the server: a 30 MB body for a 5 MB field is refused with
  413 in words, by its Content-Length and when streamed without one; without a signed-in session the
  upload is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "csp-admin"
PASSWORD = "policy-strict-1"
FIELD_CAP_MB = 5  # components/workflow_import.py: MAX_WORKFLOW_BYTES
BIG = 30 * 1024 * 1024

COLLECTOR = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
});
"""

SECURITY_HEADERS = (
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "cross-origin-opener-policy",
    "permissions-policy",
    "content-security-policy",
)


class CspWatch:
    """Violations seen by the page's listener plus CSP errors on the console, per visited page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.context.add_init_script(COLLECTOR)
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
            self.console.append(text)

    def collected(self) -> list[str]:
        self.page.wait_for_timeout(400)  # late loads (fonts, lazy images, socket upgrade)
        found = list(self.page.evaluate("window.__cspViolations || []"))
        found += self.console
        self.console.clear()
        self.page.evaluate("window.__cspViolations = []")
        return found


def _visit(page: Page, watch: CspWatch, url: str, problems: dict[str, list[str]], ready: str | None = None) -> None:
    page.goto(url)
    if ready:
        expect(page.locator(ready).first).to_be_visible()
    else:
        wait_ready(page)
    found = watch.collected()
    if found:
        problems[url] = found


def _setup(live_server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    live_server.create_user(USERNAME, PASSWORD, admin=True)
    api = live_server.api(USERNAME, PASSWORD)
    project = api.post("/projects", json={"name": "Policy", "fps": 24}).json()
    scene = api.post(f"/projects/{project['id']}/scenes", json={"name": "Opening"}).json()
    clip = {"start": 0, "duration": 2, "label": "Wide", "image_prompt": "sea", "video_prompt": "pan"}
    assert api.post(f"/scenes/{scene['id']}/clips", json=clip).status_code == 201
    return project, scene


def test_main_pages_work_under_the_policy_without_violations(live_server: LiveServer, page: Page) -> None:
    project, scene = _setup(live_server)
    watch = CspWatch(page)
    problems: dict[str, list[str]] = {}
    base = live_server.url

    _visit(page, watch, f"{base}/login", problems)
    sign_in(page, live_server, USERNAME, PASSWORD)
    problems.update({"sign-in": found} if (found := watch.collected()) else {})
    for path in (
        "/projects",
        f"/projects/{project['id']}",
        f"/projects/{project['id']}/timeline",
        f"/projects/{project['id']}/settings",
        f"/scenes/{scene['id']}",
        "/queue",
        "/history",
        "/workflows",
        "/servers",
        "/account",
    ):
        _visit(page, watch, base + path, problems)
    shot(page, "account-under-policy")

    # Dialogs with uploads and previews render under the policy too.
    page.goto(f"{base}/workflows")
    wait_ready(page)
    page.get_by_test_id("import-workflow").click()
    expect(page.get_by_test_id("workflow-upload")).to_be_visible()
    problems.update({"workflow import dialog": found} if (found := watch.collected()) else {})

    # The API documentation is served from this server and renders under the same policy.
    _visit(page, watch, f"{base}/api/docs", problems, ready=".swagger-ui .info")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    shot(page, "api-docs-under-policy")

    assert problems == {}, json.dumps(problems, indent=2)

    # The listener is live: a request to another origin is reported (and blocked before any network).
    page.goto(f"{base}/projects")
    wait_ready(page)
    page.evaluate("() => { const i = new Image(); i.src = 'https://third-party.invalid/pixel.png'; }")
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert any("img-src" in entry for entry in watch.collected())


def test_every_kind_of_answer_carries_the_security_headers(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        login_page = client.get("/login")
        static = re.search(r'src="(/_nicegui/[^"]+/static/nicegui\.js)"', login_page.text)
        assert static, "the login page names NiceGUI's script"
        answers = {
            "page": login_page,
            "static": client.get(static.group(1)),
            "health": client.get("/healthz"),
            "api (refused)": client.get("/api/v1/projects"),
            "api (not found)": client.get("/api/v1/nothing-here"),
            "docs": client.get("/api/docs"),
            "docs asset": client.get("/api/docs/assets/swagger-ui.css"),
            "media (not found)": client.get("/api/v1/gallery/999999/thumbnail"),
        }
    missing = {
        name: [header for header in SECURITY_HEADERS if header not in response.headers]
        for name, response in answers.items()
    }
    assert {name: headers for name, headers in missing.items() if headers} == {}
    assert "frame-ancestors 'self'" in answers["page"].headers["content-security-policy"]
    assert "strict-transport-security" not in answers["page"].headers  # plain HTTP here

    # Behind a TLS proxy on this host (uvicorn believes 127.0.0.1 by default; others are listed with
    # --forwarded-allow-ips): the request counts as HTTPS, so browsers are told to stay on HTTPS.
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        proxied = client.get("/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert proxied.headers["strict-transport-security"].startswith("max-age=")


def _upload_url(page: Page) -> str:
    """The endpoint NiceGUI made for the workflow upload field of this page."""
    element_id = page.get_by_test_id("workflow-upload").get_attribute("id")
    assert element_id and element_id.startswith("c"), element_id
    client_id = page.evaluate("window.clientId")
    return f"/_nicegui/client/{client_id}/upload/{element_id[1:]}"


def _multipart(size: int) -> tuple[bytes, bytes, str]:
    boundary = "----storycanvas-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head, tail, f"multipart/form-data; boundary={boundary}"


def test_uploads_are_capped_and_need_a_signed_in_session(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD, admin=True)
    sign_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server.url}/workflows")
    wait_ready(page)
    page.get_by_test_id("import-workflow").click()
    expect(page.get_by_test_id("workflow-upload")).to_be_visible()
    url = _upload_url(page)

    # 30 MB for a 5 MB field, with its Content-Length: refused before the body is read.
    response = page.request.post(
        live_server.url + url,
        multipart={"file": {"name": "big.json", "mimeType": "application/json", "buffer": b" " * BIG}},
    )
    assert response.status == 413, response.text()
    detail = response.json()["detail"]
    assert f"at most {FIELD_CAP_MB} MB" in detail, detail
    assert response.headers["x-content-type-options"] == "nosniff"

    # The same body streamed without a length (chunked), with this browser's cookies: counted, refused.
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    head, tail, content_type = _multipart(BIG)

    def stream() -> Iterator[bytes]:
        yield head
        for _ in range(BIG // (256 * 1024)):
            yield b" " * (256 * 1024)
        yield tail

    with httpx.Client(base_url=live_server.url, cookies=cookies, timeout=60) as client:
        streamed = client.post(url, content=stream(), headers={"Content-Type": content_type})
    assert streamed.status_code == 413, streamed.text
    assert f"at most {FIELD_CAP_MB} MB" in streamed.json()["detail"]

    # Without a signed-in session (no cookies at all): refused, even a small body.
    with httpx.Client(base_url=live_server.url, timeout=30) as stranger:
        small = head + b"{}" + tail
        refused = stranger.post(url, content=small, headers={"Content-Type": content_type})
    assert refused.status_code == 403, refused.text
    assert "signed-in" in refused.json()["detail"]

    # Another signed-in browser (another account) cannot post into this page's upload field.
    live_server.create_user("csp-other", PASSWORD)
    other_context = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        other = other_context.new_page()
        sign_in(other, live_server, "csp-other", PASSWORD)
        crossed = other.request.post(
            live_server.url + url,
            multipart={"file": {"name": "small.json", "mimeType": "application/json", "buffer": b"{}"}},
        )
        assert crossed.status == 403, crossed.text()
        assert "another browser session" in crossed.json()["detail"]
    finally:
        other_context.close()

    # The field still takes a file within its limit from the signed-in browser: it reaches the
    # import, which reads it and answers about its content (a graph without an output node).
    workflow = {"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}}}
    page.get_by_test_id("workflow-upload").locator("input[type=file]").set_input_files(
        files=[{"name": "small.json", "mimeType": "application/json", "buffer": json.dumps(workflow).encode()}]
    )
    expect(page.get_by_role("dialog").get_by_text("The workflow has no output node")).to_be_visible()
    shot(page, "small-upload-reached-the-import")
