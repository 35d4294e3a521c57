"""Session fixation through the real pages: cookies planted before sign-in never become signed-in ones."""

from __future__ import annotations

import httpx
from nicegui import core, ui
from nicegui.testing import User

from app.services import browser_sessions
from app.services.browser_sessions import COOKIE_NAME

from .conftest import click_exact

PAGE_STORAGE = "session"  # NiceGUI's own signed cookie, naming the browser's page storage


def _browser() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test")


def _cookie(client: httpx.AsyncClient, name: str) -> str | None:
    values = {cookie.value for cookie in client.cookies.jar if cookie.name == name}
    assert len(values) <= 1, values
    return values.pop() if values else None


async def _signed_in(client: httpx.AsyncClient) -> bool:
    response = await client.get("/projects", follow_redirects=False)
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


async def _sign_in_through_the_form(user: User, username: str = "alice") -> None:
    await user.open("/login")
    user.find("Username or email").type(username)
    user.find("Password").type("correct-horse-1")
    user.find(kind=ui.button, content="Sign in").click()
    await user.should_see("New project", retries=50)


async def test_cookies_planted_before_sign_in_stay_signed_out(user: User, make_user) -> None:
    make_user("alice")
    async with _browser() as attacker:
        # The attacker visits first and plants their cookies (page storage and session) in the victim's browser.
        await attacker.get("/login")
        attacker.cookies.set(COOKIE_NAME, "chosen-by-the-attacker", domain="test.local")
        for cookie in attacker.cookies.jar:
            user.http_client.cookies.set(cookie.name, cookie.value, domain=cookie.domain, path=cookie.path)
        planted_storage = _cookie(attacker, PAGE_STORAGE)
        assert planted_storage

        await _sign_in_through_the_form(user)

        assert _cookie(user.http_client, COOKIE_NAME) not in (None, "chosen-by-the-attacker")
        assert _cookie(user.http_client, PAGE_STORAGE) != planted_storage
        assert await _signed_in(user.http_client)
        assert not await _signed_in(attacker)


async def test_signing_in_leads_to_next_only_within_the_site(user: User, make_user) -> None:
    make_user("alice")
    await user.open("/login?next=/\\evil.example/a")
    user.find("Username or email").type("alice")
    user.find("Password").type("correct-horse-1")
    user.find(kind=ui.button, content="Sign in").click()
    await user.should_see("New project", retries=50)
    assert user.back_history[-1].startswith("/auth/session?")
    assert "next=%2Fprojects" in user.back_history[-1]


async def test_a_password_change_signs_out_the_other_browsers_and_keeps_this_one(user: User, make_user, db) -> None:
    alice = make_user("alice")
    async with _browser() as other:
        other.cookies.set(COOKIE_NAME, browser_sessions.create(db, alice), domain="test.local")
        assert await _signed_in(other)
        await _sign_in_through_the_form(user)
        before = _cookie(user.http_client, COOKIE_NAME)

        await user.open("/account")
        user.find("Current password").type("correct-horse-1")
        user.find("New password (8+ characters)").type("brand-new-pass")
        user.find("Repeat new password").type("brand-new-pass")
        click_exact(user, "Change password")
        await user.should_see("Every other browser and API token was signed out.", retries=50)

        assert not await _signed_in(other)
        after = _cookie(user.http_client, COOKIE_NAME)
        assert after not in (None, before)
        assert await _signed_in(user.http_client)
        assert browser_sessions.count_for(db, alice.id) == 1
