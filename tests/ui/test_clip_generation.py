"""Generating from the scene timeline's inspector: queue jobs, see where they stand, choose among results.

The dispatcher does not run in these tests: jobs and results are rows written here, and the page is
asked to show them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import events as ui_events
from nicegui import ui
from nicegui.testing import User
from sqlmodel import Session, select

from app.services import clips, events, scenes
from components.timeline import TimelineEditor
from data.models import ComfyServer, GalleryItem, GenerationJob, ModelEntry, Project, ServerModel

from .conftest import click_testid, eventually

MODEL = "dreamshaper_8.safetensors"


def add_server(session: Session, name: str = "Studio GPU", models: tuple[str, ...] = (MODEL,)) -> ComfyServer:
    """A server whose catalog lists these checkpoints (the links store_catalog would make)."""
    server = ComfyServer(name=name, base_url="http://127.0.0.1:9", status="online")
    session.add(server)
    session.flush()
    for file_name in models:
        entry = ModelEntry(kind="checkpoint", file_name=file_name)
        session.add(entry)
        session.flush()
        session.add(ServerModel(server_id=server.id, model_id=entry.id))  # type: ignore[arg-type]
    session.commit()
    return server


def add_item(session: Session, clip_id: int, project: Project, *, selected: bool = False, **params: Any) -> GalleryItem:
    item = GalleryItem(
        clip_id=clip_id,
        project_id=project.id,  # type: ignore[arg-type]
        kind=params.pop("kind", "image"),
        file_path=f"results/{clip_id}-{len(params)}-{selected}.png",
        thumbnail_path="results/thumb.webp",
        selected=selected,
        params=params,
    )
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


def fire(user: User, event: str, args: dict[str, Any]) -> None:
    """What the timeline widget sends after a gesture in the browser."""
    editor = next(iter(user.find(kind=TimelineEditor).elements))
    for listener in list(editor._event_listeners.values()):
        if listener.type == event:
            arguments = ui_events.GenericEventArguments(sender=editor, client=user.client, args=args)
            ui_events.handle_event(listener.handler, arguments)


def with_testid(user: User, testid: str) -> list[Any]:
    return [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]


def card(user: User, clip_id: int) -> dict[str, Any]:
    editor = next(iter(user.find(kind=TimelineEditor).elements))
    return next(c for c in editor.clips if c["id"] == clip_id)


async def open_clip(user: User, sign_in, make_project, db, **clip_fields: Any):
    account = await sign_in(user)
    project = make_project(account, "Night Ferry")
    scene = scenes.create_scene(db, account, project.id, "Harbour")
    fields = {"label": "Pier", "image_prompt": "a pier at dusk", "video_prompt": "slow pan", **clip_fields}
    clip = clips.create_clip(db, account, scene.id, **fields)
    await user.open(f"/scenes/{scene.id}")
    fire(user, "select", {"clip_ids": [clip.id]})
    await eventually(lambda: bool(with_testid(user, "generate-panel")))  # the inspector shows the clip
    return account, project, clip


def jobs_of(db: Session, clip_id: int) -> list[GenerationJob]:
    db.expire_all()
    return list(db.exec(select(GenerationJob).where(GenerationJob.clip_id == clip_id).order_by(GenerationJob.id)))


async def test_without_models_the_panel_says_where_to_add_a_server(user: User, sign_in, make_project, db) -> None:
    await open_clip(user, sign_in, make_project, db)
    await user.should_see("No ComfyUI server yet: add one on the Servers page.", retries=30)
    assert [link.props["href"] for link in user.find(kind=ui.link, content="Servers").elements] == ["/servers"]
    assert not with_testid(user, "generate")[0].enabled


async def test_with_every_server_offline_the_panel_says_so_not_that_none_exists(
    user: User, sign_in, make_project, db
) -> None:
    db.add(ComfyServer(name="Studio GPU", base_url="http://127.0.0.1:9", status="offline"))
    db.commit()
    await open_clip(user, sign_in, make_project, db)
    await user.should_see("Every server is offline: jobs you queue wait until one answers", retries=30)
    await user.should_not_see("No ComfyUI server yet")


async def test_generate_queues_jobs_with_the_clips_saved_prompt_and_shows_them(
    user: User, sign_in, make_project, db
) -> None:
    add_server(db)
    account, _, clip = await open_clip(user, sign_in, make_project, db)
    with_testid(user, "generate-variations")[0].set_value(2)
    with_testid(user, "generate-seed")[0].set_value(41)
    # An unsaved prompt edit is saved before the jobs read the clip.
    with_testid(user, "image-prompt")[0].set_value("a pier at dawn, fog")
    click_testid(user, "generate")

    await eventually(lambda: len(jobs_of(db, clip.id)) == 2)
    queued = jobs_of(db, clip.id)
    assert [(j.status, j.checkpoint, j.params["seed"], j.params["prompt"]) for j in queued] == [
        ("queued", MODEL, 41, "a pier at dawn, fog"),
        ("queued", MODEL, 42, "a pier at dawn, fog"),
    ]
    db.expire_all()
    assert clips.get_clip(db, account, clip.id).image_prompt == "a pier at dawn, fog"
    await eventually(lambda: len([e for e in with_testid(user, "clip-job") if e.props["data-status"] == "queued"]) == 2)
    await eventually(lambda: card(user, clip.id)["status"] == "queued")
    await user.should_see("Open queue", retries=30)
    link = next(e for e in with_testid(user, "open-queue"))
    assert link.props["href"] == f"/queue?clip_id={clip.id}"


async def test_the_g_key_on_the_timeline_generates_for_the_selected_clip(user: User, sign_in, make_project, db) -> None:
    add_server(db)
    _, _, clip = await open_clip(user, sign_in, make_project, db)
    fire(user, "key", {"key": "generate", "clip_ids": [clip.id], "playhead": 0})
    await eventually(lambda: len(jobs_of(db, clip.id)) == 1)


async def test_a_refused_generation_shows_the_services_message(user: User, sign_in, make_project, db) -> None:
    add_server(db)
    _, _, clip = await open_clip(user, sign_in, make_project, db)
    with_testid(user, "generate-mode")[0].set_value("video")
    click_testid(user, "generate")
    await user.should_see("This clip has no selected image to animate: generate or select an image first.", retries=30)
    assert jobs_of(db, clip.id) == []


async def test_running_and_failed_jobs_show_progress_and_retry(user: User, sign_in, make_project, db) -> None:
    server = add_server(db)
    account, project, clip = await open_clip(user, sign_in, make_project, db)
    running = GenerationJob(
        kind="image",
        project_id=project.id,
        clip_id=clip.id,
        owner_id=account.id,
        status="running",
        server_id=server.id,
        progress=0.4,
        current_node="KSampler",
    )
    failed = GenerationJob(
        kind="image",
        project_id=project.id,
        clip_id=clip.id,
        owner_id=account.id,
        status="failed",
        error="Checkpoint not found on Studio GPU: pick another model.",
        finished_at=datetime.now(UTC),
    )
    db.add_all([running, failed])
    db.commit()
    events.emit(events.jobs_changed, project.id)
    await user.should_see("Image · 40% · KSampler", retries=30)
    await user.should_see("Checkpoint not found on Studio GPU", retries=30)
    await eventually(lambda: card(user, clip.id)["status"] == "running")

    # A progress tick updates the running row in place.
    running.progress = 0.75
    db.add(running)
    db.commit()
    events.emit(events.job_progress, running.id)
    await user.should_see("Image · 75% · KSampler", retries=30)

    click_testid(user, f"clip-job-retry-{failed.id}")
    await eventually(lambda: db.get(GenerationJob, failed.id, populate_existing=True).status == "queued")


async def test_a_refused_graph_shows_what_to_change_instead_of_retry(user: User, sign_in, make_project, db) -> None:
    account, project, clip = await open_clip(user, sign_in, make_project, db)
    refused = GenerationJob(
        kind="image",
        project_id=project.id,
        clip_id=clip.id,
        owner_id=account.id,
        status="failed",
        error="Studio GPU refused the workflow: KSampler: steps: Value 0 smaller than min of 1",
        can_retry=False,
        finished_at=datetime.now(UTC),
    )
    db.add(refused)
    db.commit()
    events.emit(events.jobs_changed, project.id)
    await user.should_see("refused the workflow", retries=30)
    await user.should_see("Change the settings or the workflow, then generate again.")
    test_ids = {element.props.get("data-testid") for element in user.client.elements.values()}
    assert f"clip-job-refused-{refused.id}" in test_ids and f"clip-job-retry-{refused.id}" not in test_ids


async def test_results_show_newest_first_and_clicking_one_selects_it_for_the_card(
    user: User, sign_in, make_project, db
) -> None:
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    first = add_item(db, clip.id, project, selected=True, seed=7, model=MODEL, server="Studio GPU", duration_s=4.2)
    second = add_item(db, clip.id, project, seed=8, model=MODEL, server="Studio GPU", duration_s=3.0)
    events.emit(events.project_changed, project.id)  # as when results land
    await eventually(lambda: len(with_testid(user, "result")) == 2)
    tiles = with_testid(user, "result")
    assert [t.props["data-item-id"] for t in tiles] == [str(second.id), str(first.id)]
    assert [t.props["data-selected"] for t in tiles] == ["false", "true"]
    assert tiles[1].props["title"] == f"Image #{first.id} · seed 7 · {MODEL} · on Studio GPU · took 0:04 · selected"
    assert card(user, clip.id)["thumbnail"] == f"/api/v1/gallery/{first.id}/thumbnail"

    click_testid(user, "result", 0)
    await eventually(lambda: db.get(GalleryItem, second.id, populate_existing=True).selected)
    await eventually(lambda: card(user, clip.id)["thumbnail"] == f"/api/v1/gallery/{second.id}/thumbnail")
    await eventually(lambda: [t.props["data-selected"] for t in with_testid(user, "result")] == ["true", "false"])


async def test_deleting_a_result_confirms_what_goes_and_moves_the_selection(
    user: User, sign_in, make_project, db
) -> None:
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    older = add_item(db, clip.id, project, seed=1)
    chosen = add_item(db, clip.id, project, selected=True, seed=2)
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 2)

    click_testid(user, f"result-delete-{chosen.id}")
    await user.should_see(f"This removes image #{chosen.id} and its file", retries=30)
    await user.should_see("the newest remaining image takes its place", retries=30)
    assert db.get(GalleryItem, chosen.id, populate_existing=True) is not None  # nothing goes before the confirmation
    click_testid(user, "confirm-action")
    await eventually(lambda: db.get(GalleryItem, chosen.id, populate_existing=True) is None)
    assert db.get(GalleryItem, older.id, populate_existing=True).selected
    await eventually(lambda: [t.props["data-item-id"] for t in with_testid(user, "result")] == [str(older.id)])
    await eventually(lambda: card(user, clip.id)["thumbnail"] == f"/api/v1/gallery/{older.id}/thumbnail")


async def test_a_video_result_shows_its_poster_with_a_play_mark(user: User, sign_in, make_project, db) -> None:
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    video = add_item(db, clip.id, project, selected=True, kind="video", seed=3)
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 1)
    tile = with_testid(user, "result")[0]
    assert tile.props["data-kind"] == "video"
    image = next(e for e in tile.descendants() if e.tag == "img")
    assert image.props["src"] == f"/api/v1/gallery/{video.id}/thumbnail"
    assert image.props["loading"] == "lazy"
    assert any("play_circle" in getattr(e, "content", "") for e in tile.descendants())
    assert card(user, clip.id)["thumbnail"] == f"/api/v1/gallery/{video.id}/thumbnail"


async def test_a_result_landing_keeps_an_unsaved_prompt_draft(user: User, sign_in, make_project, db) -> None:
    _, project, clip = await open_clip(user, sign_in, make_project, db)
    with_testid(user, "image-prompt")[0].set_value("a pier at dawn, unsaved")
    add_item(db, clip.id, project, selected=True, seed=5)
    events.emit(events.project_changed, project.id)
    await eventually(lambda: len(with_testid(user, "result")) == 1)
    assert with_testid(user, "image-prompt")[0].value == "a pier at dawn, unsaved"


async def test_an_empty_prompt_is_flagged_in_the_panel_for_the_mode_chosen(
    user: User, sign_in, make_project, db
) -> None:
    await open_clip(user, sign_in, make_project, db, video_prompt="")
    warning = with_testid(user, "generate-prompt-warning")[0]
    assert warning.text == ""
    with_testid(user, "generate-mode")[0].set_value("video")
    await eventually(lambda: "The video prompt is empty" in warning.text)
    with_testid(user, "generate-mode")[0].set_value("image")
    await eventually(lambda: warning.text == "")
