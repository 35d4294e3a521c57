"""Names, prompts and server error messages reach the page as text, whatever characters they hold.

Text formatted into a `.props()` string could add its own Vue-bound attribute (`:data-x="…"` is run as
JavaScript in the viewer's session), and text formatted into markup could add elements. Each test stores
such text where a person or a ComfyUI server can put it, opens the page that shows it, and checks that the
page carries it verbatim as data (element text or a property value) and that no element gained a bound
or event attribute.
"""

from __future__ import annotations

from typing import Any

from nicegui.testing import User
from sqlmodel import select

from app.services import clips, events, scenes
from data.models import GenerationJob

from ..services.test_jobs_service import add_job
from .conftest import click_testid, eventually
from .test_clip_generation import add_server, open_clip, with_testid

# A quote that closes a property string, then a bound attribute; and markup with a script.
BOUND = 'x" :data-x="alert(1)'
# A backslash escapes the closing quote of `title="…"`, so what follows is parsed as more props.
ESCAPED = "oops \\ :data-x='alert(1)' \\"
MARKUP = "</script><script>alert(1)</script><img src=x onerror=alert(1)>"


def _injected(user: User) -> list[tuple[str, str]]:
    """Props that Vue would evaluate or that would run on an event: none is ever set from user text."""
    return [
        (element.__class__.__name__, key)
        for element in user.client.layout.descendants()
        for key in element.props
        if key.startswith((":", "v-", "@")) or key.lower().startswith("on")
    ]


def _values(value: Any) -> list[str]:
    """Every string inside a prop value (component props are nested lists and dicts)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _values(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _values(item)]
    return []


def _shown(user: User) -> list[str]:
    """What the page holds as text: element texts and string prop values."""
    found: list[str] = []
    for element in user.client.layout.descendants():
        if getattr(element, "_text", None):
            found.append(str(element._text))
        for value in element.props.values():
            found.extend(_values(value))
    return found


async def test_a_server_error_cannot_add_attributes_to_a_batch_row(user: User, sign_in, make_project, db) -> None:
    add_server(db)
    account = await sign_in(user)
    project = make_project(account, BOUND)
    scene = scenes.create_scene(db, account, project.id, MARKUP)
    clip = clips.create_clip(db, account, scene.id, start=0, duration=2, label=BOUND, image_prompt="x")
    from app.services import batches
    from tests.ui.test_clip_generation import MODEL

    batch = batches.create_batch(
        db, account, project.id, batches.BatchRequest(clip_ids=[clip.id], settings={"checkpoint": MODEL})
    )
    job = db.exec(select(GenerationJob).where(GenerationJob.batch_id == batch.id)).one()
    job.status, job.error = "failed", ESCAPED
    db.add(job)
    db.commit()

    await user.open(f"/batches/{batch.id}")
    await user.should_see(ESCAPED, retries=30)
    (error,) = with_testid(user, "batch-row-error")
    assert error.props["title"] == ESCAPED and error.text == ESCAPED
    assert _injected(user) == []


async def test_queue_rows_show_hostile_names_and_errors_as_text(user: User, sign_in, make_project, db) -> None:
    account = await sign_in(user)
    project = make_project(account, BOUND)
    scene = scenes.create_scene(db, account, project.id, MARKUP)
    clip = clips.create_clip(db, account, scene.id, start=0, duration=2, label=BOUND)
    server = add_server(db, ESCAPED)
    add_job(db, project, clip_id=clip.id, status="failed", error=MARKUP + ESCAPED, params={"prompt": BOUND})
    add_job(db, project, clip_id=clip.id, status="running", server_id=server.id, current_node=MARKUP)

    await user.open("/queue")
    await user.should_see(f"{BOUND} › {MARKUP} · #1")
    shown = _shown(user)
    for text in (f"{BOUND} › {MARKUP} · #1", BOUND, ESCAPED, MARKUP + ESCAPED, f"0% · {MARKUP}"):
        assert any(text in value for value in shown), f"{text!r} is not on the page as text"
    assert not any("&lt;" in value or "&quot;" in value for value in shown), "text was escaped into markup"
    assert _injected(user) == []


async def test_the_prompt_echo_shows_markup_as_typed(user: User, sign_in, make_project, db) -> None:
    from .test_generation_dialog import more

    add_server(db)
    await open_clip(user, sign_in, make_project, db, image_prompt=f"{MARKUP} (fog:1.3) {{scene.name}}")
    await more(user)
    echo = with_testid(user, "dialog-image-prompt-echo")[0]
    spans = echo.props["spans"]
    assert "".join(text for _kind, text in spans) == f"{MARKUP} (fog:1.3) {{scene.name}}"
    assert [kind for kind, _text in spans if kind] == ["weight", "variable"]
    with_testid(user, "dialog-image-prompt")[0].set_value(f"{BOUND} {{mood}}")
    await eventually(lambda: echo.props["spans"][-1] == ["unknown-variable", "{mood}"])
    assert _injected(user) == []


async def test_the_project_timeline_shows_hostile_scene_and_clip_names_as_text(
    user: User, sign_in, make_project, db
) -> None:
    account = await sign_in(user)
    project = make_project(account, BOUND, fps=24, target_duration=20)
    scene = scenes.create_scene(db, account, project.id, MARKUP)
    clips.create_clip(db, account, scene.id, start=0, duration=4, label=BOUND)
    clips.create_clip(db, account, scene.id, start=3, duration=2, label=ESCAPED)

    await user.open(f"/projects/{project.id}/timeline")
    await user.should_see("Project timeline")
    (block,) = with_testid(user, "track-scene")
    assert block.props["title"].startswith(f"1. {MARKUP}\n")
    (bars,) = [e for e in user.client.layout.descendants() if "clips" in e.props and "overlaps" in e.props]
    assert [bar["title"] for bar in bars.props["clips"]] == [f"{BOUND} · 4 s", f"{ESCAPED} · 2 s"]
    assert _injected(user) == []


async def test_a_clip_job_error_from_a_server_is_text_in_the_inspector(user: User, sign_in, make_project, db) -> None:
    add_server(db)
    _account, project, clip = await open_clip(user, sign_in, make_project, db, label=BOUND)
    failed = add_job(db, project, clip_id=clip.id, status="failed", error=ESCAPED + MARKUP)
    events.emit(events.jobs_changed, project.id)
    await eventually(lambda: bool(with_testid(user, f"clip-job-error-{failed.id}")))
    (message,) = with_testid(user, f"clip-job-error-{failed.id}")
    assert message.props["title"] == ESCAPED + MARKUP
    click_testid(user, f"clip-job-retry-{failed.id}")
    assert _injected(user) == []
