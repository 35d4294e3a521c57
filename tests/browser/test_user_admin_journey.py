"""An admin invites in a real browser, the invitee joins from another browser, the admin disables them."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from .conftest import VIEWPORT, LiveServer, shot, sign_in, wait_ready

ADMIN = "root"
ADMIN_PASSWORD = "studio-admin-42"
GUEST = "guest"
GUEST_PASSWORD = "guest-password-7"


def _row(page: Page, username: str):
    return page.locator(f'[data-testid="account-row"][data-username="{username}"]')


def test_invite_join_and_disable(live_server: LiveServer, page: Page) -> None:
    base = live_server.url
    live_server.create_user(ADMIN, ADMIN_PASSWORD, admin=True)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_in(page, live_server, ADMIN, ADMIN_PASSWORD)

    # The Users page is in the admin's menu.
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("menu-users").click()
    expect(page).to_have_url(re.compile(r"/users$"))
    wait_ready(page)
    expect(_row(page, ADMIN).get_by_test_id("account-name")).to_have_text(f"{ADMIN} (you)")
    expect(page.get_by_test_id("open-registration")).to_have_attribute("aria-checked", "false")

    # An invitation for the guest's address; the link is shown once.
    page.get_by_test_id("new-invitation").click()
    page.get_by_test_id("invitation-email").fill(f"{GUEST}@example.com")
    shot(page, "invite-dialog")
    page.get_by_test_id("invitation-create").click()
    link_field = page.get_by_test_id("invitation-link")
    expect(link_field).to_have_value(re.compile(r"/invite/[\w-]{40,}$"))
    link = link_field.input_value()
    assert link.startswith(base)
    shot(page, "invitation-link-shown")
    page.get_by_test_id("shown-done").click()
    expect(page.locator('[data-testid="invitation-row"][data-status="pending"]')).to_have_count(1)
    page.get_by_test_id("copy-invitation").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link
    shot(page, "users-page")

    # A different browser (no cookies of the admin's) opens the link and creates the account.
    guest_context = page.context.browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    try:
        guest = guest_context.new_page()
        guest.goto(link)
        expect(guest.get_by_test_id("invite-welcome")).to_have_text("You are invited to join this studio as a member.")
        expect(guest.get_by_label("Email")).to_have_value(f"{GUEST}@example.com")
        guest.get_by_label("Username").fill(GUEST)
        guest.get_by_label("Password (8+ characters)").fill(GUEST_PASSWORD)
        guest.get_by_label("Repeat password").fill(GUEST_PASSWORD)
        shot(guest, "invite-page")
        guest.get_by_test_id("invite-create").click()
        expect(guest).to_have_url(re.compile(r"/projects$"))
        expect(guest.get_by_test_id("user-menu")).to_contain_text(GUEST)
        guest.get_by_test_id("user-menu").click()
        expect(guest.get_by_test_id("menu-users")).to_have_count(0)  # members get no Users link
        guest.keyboard.press("Escape")

        # The link worked once.
        used = guest_context.new_page()
        used.goto(link)
        expect(used.get_by_test_id("invite-problem")).to_contain_text("already been used")
        shot(used, "invite-used")

        # The admin sees the new account and disables it.
        page.reload()
        wait_ready(page)
        expect(page.locator('[data-testid="invitation-row"][data-status="used"]')).to_have_count(1)
        expect(_row(page, GUEST).get_by_test_id("account-state")).to_have_text("active")
        _row(page, GUEST).get_by_test_id("toggle-active").click()
        page.get_by_test_id("confirm-action").click()
        expect(_row(page, GUEST).get_by_test_id("account-state")).to_have_text("disabled")
        shot(page, "guest-disabled")

        # The guest's open browser session ends, and signing in again is refused.
        guest.goto(f"{base}/projects")
        expect(guest).to_have_url(re.compile(r"/login"))
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": GUEST, "password": GUEST_PASSWORD})
        assert token.status_code == 401
    finally:
        guest_context.close()
