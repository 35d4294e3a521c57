from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from app.services import users
from data.models import ApiCredential, Project

from .conftest import click_exact


async def test_dashboard_shows_figures_and_activity_and_renames(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise", fps=25, tags=["noir"])
    await user.open(f"/projects/{project.id}")
    await user.should_see("Moonrise")
    await user.should_see("1920×1080 · 25 fps")
    await user.should_see("Created project “Moonrise”")
    click_exact(user, "Edit")
    name = user.find(kind=ui.input, content="Moonrise")
    name.clear().type("Moonset")
    click_exact(user, "Save")
    await user.should_see("Renamed “Moonrise” to “Moonset”")
    db.expire_all()
    assert db.get(Project, project.id).name == "Moonset"


async def test_dashboard_archive_toggle(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    await user.open(f"/projects/{project.id}")
    click_exact(user, "Archive")
    await user.should_see("archived")
    db.expire_all()
    assert db.get(Project, project.id).archived is True
    click_exact(user, "Restore")
    await user.should_see("Restored the project")


async def test_unknown_project_page_says_not_found(user: User, sign_in) -> None:
    await sign_in(user)
    response = await user.http_client.get("/projects/999999")
    assert response.status_code == 404
    assert "does not exist or is not yours" in response.text


async def test_change_password_requires_the_current_one(user: User, sign_in, db) -> None:
    await sign_in(user)
    await user.open("/account")
    user.find("Current password").type("wrong-one")
    user.find("New password (8+ characters)").type("brand-new-pass")
    user.find("Repeat new password").type("brand-new-pass")
    click_exact(user, "Change password")
    await user.should_see("The current password is wrong.")
    user.find("Current password").clear().type("correct-horse-1")
    click_exact(user, "Change password")
    await user.should_see("Password changed", retries=30)
    assert users.authenticate(db, "alice", "brand-new-pass") is not None


async def test_api_key_saved_from_account_page_is_masked(user: User, sign_in, db) -> None:
    await sign_in(user)
    await user.open("/account")
    user.find(marker="key-civitai").type("civitai-secret-key-42")
    user.find(marker="save-key-civitai").click()
    await user.should_see("Key saved")
    await user.should_see("civ…y-42")
    stored = db.exec(select(ApiCredential)).one()
    assert stored.provider == "civitai" and "civitai-secret" not in stored.encrypted_key
