"""The /workflows page with the simulated user: import by pasting, guessed bindings, inline errors, upkeep."""

from __future__ import annotations

import json

from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from app.services import workflows
from components.workflow_guess import guess_bindings
from data.models import ComfyServer, WorkflowTemplate

from .conftest import click_testid, eventually

NEGATIVE_FIRST = {  # the negative prompt comes first by id: only the wiring says which is which
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "dreamshaper_8.safetensors"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["1", 1]}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["1", 1]}},
    "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 768, "height": 512, "batch_size": 1}},
    "5": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 5,
            "steps": 20,
            "cfg": 6.0,
            "sampler_name": "euler",
            "scheduler": "karras",
            "denoise": 1.0,
            "model": ["1", 0],
            "positive": ["3", 0],
            "negative": ["2", 0],
            "latent_image": ["4", 0],
        },
    },
    "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
    "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "mine"}},
}


def _element(user: User, marker: str) -> ui.element:
    (element,) = user.find(marker=marker).elements
    return element


def _set(user: User, marker: str, value: object) -> None:
    with user.client:
        _element(user, marker).set_value(value)  # type: ignore[attr-defined]


async def _paste(user: User, text: str, name: str = "Lighthouse") -> None:
    await user.open("/workflows")
    await user.should_see("Text to image")
    click_testid(user, "import-workflow")
    await user.should_see("Import a ComfyUI workflow")
    _set(user, "workflow-json", text)
    _set(user, "import-name", name)
    click_testid(user, "read-workflow")


def _row_names(user: User) -> list[str]:
    return [e.text for e in user.client.layout.descendants() if e.props.get("data-testid") == "workflow-name"]


def _picked(user: User, binding: str) -> list[list[str]]:
    value = _element(user, f"binding-{binding}").value  # type: ignore[attr-defined]
    return [json.loads(key) for key in value] if isinstance(value, list) else value


async def test_import_by_pasting_guesses_bindings_and_saves(user: User, sign_in, db) -> None:
    account = await sign_in(user)
    await _paste(user, json.dumps(NEGATIVE_FIRST))
    await user.should_see("Bindings: where each generation value goes")
    assert _picked(user, "prompt") == [["3", "text"]]
    assert _picked(user, "negative_prompt") == [["2", "text"]]
    assert _picked(user, "seed") == [["5", "seed"]]
    assert _picked(user, "sampler") == [["5", "sampler_name"]]
    assert _picked(user, "width") == [["4", "width"]]
    assert _picked(user, "checkpoint") == [["1", "ckpt_name"]]
    assert _picked(user, "loras") == "1"
    assert _picked(user, "init_image") == []
    assert _element(user, "workflow-kind").value == "image"  # type: ignore[attr-defined]

    _set(user, "binding-steps", [])  # the person unbinds one guess before saving
    click_testid(user, "save-workflow")
    await user.should_see("Saved “Lighthouse”")
    stored = db.exec(select(WorkflowTemplate).where(WorkflowTemplate.owner_id == account.id)).one()
    assert stored.kind == "image" and stored.graph == NEGATIVE_FIRST
    assert stored.bindings["prompt"] == {"node": "3", "input": "text"}
    assert stored.bindings["loras"] == {"node": "1", "model_output": 0, "clip_output": 1}
    assert "steps" not in stored.bindings
    await eventually(lambda: "Lighthouse" in _row_names(user))


async def test_ui_format_json_is_refused_with_how_to_export(user: User, sign_in, db) -> None:
    account = await sign_in(user)
    await _paste(user, json.dumps({"last_node_id": 3, "nodes": [{"id": 1}], "links": [], "version": 0.4}))
    await user.should_see("This is ComfyUI's UI format: in ComfyUI use Workflow → Export (API) and import that file")
    await _paste(user, "{not json")
    await user.should_see("This is not JSON")
    assert db.exec(select(WorkflowTemplate).where(WorkflowTemplate.owner_id == account.id)).all() == []


async def test_save_shows_what_is_missing_inline_and_stores_nothing(user: User, sign_in, db) -> None:
    account = await sign_in(user)
    await _paste(user, json.dumps(NEGATIVE_FIRST))
    await user.should_see("Save workflow")
    _set(user, "binding-prompt", [])  # a prompt is optional (utility graphs have none); a face swap's picture is not
    _set(user, "workflow-kind", "faceswap")
    click_testid(user, "save-workflow")
    await user.should_see("A face swap workflow needs the “init_image” binding")
    assert db.exec(select(WorkflowTemplate).where(WorkflowTemplate.owner_id == account.id)).all() == []


