from nicegui.testing import User
from sqlmodel import select

from app.services import clips, scenes
from data.models import Clip

from .conftest import click_testid, eventually


async def test_timeline_page_adds_splits_and_undoes(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise", fps=24)
    scene = scenes.create_scene(db, account, project.id, "Harbour")
    await user.open(f"/scenes/{scene.id}")
    await user.should_see("This scene has no clips yet")

    def stored() -> list[tuple[int, int]]:
        db.expire_all()
        return [(c.start_frame, c.duration_frames) for c in db.exec(select(Clip).where(Clip.scene_id == scene.id))]

    def enabled(testid: str) -> bool:
        return any(e.props.get("data-testid") == testid and e.enabled for e in user.client.layout.descendants())

    click_testid(user, "timeline-add-clip")
    await eventually(lambda: enabled("undo"))
    assert stored() == [(0, 72)]
    click_testid(user, "undo")
    await eventually(lambda: enabled("redo"))
    assert stored() == []
    click_testid(user, "redo")
    await eventually(lambda: stored() == [(0, 72)])


async def test_other_scene_navigation_and_inspector_hint(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    first = scenes.create_scene(db, account, project.id, "One")
    scenes.create_scene(db, account, project.id, "Two")
    clips.create_clip(db, account, first.id, label="Opening shot", image_prompt="a harbour", video_prompt="pan")
    await user.open(f"/scenes/{first.id}")
    await user.should_see("One")
    await user.should_see("Select a clip to edit")


async def test_cutting_a_clip_with_results_asks_first_and_keeps_it_until_confirmed(
    user: User, sign_in, make_project, db
) -> None:
    from components.timeline import TimelineEditor
    from data.models import GalleryItem

    from .conftest import click_menu_item

    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    scene = scenes.create_scene(db, account, project.id, "Harbour")
    clip = clips.create_clip(db, account, scene.id, label="Keeper")
    db.add(GalleryItem(clip_id=clip.id, project_id=project.id, kind="image", file_path="keeper.png", selected=True))
    db.commit()
    await user.open(f"/scenes/{scene.id}")
    editor = next(iter(user.find(kind=TimelineEditor).elements))
    editor.select([clip.id])
    click_menu_item(user, "Cut")
    await user.should_see("Delete clips with results?")
    db.expire_all()
    assert db.get(Clip, clip.id) is not None


async def test_a_clip_in_the_address_opens_selected(user: User, sign_in, make_project, db) -> None:
    """A notification's Open leads to /scenes/<id>?clip=<id>: that clip is in the inspector at once."""
    from components.timeline import TimelineEditor

    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    scene = scenes.create_scene(db, account, project.id, "Harbour")
    clips.create_clip(db, account, scene.id, label="Opening shot")
    second = clips.create_clip(db, account, scene.id, label="Ferry leaves", start=3)
    await user.open(f"/scenes/{scene.id}?clip={second.id}")
    await user.should_see("Ferry leaves · starts 3 s")
    editor = next(iter(user.find(kind=TimelineEditor).elements))
    assert editor.selected == [second.id]
    await user.open(f"/scenes/{scene.id}?clip=999999")
    await user.should_see("Select a clip to edit")
