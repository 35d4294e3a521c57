from nicegui import ui
from nicegui.testing import User

from app.services.editor_settings import EditorSettings, editor_settings
from data.models import Project

from .conftest import click_testid


def _field(user: User, marker: str) -> ui.element:
    (element,) = user.find(marker=marker).elements
    return element


def _set(user: User, marker: str, value: object) -> None:
    with user.client:
        _field(user, marker).set_value(value)  # type: ignore[attr-defined]


def _stored(db, project_id: int) -> Project:
    db.expire_all()
    return db.get(Project, project_id)


async def test_settings_save_frame_rate_tags_and_editor_settings(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise", fps=24, tags=["short"])
    await user.open(f"/projects/{project.id}/settings")
    await user.should_see("Generation defaults")
    assert not _field(user, "drop_frame").enabled  # drop-frame exists only at 29.97 fps

    _set(user, "fps", 29.97)
    _set(user, "tags", ["short", "Noir "])
    _set(user, "preset", "3840×2160 (UHD)")
    click_testid(user, "save-project-settings")
    await user.should_see("Saved the settings of “Moonrise”")
    stored = _stored(db, project.id)
    assert (stored.fps, stored.tags, stored.width, stored.height) == (29.97, ["short", "noir"], 3840, 2160)
    assert _field(user, "drop_frame").enabled

    user.find(marker="default_clip_duration").clear().type("2.5")
    user.find(marker="snap").click()
    _set(user, "ruler", "timecode")
    user.find(marker="drop_frame").click()
    click_testid(user, "save-editor-settings")
    await user.should_see("Saved the editor settings")
    assert editor_settings(_stored(db, project.id)) == EditorSettings(
        default_clip_duration=2.5, snap=False, ruler="timecode", drop_frame=True
    )


async def test_an_invalid_value_is_named_on_the_form_and_nothing_saved(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise", fps=24)
    await user.open(f"/projects/{project.id}/settings")
    await user.should_see("Project settings")

    user.find(marker="name").clear().type("Renamed")
    _set(user, "fps", 30.0)
    user.find(marker="width").clear().type("10")
    click_testid(user, "save-project-settings")
    await user.should_see("Width: use 64 or more.")
    assert _field(user, "width").props.get("error") is True
    stored = _stored(db, project.id)
    assert (stored.name, stored.fps, stored.width) == ("Moonrise", 24.0, 1920)

    user.find(marker="default_clip_duration").clear().type("0")
    user.find(marker="snap").click()
    click_testid(user, "save-editor-settings")
    await user.should_see("The default clip duration must be between 1/60 s and one hour.")
    assert editor_settings(_stored(db, project.id)) == EditorSettings()

    user.find(marker="width").clear()
    click_testid(user, "save-project-settings")
    await user.should_see("Width: enter a value.")
    assert _stored(db, project.id).name == "Moonrise"


async def test_settings_of_another_users_project_are_not_found(user: User, sign_in, make_user, make_project) -> None:
    project = make_project(make_user("owner"), "Owner's film")
    await sign_in(user, "intruder")
    response = await user.http_client.get(f"/projects/{project.id}/settings")
    assert response.status_code == 404
    assert "Owner's film" not in response.text


async def test_saving_while_a_long_import_holds_the_database_says_busy_and_keeps_the_form(
    user: User, sign_in, make_project, db
) -> None:
    import asyncio
    import threading

    from data.errors import Busy
    from tests.services.test_busy_database import _hold_the_lock

    account = await sign_in(user)
    project = make_project(account, "Moonrise", fps=24, tags=["short"])
    await user.open(f"/projects/{project.id}/settings")
    await user.should_see("Generation defaults")
    holding = threading.Event()
    holder = _hold_the_lock(project.id, 3.0, holding)
    await asyncio.to_thread(holding.wait, 10)
    _set(user, "tags", ["short", "noir"])
    click_testid(user, "save-project-settings")
    await user.should_see(Busy().message)
    await asyncio.to_thread(holder.join, 10)
    assert _stored(db, project.id).tags == ["short"]  # nothing was changed
    assert _field(user, "tags").value == ["short", "noir"]  # and what was typed is still there
    click_testid(user, "save-project-settings")
    await user.should_see("Saved the settings of “Moonrise”")
    assert _stored(db, project.id).tags == ["short", "noir"]
