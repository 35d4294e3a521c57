"""The clip inspector on the simulated page: a refused save keeps the text with its reason, also across a clip
switch (changes from elsewhere need a connected tab: tests/browser/test_inspector_journey.py)."""

from nicegui.testing import User

from app.services import clips, scenes
from components.timeline import TimelineEditor
from data.models import Clip

from .conftest import click_menu_item, eventually


def _field(user: User, testid: str):  # type: ignore[no-untyped-def]  # a NiceGUI element of any kind
    matches = [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]
    assert matches, testid
    return matches[0]


def _state(user: User) -> str:
    return str(_field(user, "save-state").props.get("data-save-state"))


async def test_a_refused_save_keeps_the_text_and_the_reason_across_a_clip_switch(
    user: User, sign_in, make_project, db
) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    scene = scenes.create_scene(db, account, project.id, "Harbour")
    first = clips.create_clip(db, account, scene.id, label="Opening")
    second = clips.create_clip(db, account, scene.id, label="Ferry", start=3)
    await user.open(f"/scenes/{scene.id}?clip={first.id}")
    await user.should_see("Opening · starts 0 s")

    too_long = "x" * 201
    _field(user, "clip-label").set_value(too_long)
    await eventually(lambda: _state(user) == "failed", timeout=5)
    await user.should_see("The label is at most 200 characters.")
    assert _field(user, "clip-label").value == too_long

    editor = next(iter(user.find(kind=TimelineEditor).elements))
    editor.select([second.id])
    click_menu_item(user, "Edit in the inspector")
    await user.should_see("Ferry · starts 3 s")
    await user.should_see("is not saved")
    editor.select([first.id])
    click_menu_item(user, "Edit in the inspector")
    await eventually(lambda: _field(user, "clip-label").value == too_long)
    assert _state(user) == "failed"
    db.expire_all()
    assert db.get(Clip, first.id).label == "Opening"

    _field(user, "clip-label").set_value("Opening, wide")
    await eventually(lambda: _state(user) == "saved", timeout=5)
    db.expire_all()
    assert db.get(Clip, first.id).label == "Opening, wide"
