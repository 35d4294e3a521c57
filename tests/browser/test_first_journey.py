"""The first visit of a new user, in a real browser: account, sign-in, a first project, its upkeep."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import LiveServer, shot

USERNAME = "mira"
PASSWORD = "storyboard-2024"
PROJECT = "The Lighthouse Keeper"
RENAMED = "The Lighthouse Keeper (director's cut)"


def _sign_out(page: Page) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def _card(page: Page, name: str):
    return page.get_by_test_id("project-card").filter(
        has=page.get_by_test_id("project-name").get_by_text(name, exact=True)
    )


def test_first_journey(live_server: LiveServer, page: Page) -> None:
    base = live_server.url

    # A stranger opens the app: sent to sign in, told the first account becomes the administrator.
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    expect(page).to_have_title(re.compile("Sign in"))
    expect(page.get_by_test_id("first-run")).to_have_text(
        "No accounts yet: create the first one, it becomes the administrator."
    )
    shot(page, "login-first-run")

    # Create the first account.
    page.get_by_role("tab", name="Create account").click()
    page.get_by_label("Username", exact=True).fill(USERNAME)
    page.get_by_label("Email").fill(f"{USERNAME}@example.com")
    page.get_by_label("Password (8+ characters)").fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    shot(page, "create-account-filled")
    page.get_by_role("button", name="Create account").click()

    # Lands on an empty projects page.
    expect(page).to_have_url(re.compile(r"/projects$"))
    expect(page.get_by_test_id("empty-state")).to_contain_text("No projects yet.")
    expect(page.get_by_test_id("user-menu")).to_contain_text(USERNAME)
    shot(page, "projects-empty")

    # Sign out, then back in on the Sign in tab (now the default: an account exists).
    _sign_out(page)
    expect(page.get_by_test_id("first-run")).to_have_count(0)
    expect(page.get_by_role("tab", name="Sign in")).to_have_attribute("aria-selected", "true")
    shot(page, "login-after-sign-out")
    page.get_by_label("Username or email").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/projects$"))
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    shot(page, "projects-signed-in-again")

    # A first project: name, frame rate 25, tags.
    page.get_by_test_id("new-project").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("New project", exact=True)).to_be_visible()
    dialog.get_by_label("Name", exact=True).fill(PROJECT)
    dialog.get_by_label("Description").fill("A short animated film about a keeper and a storm.")
    dialog.get_by_label("Frame rate").click()
    page.get_by_role("option", name="25 fps", exact=True).click()
    expect(dialog.get_by_label("Frame rate")).to_have_value("25 fps")
    tags = dialog.get_by_label("Tags")
    for tag in ("animation", "short"):
        tags.fill(tag)
        tags.press("Enter")
        expect(dialog.get_by_text(tag, exact=True)).to_be_visible()  # one chip at a time, as a person types
    expect(dialog.get_by_text("animation", exact=True)).to_be_visible()
    shot(page, "new-project-dialog")
    dialog.get_by_test_id("save-project").click()

    # The app opens the new project's dashboard.
    expect(page).to_have_url(re.compile(r"/projects/\d+$"))
    project_url = page.url
    expect(page.get_by_test_id("project-title")).to_have_text(PROJECT)
    expect(page.get_by_test_id("page-title")).to_have_text(PROJECT)
    expect(page.get_by_test_id("stat-format")).to_have_text("1920×1080 · 25 fps")
    expect(page.get_by_test_id("stat-scenes")).to_have_text("0")
    expect(page.get_by_test_id("stat-clips")).to_have_text("0")
    expect(page.get_by_test_id("stat-completion")).to_have_text("0%")
    expect(page.get_by_test_id("activity")).not_to_be_empty()
    shot(page, "dashboard-new-project")

    # Back to the list through the breadcrumb: the card is there.
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="Projects").click()
    expect(page).to_have_url(re.compile(r"/projects$"))
    card = _card(page, PROJECT)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("25 fps")
    expect(card).to_contain_text("animation")
    shot(page, "projects-with-card")

    # Rename through the card's quick-actions menu; opening the menu must not open the project.
    card.get_by_test_id("project-menu").click()
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    expect(page).to_have_url(re.compile(r"/projects$"))
    shot(page, "card-menu-open")
    menu.get_by_text("Settings…", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Project settings", exact=True)).to_be_visible()
    expect(dialog.get_by_label("Name", exact=True)).to_have_value(PROJECT)
    dialog.get_by_label("Name", exact=True).fill(RENAMED)
    shot(page, "rename-dialog")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/projects$"))
    expect(_card(page, RENAMED)).to_have_count(1)
    expect(_card(page, PROJECT)).to_have_count(0)
    expect(page.get_by_text(f"Saved “{RENAMED}”")).to_be_visible()
    shot(page, "projects-renamed")

    # Open the card, archive from the dashboard.
    _card(page, RENAMED).get_by_test_id("project-name").click()
    expect(page).to_have_url(project_url)
    expect(page.get_by_test_id("project-title")).to_have_text(RENAMED)
    expect(page.get_by_test_id("archived-badge")).to_have_count(0)
    page.get_by_test_id("archive-project").click()
    expect(page.get_by_test_id("archived-badge")).to_have_text("archived")
    expect(page.get_by_test_id("archive-project")).to_contain_text("Restore")
    shot(page, "dashboard-archived")

    # The archived project left the active list and shows under Show: Archived.
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="Projects").click()
    expect(page).to_have_url(re.compile(r"/projects$"))
    expect(page.get_by_test_id("project-card")).to_have_count(0)
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    shot(page, "projects-active-after-archive")
    page.get_by_label("Show").click()
    page.get_by_role("option", name="Archived", exact=True).click()
    expect(page.get_by_label("Show")).to_have_value("Archived")
    archived = _card(page, RENAMED)
    expect(archived).to_have_count(1)
    expect(archived).to_contain_text("archived")
    shot(page, "projects-show-archived")

    # Log out: back on the sign-in page, and the projects are out of reach.
    _sign_out(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shot(page, "signed-out")
    page.goto(f"{base}/projects")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)projects$"))


def test_wrong_password_does_not_sign_in(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)

    page.goto(f"{live_server.url}/login")
    expect(page.get_by_role("tab", name="Sign in")).to_have_attribute("aria-selected", "true")
    page.get_by_label("Username or email").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_test_id("login-error")).to_have_text("Wrong username or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    shot(page, "wrong-password")

    page.goto(f"{live_server.url}/projects")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)projects$"))
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
