"""Security headers, body caps, the closed CORS preflight and the offline API docs, on the API app.

The same routers and error handler as the server, with `http_security.install` as app/main.py calls
it. The NiceGUI upload endpoint and the pages are checked against a running server in
tests/browser/test_csp.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import api, http_security
from app.config import Settings

SMALL_CAP = 64 * 1024
IMPORT_CAP = 256 * 1024


def build_app(**settings: object) -> FastAPI:
    """The API as the server mounts it (docs at /api/docs, set up after our routes as ui.run does)."""
    application = FastAPI(docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    application.docs_url = "/api/docs"
    application.redoc_url = "/api/redoc"
    api.mount(application)
    values: dict[str, object] = {"max_request_bytes": SMALL_CAP, "max_import_bytes": IMPORT_CAP}
    values.update(settings)
    http_security.install(application, Settings(**values))  # type: ignore[arg-type]
    application.setup()  # what ui.run(fastapi_docs=…) does after build(): FastAPI's own docs routes
    return application


@pytest.fixture
def secured() -> Iterator[TestClient]:
    with TestClient(build_app()) as client:
        yield client


def assert_security_headers(response, *, https: bool = False) -> None:  # type: ignore[no-untyped-def]
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("same-origin", "strict-origin-when-cross-origin")
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    assert "microphone=()" in headers["permissions-policy"]
    assert "geolocation=()" in headers["permissions-policy"]
    policy = {part.split()[0]: part.split()[1:] for part in headers["content-security-policy"].split("; ")}
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    sources = [source for values in policy.values() for source in values]
    # No third-party origin anywhere: only keywords, data:/blob: and this host's websocket form.
    assert all(s.startswith("'") or s in ("data:", "blob:") or s.endswith("//testserver") for s in sources), sources
    assert ("strict-transport-security" in headers) is https


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/projects", "/api/v1/no-such-route", "/api/openapi.json"])
def test_every_answer_carries_the_security_headers(secured: TestClient, path: str) -> None:
    assert_security_headers(secured.get(path))


def test_hsts_only_when_the_request_came_over_https() -> None:
    application = build_app()
    with TestClient(application, base_url="https://testserver") as client:
        response = client.get("/healthz")
        assert_security_headers(response, https=True)
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    with TestClient(application) as client:
        assert "strict-transport-security" not in client.get("/healthz").headers


def test_a_route_may_keep_its_own_policy() -> None:
    application = build_app()

    @application.get("/own-policy")
    def own_policy():  # type: ignore[no-untyped-def]
        from fastapi.responses import PlainTextResponse

        return PlainTextResponse("x", headers={"Content-Security-Policy": "default-src 'none'"})

    with TestClient(application) as client:
        response = client.get("/own-policy")
    assert response.headers["content-security-policy"] == "default-src 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_body_over_the_cap_is_refused_by_its_length_with_words(secured: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    headers = {**login("alice"), "Content-Type": "application/json"}
    response = secured.post("/api/v1/projects", content=b"{" + b" " * (SMALL_CAP + 10) + b"}", headers=headers)
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "larger than" in detail and "64 KB" in detail and "STORYCANVAS_MAX_REQUEST_BYTES" in detail
    assert_security_headers(response)


def test_a_streamed_body_without_length_is_counted_and_refused(secured: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    headers = {**login("alice"), "Content-Type": "application/json"}

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 4096  # 160 KB in all, no Content-Length (chunked)
        yield b'"}'

    response = secured.post("/api/v1/projects", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_a_body_under_the_cap_still_works(secured: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    response = secured.post("/api/v1/projects", json={"name": "Film"}, headers=login("alice"))
    assert response.status_code == 201, response.text


def test_a_project_import_has_its_own_larger_cap(secured: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    headers = {**login("alice"), "Content-Type": "application/json"}
    between = b'{"pad": "' + b"x" * (SMALL_CAP * 2) + b'"}'  # over the request cap, under the import cap
    response = secured.post("/api/v1/projects/import", content=between, headers=headers)
    assert response.status_code != 413, response.text
    over = b'{"pad": "' + b"x" * (IMPORT_CAP + 10) + b'"}'
    response = secured.post("/api/v1/projects/import", content=over, headers=headers)
    assert response.status_code == 413
    assert "STORYCANVAS_MAX_IMPORT_BYTES" in response.json()["detail"]


def test_a_content_length_that_is_not_a_number_is_refused(secured: TestClient) -> None:
    response = secured.post("/api/v1/projects", content=b"{}", headers={"Content-Length": "lots"})
    assert response.status_code == 400


PREFLIGHT = {
    "Origin": "https://evil.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


def test_cors_is_closed_by_default_a_preflight_gets_no_allow_headers(secured: TestClient) -> None:
    response = secured.options("/api/v1/projects", headers=PREFLIGHT)
    assert response.status_code == 400
    assert "STORYCANVAS_CORS_ORIGINS" in response.json()["detail"]
    assert not [name for name in response.headers if name.lower().startswith("access-control-allow")]
    simple = secured.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_listed_cors_origins_are_allowed_exactly(login) -> None:  # type: ignore[no-untyped-def]
    application = build_app(cors_origins="https://editor.example, https://other.example/")
    with TestClient(application) as client:
        allowed = client.options("/api/v1/projects", headers={**PREFLIGHT, "Origin": "https://editor.example"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://editor.example"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in allowed.headers
        assert_security_headers(allowed)
        trailing = client.options("/api/v1/projects", headers={**PREFLIGHT, "Origin": "https://other.example"})
        assert trailing.status_code == 200
        refused = client.options("/api/v1/projects", headers=PREFLIGHT)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        actual = client.get("/api/v1/projects", headers={**login("alice"), "Origin": "https://editor.example"})
        assert actual.status_code == 200
        assert actual.headers["access-control-allow-origin"] == "https://editor.example"


def test_api_docs_load_swagger_from_this_server(secured: TestClient) -> None:
    page = secured.get("/api/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text and "fastapi.tiangolo.com" not in page.text
    assert "/api/docs/assets/swagger-ui-bundle.js" in page.text
    assert '"validatorUrl": null' in page.text
    assert_security_headers(page)
    script = secured.get("/api/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert_security_headers(script)
    assert secured.get("/api/docs/assets/swagger-ui.css").status_code == 200
    redoc = secured.get("/api/redoc", follow_redirects=False)
    assert redoc.status_code in (302, 307)
    assert redoc.headers["location"] == "/api/docs"


@pytest.mark.parametrize(
    ("props", "ceiling", "expected"),
    [
        ({"max-file-size": 5_000_000}, 64_000_000, 5_000_000),
        ({"max-file-size": 5_000_000, "multiple": True, "max-files": 3}, 64_000_000, 15_000_000),
        ({"max-file-size": 5_000_000, "max-total-size": 8_000_000, "multiple": True}, 64_000_000, 8_000_000),
        ({"max-file-size": 500_000_000}, 64_000_000, 64_000_000),
        ({"multiple": True}, 64_000_000, 64_000_000),
    ],
)
def test_upload_cap_follows_the_fields_own_limits(props: dict[str, object], ceiling: int, expected: int) -> None:
    class Field:
        _props = props

    cap = http_security.upload_cap(Field(), ceiling)
    assert expected < cap <= expected + 4 * http_security.MULTIPART_OVERHEAD_BYTES


def test_serve_hands_the_proxy_settings_to_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    """`storycanvas serve --forwarded-allow-ips` (or the setting) reaches uvicorn through ui.run."""
    from app import cli, main
    from app.config import reset_settings

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(main, "build", lambda: None)
    monkeypatch.setattr(main.ui, "run", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setenv("STORYCANVAS_FORWARDED_ALLOW_IPS", "10.0.0.5")
    reset_settings()
    try:
        assert cli.main(["serve", "--port", "18080"]) == 0
        assert cli.main(["serve", "--port", "18080", "--forwarded-allow-ips", "172.18.0.2,172.18.0.3"]) == 0
        monkeypatch.delenv("STORYCANVAS_FORWARDED_ALLOW_IPS")
        reset_settings()
        assert cli.main(["serve", "--port", "18080"]) == 0
    finally:
        reset_settings()
    assert calls[0]["forwarded_allow_ips"] == "10.0.0.5" and calls[0]["proxy_headers"] is True
    assert calls[1]["forwarded_allow_ips"] == "172.18.0.2,172.18.0.3"
    assert "forwarded_allow_ips" not in calls[2]  # uvicorn's own default: FORWARDED_ALLOW_IPS or 127.0.0.1


def test_pages_are_kept_out_of_caches_and_json_is_not_forced_to() -> None:
    from fastapi.responses import HTMLResponse

    application = build_app()

    @application.get("/a-page")
    def a_page() -> HTMLResponse:
        return HTMLResponse("<p>only for the signed-in</p>")

    with TestClient(application) as client:
        assert client.get("/a-page").headers["cache-control"] == "no-store"
        assert "cache-control" not in client.get("/healthz").headers
