"""Names a non-administrator chose reach an administrator's pages as whole property values, never as markup.

The assessment named a project `x" :data-x="alert(1)`: formatted into a `.props()` string, the quote closed the
aria-label and `:data-x` became a Vue-bound attribute that ran in the administrator's session. Here the pages
are opened as the administrator over data holding such names, and every element's props are checked: no prop
a payload could have added, and the labels and test ids that carry a name carry all of it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from app.services import clips, scenes, servers, workflows
from components.workflow_guess import guess_bindings
from data.models import ComfyServer

from ..services.test_jobs_service import add_job
from .conftest import click_testid
from .test_workflows_page import NEGATIVE_FIRST

# Closes a double-quoted prop and adds a Vue-bound one; then the same for single quotes and for a backslash
# that escapes the closing quote.
PAYLOAD = "x\" :data-x=\"alert(1)\" ' onmouseover='alert(2)' x=' \\ :data-y='alert(3)' \\"
SCRIPT = "</script><script>alert(4)</script><img src=x onerror=alert(5)>"


def injected(user: User) -> list[str]:
    """Props on the page that only a payload could have put there."""
    found = []
    for element in user.client.layout.descendants():
        for key, value in element.props.items():
            bound = key.startswith((":", "@", "v-")) and "alert" in str(value)
            if bound or key in {"x", "data-x", "data-y"} or key.lower().startswith("on") or "alert" in key:
                found.append(f"{type(element).__name__} {key}={value!r}")
    return found


def _props_with(user: User, key: str) -> list[str]:
    return [str(e.props[key]) for e in user.client.layout.descendants() if key in e.props]


def _payload_world(admin, make_user, make_project, db) -> dict[str, int]:
    """A non-administrator's project, scene, clip, workflow and jobs, and a server, all named with the payload."""
    mallory = make_user("mallory")
    project = make_project(mallory, PAYLOAD, description=SCRIPT, tags=["tag-" + PAYLOAD[:20]])
    scene = scenes.create_scene(db, mallory, project.id, PAYLOAD, SCRIPT)
    clip = clips.create_clip(db, mallory, scene.id)
    workflow = workflows.create_workflow(db, mallory, PAYLOAD, "image", NEGATIVE_FIRST, guess_bindings(NEGATIVE_FIRST))
    server = servers.create_server(db, admin, servers.parse_create(name=PAYLOAD, url="http://127.0.0.1:9"))
    stored = db.get(ComfyServer, server.id)
    stored.last_error = PAYLOAD + SCRIPT
    stored.gpu_name = PAYLOAD
    db.add(stored)
    db.commit()
    when = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    for seed in (1, 2):
        add_job(
            db,
            project,
            clip_id=clip.id,
            status="failed",
            error=PAYLOAD + SCRIPT,
            checkpoint=PAYLOAD,
            created_at=when,
            params={"prompt": PAYLOAD, "seed": seed, PAYLOAD: seed},
        )
    return {"project": project.id, "scene": scene.id, "clip": clip.id, "workflow": workflow.id}


async def test_a_project_name_stays_one_aria_label_on_the_projects_page(
    user: User, sign_in, make_user, make_project
) -> None:
    await sign_in(user, "admin", admin=True)
    make_project(make_user("mallory"), PAYLOAD)
    await user.open("/projects")
    await user.should_see(PAYLOAD)
    assert injected(user) == []
    assert f"Actions for {PAYLOAD}" in _props_with(user, "aria-label")


async def test_workflow_names_stay_whole_labels_on_the_workflows_page(user: User, sign_in, make_user, db) -> None:
    await sign_in(user, "admin", admin=True)
    mallory = make_user("mallory")
    workflows.create_workflow(db, mallory, PAYLOAD, "image", NEGATIVE_FIRST, guess_bindings(NEGATIVE_FIRST))
    await user.open("/workflows")
    await user.should_see(PAYLOAD)
    assert injected(user) == []
    labels = _props_with(user, "aria-label")
    for action in ("View the JSON of", "Duplicate", "Edit bindings of", "Rename", "Delete"):
        assert f"{action} {PAYLOAD}" in labels


async def test_an_administrator_opens_every_page_over_payload_names_without_injected_props(
    user: User, sign_in, make_user, make_project, db
) -> None:
    admin = await sign_in(user, "admin", admin=True)
    ids = _payload_world(admin, make_user, make_project, db)
    pages = [
        ("/projects", PAYLOAD),
        (f"/projects/{ids['project']}", PAYLOAD),
        (f"/projects/{ids['project']}/settings", "Save generation defaults"),
        (f"/projects/{ids['project']}/timeline", PAYLOAD),
        (f"/scenes/{ids['scene']}", PAYLOAD),
        ("/queue", PAYLOAD),
        ("/history", "Compare"),
        ("/servers", PAYLOAD),
        ("/workflows", PAYLOAD),
        ("/account", "API keys"),
    ]
    for path, text in pages:
        await user.open(path)
        await user.should_see(text)
        assert injected(user) == [], path


async def test_compared_settings_named_by_a_payload_stay_whole_test_ids(
    user: User, sign_in, make_user, make_project, db
) -> None:
    admin = await sign_in(user, "admin", admin=True)
    _payload_world(admin, make_user, make_project, db)
    await user.open("/history")
    await user.should_see("Compare")
    (table,) = [e for e in user.client.layout.descendants() if e.props.get("data-testid") == "history-table"]
    assert isinstance(table, ui.table)
    table.selected = list(table.rows)
    click_testid(user, "history-compare")
    await user.should_see("highlighted")
    assert injected(user) == []
    assert f"diff-{PAYLOAD}" in _props_with(user, "data-testid")


async def test_job_details_show_a_hostile_error_and_params_as_text(
    user: User, sign_in, make_user, make_project, db
) -> None:
    """ui.code renders through markdown: JSON lines cannot close its fence, and the error is a label's text."""
    from components.job_details import open_job_details
    from data.models import GenerationJob

    admin = await sign_in(user, "admin", admin=True)
    _payload_world(admin, make_user, make_project, db)
    await user.open("/queue")
    job = db.exec(select(GenerationJob)).first()
    job.params = {**job.params, "fence": "```\n" + SCRIPT, "```": SCRIPT}
    job.resolved_graph = {"1": {"class_type": SCRIPT, "inputs": {"text": "```\n" + SCRIPT}}}
    db.add(job)
    db.commit()
    with user.client:
        open_job_details(admin, job.id)
    await user.should_see(f"Job {job.id}")
    (error,) = [e for e in user.client.layout.descendants() if e.props.get("data-testid") == "job-details-error"]
    assert error.text == PAYLOAD + SCRIPT  # type: ignore[attr-defined]
    rendered = [
        str(e.props.get("innerHTML", "")) for e in user.client.layout.descendants() if isinstance(e, ui.markdown)
    ]
    assert rendered and all("<script" not in html and "<img" not in html for html in rendered)
    assert injected(user) == []
