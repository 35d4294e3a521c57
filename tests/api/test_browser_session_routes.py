"""The browser's sign-in and sign-out routes over HTTP: a new cookie at sign-in, none after sign-out.

A media route is the probe: signed in, an unknown item answers 404; signed out, 401.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.middleware.sessions import SessionMiddleware

from app import api
from app.services import browser_sessions
from app.services.browser_sessions import COOKIE_NAME

PROBE = "/api/v1/gallery/999999/thumbnail"


@pytest.fixture(autouse=True)
def _no_tickets():
    browser_sessions.forget_tickets()
    yield
    browser_sessions.forget_tickets()


@pytest.fixture
def site() -> FastAPI:
    """The API plus NiceGUI's signed page-storage cookie (`session`), as on the running server."""
    application = FastAPI()
    api.mount(application)

    @application.get("/test/page-storage")
    def page_storage(request: Request) -> dict[str, str | None]:
        request.session.setdefault("id", "planted-storage-id")
        return {"id": request.session.get("id")}

    application.add_middleware(SessionMiddleware, secret_key="test-page-storage-secret")
    return application


def _signed_in(client: TestClient, cookie: str | None) -> bool:
    client.cookies.clear()
    if cookie:
        client.cookies.set(COOKIE_NAME, cookie)
    status = client.get(PROBE).status_code
    assert status in (401, 404)
    return status == 404