async def test_duplicate_a_builtin_rename_and_delete_with_confirmation(user: User, sign_in, db) -> None:
    account = await sign_in(user)
    await user.open("/workflows")
    await user.should_see("No imported workflows yet.")
    await user.should_see("Workflow → Export (API)")
    click_testid(user, "duplicate-workflow", 0)
    await user.should_see("Duplicated as “Text to image (copy)”")
    (copy,) = db.exec(select(WorkflowTemplate).where(WorkflowTemplate.owner_id == account.id)).all()

    await eventually(lambda: "Text to image (copy)" in _row_names(user))  # refreshes run in the background
    click_testid(user, "rename-workflow")
    _set(user, "rename-input", "Portrait")
    click_testid(user, "rename-save")
    await user.should_see("Renamed to “Portrait”")
    db.expire_all()
    assert db.get(WorkflowTemplate, copy.id).name == "Portrait"
    await eventually(lambda: "Portrait" in _row_names(user))

    click_testid(user, "delete-workflow")
    await user.should_see("Delete “Portrait”?")
    click_testid(user, "confirm-action")
    await user.should_see("Deleted “Portrait”")
    await eventually(lambda: "Portrait" not in _row_names(user))
    assert db.exec(select(WorkflowTemplate).where(WorkflowTemplate.owner_id == account.id)).all() == []


async def test_rows_say_which_servers_can_run_each_workflow(user: User, sign_in, db) -> None:
    await sign_in(user)
    face = workflows.default_workflow(db, "faceswap")
    core = sorted({node["class_type"] for w in workflows.list_workflows(db, _admin(db)) for node in w.graph.values()})
    core = [c for c in core if c != "ReActorFaceSwap"]
    db.add(ComfyServer(name="gpu-1", base_url="http://127.0.0.1:1", node_types=core))
    db.add(ComfyServer(name="gpu-2", base_url="http://127.0.0.1:2", node_types=core))
    db.commit()
    await user.open("/workflows")
    await user.should_see("no server has ReActorFaceSwap")
    await user.should_see("2 servers")
    chips = [e for e in user.client.layout.descendants() if e.props.get("data-testid") == "workflow-support"]
    texts = {
        row.props["data-workflow-id"]: chip.text  # type: ignore[attr-defined]
        for row in user.client.layout.descendants()
        if row.props.get("data-testid") == "workflow-row"
        for chip in chips
        if chip in row.descendants()
    }
    assert texts[str(face.id)] == "no server has ReActorFaceSwap"
    assert sorted(texts.values()).count("2 servers") == 3


def _admin(db):  # list_workflows needs an actor; an unsaved admin sees every workflow
    from data.models import User as Account

    return Account(username="x", email="x@example.com", password_hash="", is_admin=True)


async def test_view_json_of_a_builtin(user: User, sign_in) -> None:
    await sign_in(user)
    await user.open("/workflows")
    await user.should_see("Face swap (ReActor)")
    click_testid(user, "view-json", 3)
    await user.should_see("Face swap (ReActor) · API-format JSON")
    contents = [code.content for code in user.find(kind=ui.code).elements]  # type: ignore[attr-defined]
    assert any('"class_type": "ReActorFaceSwap"' in content for content in contents)


async def test_edit_bindings_of_an_imported_workflow(user: User, sign_in, db) -> None:
    account = await sign_in(user)
    mine = workflows.create_workflow(db, account, "Lighthouse", "image", NEGATIVE_FIRST, guess_bindings(NEGATIVE_FIRST))
    await user.open("/workflows")
    await user.should_see("Lighthouse")
    click_testid(user, "edit-workflow")
    await user.should_see("Edit bindings")
    assert _picked(user, "seed") == [["5", "seed"]]
    _set(user, "binding-seed", [json.dumps(["5", "seed"]), json.dumps(["5", "steps"])])
    _set(user, "binding-steps", [])
    click_testid(user, "save-workflow")
    await user.should_see("Saved “Lighthouse”")
    db.expire_all()
    stored = db.get(WorkflowTemplate, mine.id)
    assert stored.bindings["seed"] == [{"node": "5", "input": "seed"}, {"node": "5", "input": "steps"}]
    assert "steps" not in stored.bindings and stored.graph == NEGATIVE_FIRST
