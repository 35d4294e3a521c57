"""Workflow templates: built-ins kept in step with their files, ownership, validation and server support."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from app.services import workflows
from data.errors import Conflict, Forbidden, Invalid, NotFound
from data.models import ComfyServer, GenerationJob, ModelEntry, ServerModel, WorkflowTemplate


def _t2i(db) -> WorkflowTemplate:
    return workflows.default_workflow(db, "image")


def _import(db, owner, name: str = "My SDXL", **changes):
    source = _t2i(db)
    return workflows.create_workflow(
        db, owner, name, changes.get("kind", "image"), copy.deepcopy(source.graph), copy.deepcopy(source.bindings)
    )


def test_builtins_are_written_once_and_follow_their_files(db, monkeypatch) -> None:
    workflows.ensure_builtin_workflows(db)
    workflows.ensure_builtin_workflows(db)
    stored = list(db.exec(select(WorkflowTemplate).where(WorkflowTemplate.builtin)))
    assert sorted(w.name for w in stored) == sorted(d.name for d in workflows.builtin_definitions())
    assert all(w.owner_id is None for w in stored)

    original = workflows.builtin_definitions()
    changed = copy.deepcopy(original[0].graph)
    changed["3"]["inputs"]["steps"] = 30
    replaced = (workflows.BuiltinDefinition(original[0].name, "image", "", changed, original[0].bindings),)
    monkeypatch.setattr(workflows, "builtin_definitions", lambda: replaced + original[1:])
    workflows.ensure_builtin_workflows(db)
    db.expire_all()
    updated = workflows.default_workflow(db, "image")
    assert updated.id == next(w.id for w in stored if w.name == original[0].name)
    assert updated.graph["3"]["inputs"]["steps"] == 30
    assert len(list(db.exec(select(WorkflowTemplate).where(WorkflowTemplate.builtin)))) == len(original)


def test_default_workflow_per_kind(db) -> None:
    assert {workflows.default_workflow(db, kind).name for kind in workflows.KINDS} == {
        "Text to image",
        "Image to image",
        "Image to video",
        "Face swap (ReActor)",
    }
    with pytest.raises(Invalid, match="Unknown workflow kind"):
        workflows.default_workflow(db, "audio")


def test_each_user_sees_builtins_and_their_own_and_admins_see_all(db, make_user) -> None:
    alice, bob, admin = make_user("alice"), make_user("bob"), make_user("root", admin=True)
    mine = _import(db, alice)
    theirs = _import(db, bob, "Bob's")
    names = [w.name for w in workflows.list_workflows(db, alice)]
    assert names[:4] == [d.name for d in workflows.builtin_definitions()]
    assert names[4:] == ["My SDXL"]
    assert {w.id for w in workflows.list_workflows(db, admin)} >= {mine.id, theirs.id}
    assert [w.name for w in workflows.list_workflows(db, alice, kind="faceswap")] == ["Face swap (ReActor)"]
    with pytest.raises(NotFound):
        workflows.get_workflow(db, alice, theirs.id)  # type: ignore[arg-type]
    assert workflows.get_workflow(db, admin, theirs.id).id == theirs.id  # type: ignore[arg-type]


def test_create_checks_graph_bindings_kind_and_name(db, make_user) -> None:
    alice = make_user("alice")
    graph = _t2i(db).graph
    with pytest.raises(Invalid, match="UI format"):
        workflows.create_workflow(db, alice, "UI", "image", {"nodes": [], "links": []}, {})
    # A graph without a prompt imports (utility graphs have none); one that loads a picture must say where.
    assert workflows.create_workflow(db, alice, "No prompt", "image", graph, {}).bindings == {}
    with pytest.raises(Invalid, match="needs the “init_image” binding"):
        workflows.create_workflow(
            db, alice, "No picture", "img2img", workflows.default_workflow(db, "img2img").graph, {}
        )
    with pytest.raises(Invalid, match="needs the “face_image” binding"):
        face = workflows.default_workflow(db, "faceswap").graph
        workflows.create_workflow(db, alice, "Swap", "faceswap", face, {"init_image": {"node": "1", "input": "image"}})
    with pytest.raises(Invalid, match="Give the workflow a name"):
        workflows.create_workflow(db, alice, "  ", "image", graph, {"prompt": {"node": "6", "input": "text"}})
    with pytest.raises(Invalid, match="points to node 66"):
        workflows.create_workflow(db, alice, "Bad", "image", graph, {"prompt": {"node": "66", "input": "text"}})
    created = _import(db, alice, "  Spaced   name ")
    assert (created.name, created.owner_id, created.builtin) == ("Spaced name", alice.id, False)
    with pytest.raises(Conflict):
        _import(db, alice, "spaced NAME")
    mine = db.exec(select(WorkflowTemplate).where(WorkflowTemplate.owner_id == alice.id)).all()
    assert sorted(w.name for w in mine) == ["No prompt", "Spaced name"]


def test_builtins_are_read_only_and_duplicating_gives_an_editable_copy(db, make_user) -> None:
    alice = make_user("alice")
    builtin = _t2i(db)
    with pytest.raises(Forbidden, match="Built-in workflows cannot be changed: duplicate it first"):
        workflows.update_workflow(db, alice, builtin.id, name="Mine")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        workflows.delete_workflow(db, alice, builtin.id)  # type: ignore[arg-type]
    first = workflows.duplicate_workflow(db, alice, builtin.id)  # type: ignore[arg-type]
    second = workflows.duplicate_workflow(db, alice, builtin.id)  # type: ignore[arg-type]
    assert (first.name, second.name) == ("Text to image (copy)", "Text to image (copy 2)")
    assert (first.owner_id, first.builtin, first.graph) == (alice.id, False, builtin.graph)
    renamed = workflows.update_workflow(db, alice, first.id, name="Portrait")  # type: ignore[arg-type]
    assert renamed.name == "Portrait"
    named = workflows.duplicate_workflow(db, alice, builtin.id, "Wide")  # type: ignore[arg-type]
    assert named.name == "Wide"


def test_update_rechecks_old_bindings_against_a_new_graph(db, make_user) -> None:
    alice = make_user("alice")
    mine = _import(db, alice)
    smaller = {k: v for k, v in mine.graph.items() if k != "5"}
    smaller["3"] = copy.deepcopy(smaller["3"])
    smaller["3"]["inputs"]["latent_image"] = ["3", 0]
    with pytest.raises(Invalid, match="“width” points to node 5"):
        workflows.update_workflow(db, alice, mine.id, graph=smaller)  # type: ignore[arg-type]
    bindings = {k: v for k, v in mine.bindings.items() if k not in ("width", "height")}
    updated = workflows.update_workflow(db, alice, mine.id, graph=smaller, bindings=bindings)  # type: ignore[arg-type]
    db.expire_all()
    assert "5" not in db.get(WorkflowTemplate, updated.id).graph
    with pytest.raises(NotFound):
        workflows.update_workflow(db, make_user("bob"), mine.id, name="Stolen")  # type: ignore[arg-type]


def test_delete_keeps_jobs_and_their_resolved_graph(db, make_user, make_project) -> None:
    alice = make_user("alice")
    project = make_project(alice)
    mine = _import(db, alice)
    job = GenerationJob(
        kind="image", project_id=project.id, owner_id=alice.id, workflow_id=mine.id, resolved_graph=mine.graph
    )
    db.add(job)
    db.commit()
    with pytest.raises(NotFound):
        workflows.delete_workflow(db, make_user("bob"), mine.id)  # type: ignore[arg-type]
    workflows.delete_workflow(db, alice, mine.id)  # type: ignore[arg-type]
    db.expire_all()
    kept = db.get(GenerationJob, job.id)
    assert kept.workflow_id is None and kept.resolved_graph == mine.graph
    assert db.get(WorkflowTemplate, mine.id) is None


def test_server_support_lists_enabled_servers_with_what_they_lack(db) -> None:
    face = workflows.default_workflow(db, "faceswap")
    t2i = _t2i(db)
    core = ["LoadImage", "SaveImage", "CheckpointLoaderSimple", "CLIPTextEncode", "KSampler"]
    core += ["EmptyLatentImage", "VAEDecode"]
    now = datetime.now(UTC)
    plain = ComfyServer(name="b-plain", base_url="http://127.0.0.1:1", node_types=core, catalog_refreshed_at=now)
    reactor = ComfyServer(name="a-reactor", base_url="http://127.0.0.1:2", node_types=[*core, "ReActorFaceSwap"])
    off = ComfyServer(name="off", base_url="http://127.0.0.1:3", enabled=False, node_types=[])
    db.add_all([plain, reactor, off])
    db.commit()
    support = [(server.name, problems) for server, problems in workflows.server_support(db, face)]
    assert support == [("a-reactor", []), ("b-plain", ["Node ReActorFaceSwap is not installed on this server"])]

    # A model the graph fixes (not bound) must be on the server once its catalog is known.
    fixed = copy.deepcopy(t2i.graph)
    fixed["20"] = {"class_type": "VAELoader", "inputs": {"vae_name": "sdxl_vae.safetensors"}}
    fixed["8"]["inputs"]["vae"] = ["20", 0]
    plain.node_types = [*core, "VAELoader"]
    db.add(plain)
    db.commit()
    template = WorkflowTemplate(name="t", kind="image", graph=fixed, bindings=t2i.bindings)
    assert dict((s.name, p) for s, p in workflows.server_support(db, template))["b-plain"] == [
        "VAE sdxl_vae.safetensors is not on this server"
    ]
    vae = ModelEntry(kind="vae", file_name="sdxl_vae.safetensors")
    db.add(vae)
    db.commit()
    db.add(ServerModel(server_id=plain.id, model_id=vae.id))
    db.commit()
    assert dict((s.name, p) for s, p in workflows.server_support(db, template))["b-plain"] == []


def test_owner_names_are_told_to_administrators_only(db, make_user) -> None:
    admin, alice, bob = make_user("root", admin=True), make_user("alice"), make_user("bob")
    mine = workflows.duplicate_workflow(db, alice, workflows.list_workflows(db, alice)[0].id)
    assert workflows.owner_names(db, admin, [mine]) == {alice.id: "alice"}
    assert workflows.owner_names(db, alice, [mine]) == {alice.id: "alice"}
    assert workflows.owner_names(db, bob, [mine]) == {}  # another account's workflow: no name for it
