"""Sign-in and sign-out in a real browser: the session cookie changes, and after sign-out nothing comes back."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, shot, sign_in

USERNAME = "mira"
PASSWORD = "storyboard-2024"
COOKIE = "storycanvas_session"
PAGE_STORAGE = "session"  # NiceGUI's cookie naming the browser's page storage


def _cookies(page: Page) -> dict[str, dict]:
    return {cookie["name"]: cookie for cookie in page.context.cookies()}


def _signed_in_with(page: Page, base: str, cookies: dict[str, str]) -> bool:
    """Opens /projects in a separate browser holding only these cookies."""
    browser = page.context.browser
    assert browser is not None
    other = browser.new_context()
    try:
        other.add_cookies([{"name": k, "value": v, "url": base} for k, v in cookies.items()])
        stranger = other.new_page()
        stranger.goto(f"{base}/projects")
        return not re.search(r"/login(\?|$)", stranger.url)
    finally:
        other.close()


def test_sign_in_changes_the_cookie_and_sign_out_leaves_nothing_behind(live_server: LiveServer, page: Page) -> None:
    assert CHROMIUM and CHROMIUM_ARGS  # the shared fixtures launch the system Chromium
    base = live_server.url
    live_server.create_user(USERNAME, PASSWORD)

    # Someone planted a session cookie of their choosing before the sign-in.
    page.goto(f"{base}/login")
    page.context.add_cookies([{"name": COOKIE, "value": "chosen-by-someone-else", "url": base}])
    storage_before = _cookies(page)[PAGE_STORAGE]["value"]

    sign_in(page, live_server, USERNAME, PASSWORD)
    expect(page.get_by_test_id("user-menu")).to_contain_text(USERNAME)
    shot(page, "signed-in")
    cookies = _cookies(page)
    session = cookies[COOKIE]
    assert session["value"] != "chosen-by-someone-else"
    assert session["httpOnly"] is True and session["sameSite"] == "Lax" and session["path"] == "/"
    assert cookies[PAGE_STORAGE]["value"] != storage_before
    assert not page.evaluate("document.cookie").count(COOKIE)  # scripts on the page cannot read it
    assert not _signed_in_with(page, base, {COOKIE: "chosen-by-someone-else", PAGE_STORAGE: storage_before})
    assert _signed_in_with(page, base, {COOKIE: session["value"]})

    # Sign out from the user menu.
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shot(page, "signed-out")
    assert COOKIE not in _cookies(page)
    assert not _signed_in_with(page, base, {COOKIE: session["value"]})  # the old cookie is dead, not only deleted

    # The back button does not bring the projects page back.
    page.go_back()
    # Straight away, not eventually: no copy of the signed-in page is shown from a cache.
    assert re.search(r"/login(\?|$)", page.url), page.url
    assert page.get_by_test_id("user-menu").count() == 0
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
    shot(page, "back-after-sign-out")
