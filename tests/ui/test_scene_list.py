from nicegui.testing import User
from sqlmodel import select

from app.services import scenes
from data.models import Clip, Scene

from .conftest import click_exact, click_testid


async def test_add_scene_from_the_dashboard_lists_it_in_order(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    await user.open(f"/projects/{project.id}")
    await user.should_see("No scenes yet.")
    click_exact(user, "Add the first scene")
    user.find("Name").type("Harbour at dawn")
    click_exact(user, "Create scene")
    await user.should_see("Harbour at dawn")
    assert [s.name for s in scenes.list_scenes(db, account, project.id)] == ["Harbour at dawn"]


async def test_scene_card_actions_add_clip_move_and_delete(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    first = scenes.create_scene(db, account, project.id, "One")
    scenes.create_scene(db, account, project.id, "Two")
    await user.open(f"/projects/{project.id}")
    await user.should_see("0 clips · 0:00.0")
    click_testid(user, "add-clip", 0)
    await user.should_see("Added a clip to “One”")
    assert len(db.exec(select(Clip).where(Clip.scene_id == first.id)).all()) == 1
    click_testid(user, "scene-down", 0)
    await user.should_see("1 clip · 0:03.0")
    db.expire_all()
    assert [s.name for s in scenes.list_scenes(db, account, project.id)] == ["Two", "One"]
    click_testid(user, "delete-scene", 1)
    await user.should_see("This removes 1 scene and 1 clip. It cannot be undone.")
    click_exact(user, "Delete")
    await user.should_see("Deleted scene “One”")
    db.expire_all()
    assert [s.name for s in db.exec(select(Scene)).all()] == ["Two"]
