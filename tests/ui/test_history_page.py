"""The /history page with the simulated user: filters, compare, replay, export and model statistics."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from app.services import clips, generation, scenes, workflows
from data.models import GenerationJob

from ..services.test_jobs_service import add_job, add_server
from .conftest import click_testid, eventually

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def history_route(user: User) -> Iterator[None]:
    """/history as pages.register() adds it; registered here only while that line is not there yet."""
    from nicegui import app

    import pages

    before = list(pages.PROTECTED_ROUTES)
    if not any(getattr(route, "path", None) == "/history" for route in app.routes):
        from pages import history

        pages.protected("/history", history.page)
    yield
    pages.PROTECTED_ROUTES[:] = before


def _by_testid(user: User, testid: str) -> list[ui.element]:
    return [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]


def _table(user: User) -> ui.table:
    (table,) = _by_testid(user, "history-table")
    return table  # type: ignore[return-value]


def _row_ids(user: User) -> list[int]:
    table = _table(user)
    return [row["id"] for row in table.rows] if table.visible else []


async def test_empty_history_says_what_to_do(user: User, sign_in) -> None:
    await sign_in(user)
    await user.open("/history")
    await user.should_see("No generations yet. Open a clip on a scene and press Generate")
    click_testid(user, "tab-models")
    await user.should_see("No model has been used yet.")


async def test_rows_filters_and_model_statistics(user: User, sign_in, make_project, make_user, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Harbour")
    done = add_job(
        db,
        project,
        status="completed",
        checkpoint="sdxl.safetensors",
        created_at=T0,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=12),
    )
    failed = add_job(
        db,
        project,
        status="failed",
        checkpoint="flux.safetensors",
        error="CUDA out of memory",
        params={"prompt": "storm over the pier", "seed": 3},
        created_at=T0 + timedelta(days=3),
    )
    add_job(db, make_project(make_user("bob"), "Bob's secret"), checkpoint="secret.safetensors")

    await user.open("/history")
    await user.should_see("2 requests")
    assert _row_ids(user) == [failed.id, done.id]
    await user.should_not_see("Bob's secret")

    (status,) = _by_testid(user, "history-status")
    status.set_value("failed")  # type: ignore[attr-defined]
    await eventually(lambda: _row_ids(user) == [failed.id])
    status.set_value("")  # type: ignore[attr-defined]
    (model,) = _by_testid(user, "history-model")
    model.set_value("sdxl.safetensors")  # type: ignore[attr-defined]
    await eventually(lambda: _row_ids(user) == [done.id])
    model.set_value("")  # type: ignore[attr-defined]
    (since,) = _by_testid(user, "history-since")
    since.set_value("2030-05-02")  # type: ignore[attr-defined]
    await eventually(lambda: _row_ids(user) == [failed.id])
    (search,) = _by_testid(user, "history-search")
    search.set_value("lighthouse")  # type: ignore[attr-defined]
    await user.should_see("No requests match these filters.")

    click_testid(user, "tab-models")
    (models,) = _by_testid(user, "models-table")
    assert [(r["checkpoint"], r["jobs"], r["failed"]) for r in models.rows] == [("flux.safetensors", 1, 1)]  # type: ignore[attr-defined]
    since.set_value("")  # type: ignore[attr-defined]
    await eventually(lambda: len(models.rows) == 2)  # type: ignore[attr-defined]
    sdxl = next(r for r in models.rows if r["checkpoint"] == "sdxl.safetensors")  # type: ignore[attr-defined]
    assert (sdxl["completed"], sdxl["median"], sdxl["success"]) == (1, "12.0 s", "100 %")


async def test_the_address_holds_the_filters(user: User, sign_in, make_project, db) -> None:
    """Reopening an address gives the same filtered view; each filter change writes the address anew."""
    account = await sign_in(user)
    project = make_project(account, "Harbour")
    add_job(db, project, status="completed", checkpoint="sdxl.safetensors", created_at=T0)
    failed = add_job(
        db,
        project,
        status="failed",
        checkpoint="flux.safetensors",
        params={"prompt": "storm over the pier", "seed": 3},
        created_at=T0 + timedelta(days=3),
    )
    await user.open("/history?status=failed&since=2030-05-02&text=storm")
    await eventually(lambda: _row_ids(user) == [failed.id])
    assert _by_testid(user, "history-status")[0].value == "failed"  # type: ignore[attr-defined]
    assert _by_testid(user, "history-since")[0].value == "2030-05-02"  # type: ignore[attr-defined]
    assert _by_testid(user, "history-search")[0].value == "storm"  # type: ignore[attr-defined]

    written: list[str] = []
    user.client.run_javascript = lambda code, **_: written.append(code)  # type: ignore[method-assign]  # what the page asks the browser
    _by_testid(user, "history-status")[0].set_value("")  # type: ignore[attr-defined]
    assert written[-1] == 'history.replaceState({}, "", "/history?since=2030-05-02&text=storm");'


async def test_compare_highlights_the_settings_that_differ(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Harbour")
    a = add_job(db, project, checkpoint="sdxl.safetensors", created_at=T0)
    b = add_job(
        db, project, checkpoint="sdxl.safetensors", params={"prompt": "a lighthouse at dusk", "seed": 8}, created_at=T0
    )
    await user.open("/history")
    await user.should_see("2 requests")

    click_testid(user, "history-compare")
    await user.should_see("Tick exactly two rows to compare (0 ticked).")
    table = _table(user)
    table.selected = [row for row in table.rows]
    click_testid(user, "history-compare")
    await user.should_see(f"Job {a.id} vs job {b.id}")
    await user.should_see("1 setting differs, highlighted.")
    (seed,) = _by_testid(user, "diff-seed")
    assert seed.props["data-differs"] == "true" and "sc-differs" in seed.classes
    (prompt,) = _by_testid(user, "diff-prompt")
    assert prompt.props["data-differs"] == "false" and "sc-differs" not in prompt.classes


async def test_replay_queues_the_same_graph_and_says_where_it_waits(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Harbour")
    scene = scenes.create_scene(db, account, project.id, "Opening")
    clip = clips.create_clip(db, account, scene.id, start=0, duration=2, image_prompt="a lighthouse at dusk")
    workflows.ensure_builtin_workflows(db)
    add_server(db, "gpu-1", status="online")
    (original,) = generation.create_generation(
        db, account, clip.id, generation.parse_request(checkpoint="dreamshaper_8.safetensors", seed=4242)
    )
    orphan = add_job(db, project, clip_id=None, resolved_graph=original.resolved_graph, created_at=T0)

    await user.open("/history")
    await user.should_see("2 requests")
    from nicegui.testing.user_interaction import UserInteraction

    UserInteraction(user, {_table(user)}, "replay").trigger("replay", original.id)
    await user.should_see(f"Replayed job {original.id} as job")
    await user.should_see("#2 in the queue")
    db.expire_all()
    copies = db.exec(select(GenerationJob).where(GenerationJob.id > orphan.id)).all()
    assert len(copies) == 1 and copies[0].resolved_graph == original.resolved_graph
    assert copies[0].resolved_graph["3"]["inputs"]["seed"] == 4242
    await eventually(lambda: copies[0].id in _row_ids(user))

    UserInteraction(user, {_table(user)}, "replay").trigger("replay", orphan.id)
    await user.should_see(f"Job {orphan.id}'s clip no longer exists")


async def test_export_buttons_download_the_listed_requests(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, "Harbour")
    job = add_job(db, project, checkpoint="sdxl.safetensors")
    await user.open("/history")
    await user.should_see("1 request")

    click_testid(user, "history-export-csv")
    response = await user.download.next()
    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert row["id"] == str(job.id) and row["checkpoint"] == "sdxl.safetensors"
    click_testid(user, "history-export-json")
    response = await user.download.next()
    assert [item["id"] for item in json.loads(response.text)] == [job.id]
