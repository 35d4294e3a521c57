from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from app.services import projects
from data.models import Project

from .conftest import click_exact, click_menu_item


async def test_new_project_dialog_creates_and_opens_the_dashboard(user: User, sign_in, db) -> None:
    await sign_in(user)
    await user.should_see("No projects yet.")
    user.find(kind=ui.button, content="New project").click()
    await user.should_see("New project")
    user.find("Name").type("Moonrise")
    user.find(kind=ui.button, content="Create project").click()
    await user.should_see("Moonrise")
    await user.should_see("Completion")
    stored = db.exec(select(Project)).one()
    assert stored.name == "Moonrise" and stored.fps == 24.0


async def test_invalid_project_form_says_what_is_wrong_and_saves_nothing(user: User, sign_in, db) -> None:
    await sign_in(user)
    user.find(kind=ui.button, content="New project").click()
    user.find(kind=ui.button, content="Create project").click()
    name = user.find(kind=ui.input, content="Name").elements.pop()
    await user.should_see("Fix the marked fields.")
    assert (name.props["error"], name.props["error-message"]) == (True, "Name: this cannot be empty.")
    await user.should_not_see("String should have")
    assert db.exec(select(Project)).all() == []
    name.set_value("Moonrise")  # the mark goes as soon as the field is edited
    assert not name.props.get("error") and name.error is None


async def test_search_filters_the_listing(user: User, sign_in, make_project) -> None:
    account = await sign_in(user)
    make_project(account, "Moonrise")
    make_project(account, "Harbour lights")
    await user.open("/projects")
    await user.should_see("Moonrise")
    user.find("Search name or description").type("harb")
    await user.should_see("Harbour lights")
    await user.should_not_see("Moonrise")


async def test_bulk_delete_confirms_what_goes_then_removes(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    first = make_project(account, "One")
    make_project(account, "Two")
    await user.open("/projects")
    for checkbox in user.find(kind=ui.checkbox).elements:
        checkbox.set_value(True)
    await user.should_see("2 selected")
    click_exact(user, "Delete…")
    await user.should_see("This removes 2 projects. It cannot be undone.")
    click_exact(user, "Delete")
    await user.should_see("Deleted 2 projects")
    assert projects.list_projects(db, account, archived="all") == []
    assert db.exec(select(Project).where(Project.id == first.id)).first() is None


async def test_archive_from_the_card_menu_moves_it_to_archived(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Shelve me")
    await user.open("/projects")
    click_menu_item(user, "Archive")
    await user.should_see("Archived 1 project")
    await user.should_not_see("Shelve me")
    db.expire_all()
    assert db.get(Project, project.id).archived is True


async def test_pages_need_a_signed_in_user(user: User) -> None:
    await user.open("/projects")
    await user.should_see("Sign in")
    await user.should_not_see("New project")