def _set_cookie_header(response, name: str) -> str:
    headers = [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return headers[0]


def test_sign_in_issues_a_new_cookie_and_a_planted_one_stays_signed_out(site: FastAPI, make_user) -> None:
    alice = make_user("alice")
    browser = TestClient(site)
    browser.cookies.set(COOKIE_NAME, "chosen-by-an-attacker")
    ticket = browser_sessions.issue_ticket(alice, None)
    response = browser.get(
        "/auth/session", params={"ticket": ticket, "next": "/queue?status=failed"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/queue?status=failed"
    header = _set_cookie_header(response, COOKIE_NAME).lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header and "secure" not in header
    assert response.headers["cache-control"] == "no-store"
    issued = response.cookies[COOKIE_NAME]
    assert issued != "chosen-by-an-attacker"
    assert _signed_in(browser, issued)
    assert not _signed_in(browser, "chosen-by-an-attacker")


def test_signing_in_again_ends_the_session_the_browser_had(site: FastAPI, make_user) -> None:
    alice = make_user("alice")
    browser = TestClient(site)
    first = browser.get(
        "/auth/session", params={"ticket": browser_sessions.issue_ticket(alice, None)}, follow_redirects=False
    ).cookies[COOKIE_NAME]
    browser.cookies.set(COOKIE_NAME, first)
    second = browser.get(
        "/auth/session", params={"ticket": browser_sessions.issue_ticket(alice, None)}, follow_redirects=False
    ).cookies[COOKIE_NAME]
    assert first != second
    assert _signed_in(browser, second) and not _signed_in(browser, first)


def test_over_https_the_cookie_is_secure(site: FastAPI, make_user) -> None:
    alice = make_user("alice")
    browser = TestClient(site, base_url="https://studio.example")
    response = browser.get(
        "/auth/session", params={"ticket": browser_sessions.issue_ticket(alice, None)}, follow_redirects=False
    )
    assert "secure" in _set_cookie_header(response, COOKIE_NAME).lower()


def test_sign_in_gives_the_browser_a_fresh_page_storage(site: FastAPI, make_user) -> None:
    """NiceGUI's per-browser storage is keyed by its own cookie: a planted one must not survive sign-in."""
    alice = make_user("alice")
    browser = TestClient(site)
    assert browser.get("/test/page-storage").json()["id"] == "planted-storage-id"
    browser.get("/auth/session", params={"ticket": browser_sessions.issue_ticket(alice, None)})
    assert browser.get("/test/page-storage").json()["id"] not in (None, "planted-storage-id")


@pytest.mark.parametrize("ticket", ["", "made-up", "reused"])
def test_a_bad_ticket_sends_back_to_sign_in_without_a_cookie(site: FastAPI, make_user, ticket: str) -> None:
    browser = TestClient(site)
    if ticket == "reused":
        ticket = browser_sessions.issue_ticket(make_user("alice"), None)
        browser.get("/auth/session", params={"ticket": ticket}, follow_redirects=False)
    response = browser.get("/auth/session", params={"ticket": ticket}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert COOKIE_NAME not in response.cookies


@pytest.mark.parametrize(
    "next_path", ["/\\evil.example/a", "/\t/evil.example/b", "//evil.example", "https://evil.example/", "/..//x"]
)
def test_after_sign_in_another_site_is_never_the_destination(site: FastAPI, make_user, next_path: str) -> None:
    alice = make_user("alice")
    response = TestClient(site).get(
        "/auth/session",
        params={"ticket": browser_sessions.issue_ticket(alice, None), "next": next_path},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/projects"


def test_a_ticket_for_another_browser_signs_nobody_in(site: FastAPI, make_user) -> None:
    alice = make_user("alice")
    browser = TestClient(site)
    browser.get("/test/page-storage")  # this browser's page storage is "planted-storage-id"
    ticket = browser_sessions.issue_ticket(alice, "the-browser-that-signed-in")
    response = browser.get("/auth/session", params={"ticket": ticket}, follow_redirects=False)
    assert response.headers["location"] == "/login" and COOKIE_NAME not in response.cookies


def test_sign_out_ends_the_session_even_if_the_browser_kept_the_cookie(site: FastAPI, make_user) -> None:
    alice = make_user("alice")
    browser = TestClient(site)
    cookie = browser.get(
        "/auth/session", params={"ticket": browser_sessions.issue_ticket(alice, None)}, follow_redirects=False
    ).cookies[COOKIE_NAME]
    browser.cookies.set(COOKIE_NAME, cookie)
    response = browser.post("/auth/sign-out", headers={"Sec-Fetch-Site": "same-origin"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    deletion = _set_cookie_header(response, COOKIE_NAME).lower()
    assert "max-age=0" in deletion or "expires=thu, 01 jan 1970" in deletion
    assert not _signed_in(browser, cookie)


def test_another_site_cannot_sign_someone_out(site: FastAPI, make_user) -> None:
    alice = make_user("alice")
    browser = TestClient(site)
    cookie = browser.get(
        "/auth/session", params={"ticket": browser_sessions.issue_ticket(alice, None)}, follow_redirects=False
    ).cookies[COOKIE_NAME]
    browser.cookies.set(COOKIE_NAME, cookie)
    response = browser.post("/auth/sign-out", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert response.status_code == 403 and "another site" in response.json()["detail"]
    assert _signed_in(browser, cookie)
    assert browser.get("/auth/sign-out").status_code == 405  # a link cannot do it either


def test_a_password_change_signs_out_every_browser_and_this_one_signs_in_anew(site: FastAPI, make_user, db) -> None:
    alice = make_user("alice")
    laptop, phone = TestClient(site), TestClient(site)
    cookies = [
        client.get(
            "/auth/session", params={"ticket": browser_sessions.issue_ticket(alice, None)}, follow_redirects=False
        ).cookies[COOKIE_NAME]
        for client in (laptop, phone)
    ]
    assert all(_signed_in(laptop, cookie) for cookie in cookies)
    updated = browser_sessions.change_password(db, db.merge(alice), "correct-horse-1", "a-brand-new-one")
    assert not any(_signed_in(laptop, cookie) for cookie in cookies)
    again = laptop.get(
        "/auth/session", params={"ticket": browser_sessions.issue_ticket(updated, None)}, follow_redirects=False
    ).cookies[COOKIE_NAME]
    assert _signed_in(laptop, again) and not _signed_in(phone, cookies[1])
