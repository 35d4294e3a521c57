"""The clip's results strip: Images / Videos tabs, several deleted at once, details and actions per result."""

from __future__ import annotations

from typing import Any

from nicegui import app
from nicegui import events as ui_events
from nicegui.testing import User
from sqlmodel import select

from app.config import get_settings
from app.services import events, generation, workflows
from data.models import GalleryItem, GenerationJob
from tests.fakes.fake_media import png_bytes

from .conftest import click_menu_item, click_testid, eventually
from .test_clip_generation import MODEL, add_item, add_server, open_clip, with_testid


def fire_on(user: User, element: Any, event: str, args: dict[str, Any] | None = None) -> None:
    """What the browser sends for a DOM event on this element (a Ctrl-click, a hover)."""
    for listener in list(element._event_listeners.values()):
        if listener.type == event:
            arguments = ui_events.GenericEventArguments(sender=element, client=user.client, args=args or {})
            ui_events.handle_event(listener.handler, arguments)


def tile_ids(user: User) -> list[str]:
    return [t.props["data-item-id"] for t in with_testid(user, "result")]


async def test_images_and_videos_are_separate_tabs_with_counts(user: User, sign_in, make_project, db) -> None:
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    first = add_item(db, clip.id, project, selected=True, seed=1)
    second = add_item(db, clip.id, project, seed=2)
    video = add_item(db, clip.id, project, kind="video", seed=3)
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 2)

    assert tile_ids(user) == [str(second.id), str(first.id)]  # newest first, images only
    assert with_testid(user, "results-tab-image")[0].text == "Images · 2"
    assert with_testid(user, "results-tab-video")[0].text == "Videos · 1"
    assert with_testid(user, "results-tab-image")[0].props["aria-selected"] == "true"

    click_testid(user, "results-tab-video")
    await eventually(lambda: tile_ids(user) == [str(video.id)])
    assert with_testid(user, "results-tab-video")[0].props["aria-selected"] == "true"
    events.emit(events.project_changed, project.id)  # a redraw keeps the chosen tab
    await eventually(lambda: tile_ids(user) == [str(video.id)])


async def test_ctrl_click_checks_several_and_one_delete_removes_them(user: User, sign_in, make_project, db) -> None:
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    oldest = add_item(db, clip.id, project, seed=1)
    chosen = add_item(db, clip.id, project, selected=True, seed=2)
    newest = add_item(db, clip.id, project, seed=3)
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 3)

    tiles = {t.props["data-item-id"]: t for t in with_testid(user, "result")}
    fire_on(user, tiles[str(newest.id)], "click", {"ctrlKey": True})
    await eventually(lambda: with_testid(user, "results-checked-count") != [])
    click_testid(user, f"result-check-{chosen.id}")
    await eventually(lambda: with_testid(user, "results-checked-count")[0].text == "2 checked")
    assert not db.get(GalleryItem, newest.id, populate_existing=True).selected  # checking is not choosing

    click_testid(user, "results-delete-checked")
    await user.should_see("This removes 2 images and their files", retries=30)
    await user.should_see("the newest remaining one of its kind takes its place", retries=30)
    click_testid(user, "confirm-action")
    await eventually(lambda: db.get(GalleryItem, chosen.id, populate_existing=True) is None)
    assert db.get(GalleryItem, newest.id, populate_existing=True) is None
    assert db.get(GalleryItem, oldest.id, populate_existing=True).selected
    await eventually(lambda: tile_ids(user) == [str(oldest.id)])
    assert with_testid(user, "results-checked-count") == []


async def test_hovering_a_result_shows_how_it_was_made(user: User, sign_in, make_project, db) -> None:
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    plain = add_item(db, clip.id, project, selected=True, seed=1)
    rich = add_item(
        db, clip.id, project, seed=77, model=MODEL, prompt="a pier at dusk", negative_prompt="blurry", steps=20,
        cfg=6.5, sampler="euler", server="Studio GPU", duration_s=4.2,
        loras=[{"name": "ink.safetensors", "strength": 0.7}],
    )  # fmt: skip
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 2)
    assert with_testid(user, "results-meta")[0].props["data-item-id"] == str(plain.id)  # the chosen one first

    tile = next(t for t in with_testid(user, "result") if t.props["data-item-id"] == str(rich.id))
    fire_on(user, tile, "mouseenter")
    await eventually(lambda: with_testid(user, "results-meta")[0].props["data-item-id"] == str(rich.id))
    texts = [e.text for e in with_testid(user, "results-meta")[0].descendants() if hasattr(e, "text")]
    for expected in (
        "a pier at dusk",
        "blurry",
        MODEL,
        "ink.safetensors ×0.7",
        "77",
        "20",
        "6.5",
        "euler",
        "Studio GPU",
    ):
        assert expected in texts, (expected, texts)


