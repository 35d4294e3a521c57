"""Looking after projects in a real browser: settings from the dashboard, card menu, list view, deletion."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import LiveServer, shot, sign_in, wait_ready

USERNAME = "otto"
PASSWORD = "keyframes-4ever"


def _create_project(page: Page, name: str) -> None:
    """The N shortcut opens the form; the app then opens the new project's dashboard."""
    expect(page).to_have_url(re.compile(r"/projects$"))
    wait_ready(page)
    page.keyboard.press("n")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_test_id("save-project").click()
    expect(page).to_have_url(re.compile(r"/projects/\d+$"))
    expect(page.get_by_test_id("project-title")).to_have_text(name)


def test_dashboard_settings_rename_updates_title(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    sign_in(page, live_server, USERNAME, PASSWORD)
    _create_project(page, "Paper Moon")
    shot(page, "dashboard")

    page.get_by_test_id("edit-project").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Project settings", exact=True)).to_be_visible()
    dialog.get_by_label("Name", exact=True).fill("Paper Moon II")
    dialog.get_by_label("Frame rate").click()
    page.get_by_role("option", name="23.976 fps", exact=True).click()
    shot(page, "settings-dialog")
    dialog.get_by_role("button", name="Save").click()

    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("project-title")).to_have_text("Paper Moon II")
    expect(page.get_by_test_id("stat-format")).to_have_text("1920×1080 · 23.976 fps")
    expect(page.get_by_test_id("activity")).to_contain_text("Paper Moon II")
    shot(page, "dashboard-renamed")
    page.reload()  # a fresh page shows the new name everywhere
    expect(page.get_by_test_id("page-title")).to_have_text("Paper Moon II")
    expect(page).to_have_title(re.compile("^Paper Moon II"))


def test_dashboard_rename_updates_header_and_tab_title(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    sign_in(page, live_server, USERNAME, PASSWORD)
    _create_project(page, "Paper Moon")
    page.get_by_test_id("edit-project").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("Paper Moon II")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("project-title")).to_have_text("Paper Moon II")
    expect(page.get_by_test_id("page-title")).to_have_text("Paper Moon II", timeout=3_000)
    expect(page).to_have_title(re.compile("^Paper Moon II"), timeout=3_000)


def test_card_menu_list_view_archive_and_delete(live_server: LiveServer, page: Page) -> None:
    live_server.create_user(USERNAME, PASSWORD)
    sign_in(page, live_server, USERNAME, PASSWORD)
    for name in ("Storm Chaser", "Glass Garden"):
        _create_project(page, name)
        page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="Projects").click()
        expect(page).to_have_url(re.compile(r"/projects$"))
    expect(page.get_by_test_id("project-card")).to_have_count(2)

    # The list view shows the same projects as rows, and is remembered.
    page.get_by_role("button", name="List", exact=True).click()
    expect(page.get_by_test_id("project-card").first).to_contain_text("1920×1080")
    shot(page, "list-view")
    page.reload()
    expect(page.get_by_role("button", name="List", exact=True)).to_have_attribute("aria-pressed", "true")

    def row(name: str):
        return page.get_by_test_id("project-card").filter(has_text=name)

    # Archive from the row's menu: the click on the menu does not open the project.
    row("Storm Chaser").get_by_test_id("project-menu").click()
    page.get_by_role("menu").get_by_text("Archive", exact=True).click()
    expect(page.get_by_text("Archived 1 project")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/projects$"))
    expect(row("Storm Chaser")).to_have_count(0)
    expect(row("Glass Garden")).to_have_count(1)
    page.get_by_label("Show").click()
    page.get_by_role("option", name="All", exact=True).click()
    expect(row("Storm Chaser")).to_contain_text("archived")
    expect(row("Glass Garden")).not_to_contain_text("archived")
    shot(page, "list-all-after-archive")

    # Delete asks first, saying what goes.
    row("Glass Garden").get_by_test_id("project-menu").click()
    page.get_by_role("menu").get_by_text("Delete…", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("confirm-message")).to_contain_text("This removes 1 project. It cannot be undone.")
    shot(page, "delete-confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row("Glass Garden")).to_have_count(1)

    row("Glass Garden").get_by_test_id("project-menu").click()
    page.get_by_role("menu").get_by_text("Delete…", exact=True).click()
    page.get_by_test_id("confirm-action").click()
    expect(page.get_by_text("Deleted 1 project")).to_be_visible()
    expect(row("Glass Garden")).to_have_count(0)
    expect(row("Storm Chaser")).to_have_count(1)
    shot(page, "after-delete")
