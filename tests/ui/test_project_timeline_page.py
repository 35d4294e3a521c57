from nicegui import ui
from nicegui.testing import User

from app.services import clips, scenes
from app.services.editor_settings import editor_settings, update_editor_settings
from data.models import GalleryItem, Project

from .conftest import click_testid, eventually


def _texts(user: User, testid: str) -> list[str]:
    """Text of every element with that data-testid, in page order, with the text of the elements inside it
    (a block's meta is its label's text and a bold warning)."""
    found = [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]
    return ["".join(str(part._text or "") for part in (e, *e.descendants())) for e in found]


async def test_timeline_lists_scenes_in_order_with_durations_and_the_analysis(
    user: User, sign_in, make_project, db
) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise", fps=24, target_duration=20)
    harbour = scenes.create_scene(db, account, project.id, "Harbour")
    storm = scenes.create_scene(db, account, project.id, "Storm")
    scenes.create_scene(db, account, project.id, "Epilogue")
    clips.create_clip(
        db, account, harbour.id, start=0, duration=4, label="Wide", image_prompt="harbour", video_prompt="slow pan"
    )
    gull_id = clips.create_clip(db, account, harbour.id, start=3, duration=2, label="Gull").id  # overlaps, no prompts
    clips.create_clip(db, account, storm.id, start=1, duration=3, image_prompt="waves", video_prompt="crash")

    await user.open(f"/projects/{project.id}/timeline")
    await user.should_see("Project timeline")
    assert _texts(user, "track-scene-name") == ["1 · Harbour", "2 · Storm", "3 · Epilogue"]
    metas = _texts(user, "track-scene-meta")
    assert metas[0].startswith("0:05.0 · 2 clips") and "⚠ 1" in metas[0]  # the overlap is marked on the block
    assert metas[1:] == ["0:04.0 · 1 clip", "no clips"]
    assert _texts(user, "timeline-summary") == ["3 scenes · 3 clips · 0:09.0 of 0:20.0 target"]
    assert _texts(user, "track-remaining") == ["0:11.0 to the target"]
    assert _texts(user, "track-ruler")  # the ruler is drawn
    await user.should_see("0s")  # seconds, the default ruler units

    assert _texts(user, "export-verdict") == ["Not ready to export"]
    assert _texts(user, "export-reason") == [
        "1 overlap between clips: move, ripple or trim them.",
        "1 clip lacks an image or a video prompt.",
        "3 clips have no selected result yet.",
    ]
    await user.should_see("Move “Gull” to start at 4 s (ripple pushes the clips after it), or trim “Wide” to end at 3")
    await user.should_see("Nothing plays before 1 s: add a clip there, or close the gap so the scene opens with a clip")
    await user.should_see("0:11.0 to go until the target.")
    assert _texts(user, "without-prompts-count") == ["1"]
    [gull] = [e for e in user.client.layout.descendants() if e.props.get("data-testid") == "without-prompts-clip"]
    first = next(child for child in gull.descendants() if isinstance(child, ui.link))
    assert (first.text, first.props["href"]) == ("“Gull”", f"/scenes/{harbour.id}?clip={gull_id}")
    assert len(_texts(user, "scene-share")) == 3

    click_testid(user, "track-scene", 1)
    await eventually(lambda: user.back_history[-1] == f"/scenes/{storm.id}")
    await eventually(lambda: _texts(user, "scene-title") == ["Storm"])


async def test_timeline_follows_the_ruler_setting_and_says_when_ready(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise", fps=25, target_duration=2)
    scene = scenes.create_scene(db, account, project.id, "Only")
    clip = clips.create_clip(db, account, scene.id, start=0, duration=2, image_prompt="a", video_prompt="b")
    db.add(GalleryItem(clip_id=clip.id, project_id=project.id, kind="video", file_path="x.mp4", selected=True))
    db.commit()
    update_editor_settings(db, account, project.id, ruler="timecode")

    await user.open(f"/projects/{project.id}/timeline")
    await user.should_see("00:00:00:00")
    assert _texts(user, "export-verdict") == ["Export ready"]
    assert _texts(user, "export-reason") == []
    await user.should_see("Right on the target.")


async def test_timeline_of_a_project_without_scenes_says_what_to_do(user: User, sign_in, make_project) -> None:
    account = await sign_in(user)
    project = make_project(account, "Blank")
    await user.open(f"/projects/{project.id}/timeline")
    await user.should_see("Nothing to analyse yet.")
    await user.should_see("Open the dashboard")
    assert _texts(user, "track-scene") == []


async def test_timeline_of_another_users_project_is_not_found(user: User, sign_in, make_user, make_project) -> None:
    project = make_project(make_user("owner"), "Owner's film")
    await sign_in(user, "intruder")
    response = await user.http_client.get(f"/projects/{project.id}/timeline")
    assert response.status_code == 404
    assert "Owner's film" not in response.text


async def test_ruler_units_chosen_on_the_timeline_are_stored_and_drawn(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise", fps=24)
    scene = scenes.create_scene(db, account, project.id, "Harbour")
    clips.create_clip(db, account, scene.id, start=0, duration=3)
    await user.open(f"/projects/{project.id}/timeline")
    await user.should_see("0s")
    with user.client:
        user.find(marker=None, kind=ui.select).elements.pop().set_value("frames")
    await user.should_see("24")  # a tick each second, labelled in frames
    db.expire_all()
    assert editor_settings(db.get(Project, project.id)).ruler == "frames"


async def test_an_edit_elsewhere_redraws_the_track(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Moonrise")
    scene = scenes.create_scene(db, account, project.id, "Harbour")
    await user.open(f"/projects/{project.id}/timeline")
    assert _texts(user, "track-scene-meta") == ["no clips"]
    clips.create_clip(db, account, scene.id, start=0, duration=3)
    await eventually(lambda: _texts(user, "track-scene-meta") == ["0:03.0 · 1 clip"])