async def test_replay_and_vary_seed_queue_the_same_graph_again(user: User, sign_in, make_project, db) -> None:
    account, project, clip = await open_clip(user, sign_in, make_project, db)
    add_server(db)
    workflows.ensure_builtin_workflows(db)
    [source] = generation.create_generation(db, account, clip.id, generation.parse_request(checkpoint=MODEL, seed=5))
    item = add_item(db, clip.id, project, selected=True, seed=5)
    item.job_id = source.id
    db.add(item)
    db.commit()
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 1)

    click_menu_item(user, "Replay with same settings")
    await eventually(lambda: len(db.exec(select(GenerationJob)).all()) == 2)
    click_menu_item(user, "Vary seed")
    await eventually(lambda: len(db.exec(select(GenerationJob)).all()) == 3)
    db.expire_all()
    _, same, varied = db.exec(select(GenerationJob).order_by(GenerationJob.id)).all()
    assert same.resolved_graph == source.resolved_graph
    assert varied.resolved_graph["3"]["inputs"]["seed"] == varied.params["seed"]
    assert varied.params["replay_of"] == item.id


async def test_use_as_init_image_queues_a_video_from_that_image(user: User, sign_in, make_project, db) -> None:
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    add_server(db)
    workflows.ensure_builtin_workflows(db)
    item = add_item(db, clip.id, project, seed=1)
    folder = get_settings().media_dir / "projects" / str(project.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "still.png").write_bytes(png_bytes(32, 24, seed=4))
    item.file_path = f"projects/{project.id}/still.png"
    db.add(item)
    db.commit()
    app.storage.user["generate"] = {"mode": "image", "checkpoint": MODEL}
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 1)

    click_menu_item(user, "Use as init image for a video")
    await eventually(lambda: len(db.exec(select(GenerationJob)).all()) == 1)
    [job] = db.exec(select(GenerationJob)).all()
    assert job.kind == "video" and job.params["init_item_id"] == item.id
    assert job.checkpoint == MODEL or job.params.get("checkpoint") == MODEL


async def test_open_in_viewer_shows_the_clips_results_of_that_kind(user: User, sign_in, make_project, db) -> None:
    from components.results_viewer import ResultsViewer

    _, project, clip = await open_clip(user, sign_in, make_project, db)
    older = add_item(db, clip.id, project, seed=1)
    newer = add_item(db, clip.id, project, selected=True, seed=2)
    add_item(db, clip.id, project, kind="video", seed=3)
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 2)

    tile = next(t for t in with_testid(user, "result") if t.props["data-item-id"] == str(older.id))
    fire_on(user, tile, "click", {"detail": 2})  # a double click
    await eventually(lambda: len(user.find(kind=ResultsViewer).elements) == 1)
    viewer = next(iter(user.find(kind=ResultsViewer).elements))
    assert [i["id"] for i in viewer.props["items"]] == [newer.id, older.id]
    assert viewer.props["index"] == 1
    assert viewer.props["items"][1]["download"].endswith("?download=1")
    assert viewer.props["items"][1]["share"].startswith(f"/results/{older.id}?sig=")


async def test_a_clip_with_thousands_of_results_loads_only_the_pages_it_shows(
    user: User, sign_in, make_project, db, monkeypatch
) -> None:
    from app.services import gallery

    _, project, clip = await open_clip(user, sign_in, make_project, db)
    db.add_all(
        GalleryItem(
            clip_id=clip.id,
            project_id=project.id,
            kind="image" if index % 10 else "video",
            file_path=f"projects/{project.id}/clips/{clip.id}/r{index}.png",
            params={"seed": index},
        )
        for index in range(2000)
    )
    db.commit()
    loaded: list[int] = []
    real_page = gallery.gallery_page

    def counting_page(*args: Any, **kwargs: Any) -> Any:
        items, total = real_page(*args, **kwargs)
        loaded.append(len(items))
        return items, total

    monkeypatch.setattr(gallery, "gallery_page", counting_page)
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 40)
    assert with_testid(user, "results-tab-image")[0].text == "Images · 1800"
    assert with_testid(user, "results-tab-video")[0].text == "Videos · 200"
    assert with_testid(user, "results-more")[0].text == "Show 40 more of 1760"
    assert max(loaded) <= 40  # a page of each kind, not 2,000 results

    click_testid(user, "results-more")
    await eventually(lambda: len(with_testid(user, "result")) == 80)
    assert with_testid(user, "results-more")[0].text == "Show 40 more of 1720"
    assert max(loaded) <= 80
