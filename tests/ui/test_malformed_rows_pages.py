"""One malformed stored row never breaks a page for everyone: /projects (grid and list), another project's
dashboard and /workflows render, the bad row shows as an error card with its id, and it can be deleted there.

Rows are corrupted with raw SQL, past every write check: rows from before those checks, or from another tool.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlalchemy import text
from sqlmodel import select

from app.services import workflows
from data.models import ComfyServer, Notification, Project, WorkflowTemplate
from data.models._common import utcnow

from .conftest import click_testid, eventually

POSTGRES = bool(os.environ.get("DATABASE_URL", "").startswith("postgresql"))
sqlite_only = pytest.mark.skipif(POSTGRES, reason="PostgreSQL refuses this value on write")


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def corrupt(db: Any, table: str, row_id: int, column: str, value: object, *, json: bool = False) -> None:
    """Set one column with raw SQL: no ORM flush, so no write check runs."""
    placeholder = "CAST(:value AS json)" if json and POSTGRES else ":value"
    db.exec(text(f"UPDATE {table} SET {column} = {placeholder} WHERE id = :id").bindparams(value=value, id=row_id))
    db.commit()


def _testids(user: User, testid: str) -> list[ui.element]:
    return [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]


PROJECT_CASES = [
    pytest.param("settings", nested(3000), True, id="settings-too-deep-to-load"),
    pytest.param("tags", "5", True, id="tags-a-number"),
    pytest.param("fps", "fast", False, id="fps-as-text", marks=sqlite_only),
    pytest.param("updated_at", "not a date", False, id="updated-at-unreadable", marks=sqlite_only),
]


@pytest.mark.parametrize(("column", "value", "is_json"), PROJECT_CASES)
async def test_a_malformed_project_shows_as_an_error_card_and_the_pages_work(
    user: User, sign_in, make_user, make_project, db, column: str, value: object, is_json: bool
) -> None:
    await sign_in(user, "root", admin=True)  # an administrator sees every user's projects
    alice = make_user("alice")
    good = make_project(alice, "Goodfilm")
    bad = make_project(alice, "Badfilm")
    corrupt(db, "projects", bad.id, column, value, json=is_json)

    await user.open("/projects")
    await user.should_see("Goodfilm")
    await user.should_see("This project could not be shown")
    await user.should_see("delete it or ask an administrator")
    (card,) = _testids(user, "unreadable-row")
    assert card.props["data-row-id"] == str(bad.id)
    assert [e.props["data-project-id"] for e in _testids(user, "project-card")] == [str(good.id)]

    (view,) = [t for t in user.find(kind=ui.toggle).elements if "grid" in t.options]  # type: ignore[attr-defined]
    with user.client:
        view.set_value("list")
    await eventually(lambda: len(_testids(user, "project-card")) == 1 and len(_testids(user, "unreadable-row")) == 1)
    await user.should_see("This project could not be shown")

    await user.open(f"/projects/{good.id}")
    await user.should_see("Goodfilm")
    await user.should_see("Completion")


@sqlite_only
async def test_a_project_named_with_a_nul_shows_on_the_projects_page(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    good = make_project(account, "Goodfilm")
    bad = make_project(account, "Badfilm")
    corrupt(db, "projects", bad.id, "name", "a\x00b")
    await user.open("/projects")
    await user.should_see("Goodfilm")
    assert len(_testids(user, "project-card")) == 2
    await user.open(f"/projects/{good.id}")
    await user.should_see("Completion")


async def test_an_unreadable_project_is_deleted_from_its_error_card(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    make_project(account, "Goodfilm")
    bad = make_project(account, "Badfilm")
    corrupt(db, "projects", bad.id, "settings", nested(3000), json=True)
    await user.open("/projects")
    await user.should_see("This project could not be shown")
    click_testid(user, "delete-unreadable")
    await user.should_see(f"Delete project {bad.id}?")
    click_testid(user, "confirm-action")
    await user.should_see(f"Deleted project {bad.id}")
    await eventually(lambda: not _testids(user, "unreadable-row"))
    assert db.exec(select(Project.id).where(Project.id == bad.id)).first() is None
    await user.should_see("Goodfilm")


WORKFLOW_CASES = [
    pytest.param("graph", '{"1": ' + nested(3000) + "}", id="graph-too-deep-to-load"),
    pytest.param("bindings", "[1, 2]", id="bindings-a-list"),
    pytest.param("graph", "7", id="graph-a-number"),
]


async def _workflows_with_a_server(user: User, sign_in, db) -> tuple[WorkflowTemplate, WorkflowTemplate]:
    """The signed-in user's good and bad workflow, and an enabled server whose catalog was read (so every
    row's graph and bindings are checked against it)."""
    account = await sign_in(user)
    db.add(
        ComfyServer(name="gpu-1", base_url="http://127.0.0.1:1", node_types=["KSampler"], catalog_refreshed_at=utcnow())
    )
    db.commit()
    builtin = next(w for w in workflows.list_workflows(db, account) if w.kind == "image")
    good = workflows.create_workflow(db, account, "Goodflow", "image", builtin.graph, builtin.bindings)
    bad = workflows.create_workflow(db, account, "Badflow", "image", builtin.graph, builtin.bindings)
    return good, bad


@pytest.mark.parametrize(("column", "value"), WORKFLOW_CASES)
async def test_a_malformed_workflow_shows_as_an_error_row_and_can_be_deleted(
    user: User, sign_in, db, column: str, value: str
) -> None:
    _good, bad = await _workflows_with_a_server(user, sign_in, db)
    corrupt(db, "workflow_templates", bad.id, column, value, json=True)

    await user.open("/workflows")
    await user.should_see("Text to image")
    await user.should_see("Goodflow")
    await user.should_see("This workflow could not be shown")
    (row,) = _testids(user, "unreadable-row")
    assert row.props["data-row-id"] == str(bad.id)
    assert "Goodflow" in [e.text for e in _testids(user, "workflow-name")]

    click_testid(user, "delete-unreadable")
    await user.should_see(f"Delete workflow {bad.id}?")
    click_testid(user, "confirm-action")
    await user.should_see(f"Deleted workflow {bad.id}")
    await eventually(lambda: not _testids(user, "unreadable-row"))
    assert db.exec(select(WorkflowTemplate.id).where(WorkflowTemplate.id == bad.id)).first() is None


async def test_a_graph_nested_400_levels_is_listed_and_the_page_works(user: User, sign_in, db) -> None:
    _good, bad = await _workflows_with_a_server(user, sign_in, db)
    corrupt(db, "workflow_templates", bad.id, "graph", '{"1": ' + nested(400) + "}", json=True)
    await user.open("/workflows")
    await user.should_see("Goodflow")
    names = [e.text for e in _testids(user, "workflow-name")]
    assert "Goodflow" in names
    assert "Badflow" in names or len(_testids(user, "unreadable-row")) == 1


# The other lists that hold text from other users or peers: a row too deep to read is left out (and logged),
# the page and the other rows still show.


def _jobs(db: Any, owner: Any, make_project) -> tuple[Any, Any]:
    from tests.services.test_jobs_service import add_job

    project = make_project(owner, "Goodfilm")
    good, bad = add_job(db, project), add_job(db, project)
    corrupt(db, "generation_jobs", bad.id, "params", nested(3000), json=True)
    return good, bad


async def test_history_leaves_out_a_job_it_cannot_read(user: User, sign_in, make_user, make_project, db) -> None:
    await sign_in(user, "root", admin=True)
    good, _bad = _jobs(db, make_user("alice"), make_project)
    await user.open("/history")
    (table,) = _testids(user, "history-table")
    await eventually(lambda: [row["id"] for row in table.rows] == [good.id])  # type: ignore[attr-defined]


async def test_the_queue_leaves_out_a_job_it_cannot_read(user: User, sign_in, make_user, make_project, db) -> None:
    await sign_in(user, "root", admin=True)
    _jobs(db, make_user("alice"), make_project)
    await user.open("/queue")
    await user.should_see("Goodfilm")


async def test_the_servers_page_leaves_out_a_server_it_cannot_read(user: User, sign_in, db) -> None:
    await sign_in(user, "root", admin=True)
    db.add(ComfyServer(name="gpu-good", base_url="http://127.0.0.1:1"))
    bad = ComfyServer(name="gpu-bad", base_url="http://127.0.0.1:2")
    db.add(bad)
    db.commit()
    corrupt(db, "comfy_servers", bad.id, "node_types", nested(3000), json=True)  # type: ignore[arg-type]
    await user.open("/servers")
    await user.should_see("gpu-good")
    await user.open("/workflows")  # every workflow's support check reads the servers too
    await user.should_see("Text to image")
    assert not _testids(user, "unreadable-row")


async def test_the_notification_panel_leaves_out_a_notice_it_cannot_read(user: User, sign_in, db) -> None:
    account = await sign_in(user)
    db.add(Notification(user_id=account.id, kind="job.finished", title="Good one"))
    bad = Notification(user_id=account.id, kind="job.finished", title="Bad one")
    db.add(bad)
    db.commit()
    corrupt(db, "notifications", bad.id, "extra", nested(3000), json=True)  # type: ignore[arg-type]
    await user.open("/projects")
    await user.should_see("New project")
    click_testid(user, "notification-bell")
    await user.should_see("Good one")
