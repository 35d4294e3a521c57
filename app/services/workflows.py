"""Workflow templates: the built-ins every installation has, the ones users import, and who may change which.

Built-ins come from the JSON files in app/workflows/ and are refreshed from them at every start-up; they are
read-only (duplicate one to customise it). Imported workflows belong to the user who imported them; others
neither see nor find them. Admins see and manage all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from data.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from data.models import (
    WORKFLOW_NAME_MAX,
    ComfyServer,
    GenerationJob,
    ModelEntry,
    ServerModel,
    ServerNodeSpecs,
    User,
    WorkflowTemplate,
)

from . import json_limits, unreadable_rows, workflow_graph

KINDS = ("image", "img2img", "video", "faceswap")
KIND_LABELS = {"image": "Text to image", "img2img": "Image to image", "video": "Video", "faceswap": "Face swap"}
# Without these a kind of job has nowhere to put its input (the dispatcher sets images by these bindings).
REQUIRED_BINDINGS: dict[str, tuple[str, ...]] = {
    # A prompt is optional: utility graphs (upscale, blur, face restore, frame interpolation) have none.
    "image": (),
    "img2img": ("init_image",),
    "video": ("init_image",),
    "faceswap": ("init_image", "face_image"),
}
BINDING_HINTS = {
    "prompt": "the CLIPTextEncode text of the positive prompt",
    "init_image": "the LoadImage image of the picture to start from",
    "face_image": "the LoadImage image of the face to put in",
}
NAME_MAX = WORKFLOW_NAME_MAX
# An API-format graph is 4 levels deep (nodes, node, inputs, a value or link) and rarely over 200 KB.
GRAPH_MAX_DEPTH = 16
GRAPH_MAX_BYTES = 2 * 1024 * 1024
BINDINGS_MAX_DEPTH = 8
BINDINGS_MAX_BYTES = 256 * 1024
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "workflows"


@dataclass(frozen=True)
class BuiltinDefinition:
    name: str
    kind: str
    description: str
    graph: dict[str, Any]
    bindings: dict[str, Any]


@cache
def builtin_definitions() -> tuple[BuiltinDefinition, ...]:
    """The shipped built-ins, in file-name order (which is the order the page lists them in)."""
    definitions = []
    for path in sorted(BUILTIN_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        definitions.append(
            BuiltinDefinition(data["name"], data["kind"], data.get("description", ""), data["graph"], data["bindings"])
        )
    return tuple(definitions)


def _deep_copy(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value))


def builtin_description(name: str) -> str:
    return next((d.description for d in builtin_definitions() if d.name == name), "")


def ensure_builtin_workflows(session: Session) -> None:
    """Make the stored built-ins match the shipped files: add new ones, update changed ones, drop retired ones."""
    stored = {w.name: w for w in session.exec(select(WorkflowTemplate).where(col(WorkflowTemplate.builtin).is_(True)))}
    for definition in builtin_definitions():
        workflow = stored.pop(definition.name, None)
        if workflow is None:
            workflow = WorkflowTemplate(name=definition.name, owner_id=None, builtin=True, kind=definition.kind)
        elif (workflow.kind, workflow.graph, workflow.bindings) == (
            definition.kind,
            definition.graph,
            definition.bindings,
        ):
            continue
        workflow.kind = definition.kind
        workflow.graph, workflow.bindings = _deep_copy(definition.graph), _deep_copy(definition.bindings)
        session.add(workflow)
    for retired in stored.values():  # jobs that used one keep their resolved graph (the foreign key is SET NULL)
        session.delete(retired)
    session.commit()


def _matches(workflow: WorkflowTemplate, definition: BuiltinDefinition) -> bool:
    stored = (workflow.kind, workflow.graph, workflow.bindings)
    return stored == (definition.kind, definition.graph, definition.bindings)


def _ensure_present(session: Session) -> None:
    """Built-ins are written at start-up; a database that has none yet (a fresh test, a restore) gets them now."""
    count = session.exec(select(func.count()).select_from(WorkflowTemplate).where(col(WorkflowTemplate.builtin))).one()
    if not count:
        ensure_builtin_workflows(session)


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise Invalid(f"Unknown workflow kind “{kind}”: use one of {', '.join(KINDS)}.", field="kind")


def list_workflows(session: Session, actor: User, kind: str | None = None) -> unreadable_rows.Listing[WorkflowTemplate]:
    """Built-ins first (in their shipped order), then the actor's own by name; admins see everyone's.

    A row that cannot be read is set aside in `.unreadable` instead of breaking the list for everyone."""
    _check_kind(kind)
    _ensure_present(session)
    query = select(WorkflowTemplate)
    if not actor.is_admin:
        query = query.where((col(WorkflowTemplate.builtin)) | (WorkflowTemplate.owner_id == actor.id))
    if kind:
        query = query.where(WorkflowTemplate.kind == kind)
    order = {d.name: index for index, d in enumerate(builtin_definitions())}
    found = unreadable_rows.load_each(session, query, WorkflowTemplate)
    # str(): a name another tool stored as a number must not break the sort for everyone
    ranked = sorted(
        found, key=lambda w: (not w.builtin, order.get(str(w.name), 0) if w.builtin else 0, str(w.name).lower(), w.id)
    )
    return unreadable_rows.Listing(ranked, found.unreadable)


def get_workflow(session: Session, actor: User, workflow_id: int) -> WorkflowTemplate:
    """Another user's workflow is NotFound, not Forbidden: its existence is not disclosed."""
    workflow = session.get(WorkflowTemplate, workflow_id)
    if workflow is None or not (workflow.builtin or workflow.owner_id == actor.id or actor.is_admin):
        raise NotFound(f"Workflow {workflow_id} does not exist or is not yours.")
    return workflow


def owner_names(session: Session, actor: User, workflows: list[WorkflowTemplate]) -> dict[int, str]:
    """Owner id → username for the listed workflows the actor may see (the rule of `get_workflow`).

    Only an administrator sees other people's workflows, so only an administrator learns their names: a
    member asking about another account's workflow gets no name for it."""
    ids = {
        w.owner_id
        for w in workflows
        if isinstance(w.owner_id, int) and (w.builtin or w.owner_id == actor.id or actor.is_admin)
    }
    if not ids:
        return {}
    query = select(User.id, User.username).where(col(User.id).in_(ids))
    return {user_id: name for user_id, name in session.exec(query) if user_id is not None}


def default_workflow(session: Session, kind: str) -> WorkflowTemplate:
    """The built-in a job of this kind runs when no other workflow was chosen."""
    _check_kind(kind)
    _ensure_present(session)
    query = select(WorkflowTemplate).where(col(WorkflowTemplate.builtin), WorkflowTemplate.kind == kind)
    workflow = session.exec(query.order_by(col(WorkflowTemplate.id))).first()
    if workflow is None:
        raise NotFound(f"There is no built-in {kind} workflow: restart StoryCanvas to restore the built-ins.")
    return workflow


def _clean_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Invalid("Give the workflow a name.", field="name")
    if len(cleaned) > NAME_MAX:
        raise Invalid(f"The name is too long: at most {NAME_MAX} characters.", field="name")
    return cleaned


def _name_taken(session: Session, owner_id: int | None, name: str, exclude_id: int | None = None) -> bool:
    query = select(WorkflowTemplate.id).where(
        WorkflowTemplate.owner_id == owner_id, func.lower(WorkflowTemplate.name) == name.lower()
    )
    if exclude_id is not None:
        query = query.where(WorkflowTemplate.id != exclude_id)
    return session.exec(query).first() is not None


def _check_limits(graph: Any, bindings: Any) -> Any:
    """Size and depth before anything walks the graph: a deep one breaks every later reader (lists, pages)."""
    if isinstance(graph, bytes | bytearray | str):
        if len(graph) > GRAPH_MAX_BYTES:
            raise TooLarge(f"The workflow graph is larger than the {GRAPH_MAX_BYTES // 1024 // 1024} MB accepted.")
        try:
            graph = json_limits.loads(graph, max_depth=GRAPH_MAX_DEPTH, what="The workflow graph")
        except ValueError:
            return graph  # not JSON: the graph check says so in its own words
    json_limits.check(graph, max_depth=GRAPH_MAX_DEPTH, max_bytes=GRAPH_MAX_BYTES, what="The workflow graph")
    json_limits.check(bindings, max_depth=BINDINGS_MAX_DEPTH, max_bytes=BINDINGS_MAX_BYTES, what="The bindings")
    return graph


def _validate(kind: str, graph: Any, bindings: Any) -> tuple[dict, dict]:
    _check_kind(kind)
    graph = _check_limits(graph, bindings)
    checked_graph = workflow_graph.check_graph_shape(graph)
    checked_bindings = workflow_graph.check_bindings(checked_graph, bindings or {})
    for name in REQUIRED_BINDINGS[kind]:
        if name not in checked_bindings:
            raise Invalid(
                f"A {KIND_LABELS[kind].lower()} workflow needs the “{name}” binding: "
                f"pick {BINDING_HINTS.get(name, 'the input it sets')}.",
                field="bindings",
            )
    return checked_graph, checked_bindings


# Decoded node definitions per server, by the catalog refresh they came from: decoding one server's takes
# about 10 ms, and a generate request checks its graph against every enabled server.
_decoded_specs: dict[int, tuple[datetime, dict[str, Any]]] = {}


def node_specs(session: Session, server: ComfyServer) -> dict[str, Any]:
    """The server's node definitions from its last catalog refresh ({} when it never told us)."""
    assert server.id is not None
    refreshed = server.catalog_refreshed_at
    cached = _decoded_specs.get(server.id)
    if refreshed is not None and cached is not None and cached[0] == refreshed:
        return cached[1]
    row = session.get(ServerNodeSpecs, server.id)
    specs = row.specs if row is not None else {}
    if refreshed is not None:
        _decoded_specs[server.id] = (refreshed, specs)
    return specs


def servers_with_specs(session: Session) -> list[tuple[ComfyServer, dict[str, Any]]]:
    """Enabled servers that told us their node definitions, with them."""
    servers = session.exec(select(ComfyServer).where(col(ComfyServer.enabled)).order_by(col(ComfyServer.id))).all()
    return [(server, specs) for server in servers if (specs := node_specs(session, server))]


def check_on_servers(session: Session, graph: dict[str, Any], bindings: dict[str, Any]) -> None:
    """Invalid when every enabled server that told us its node definitions would refuse the graph.

    What is checked is what ComfyUI's own validation refuses (a missing required input, a link from an output of
    the wrong type, a number out of range, a choice not in its list); missing nodes and models are shown per
    server on the workflows page instead, since installing them is how such a workflow becomes runnable."""
    refusals = []
    for server, specs in servers_with_specs(session):
        found = workflow_graph.spec_problems(graph, specs, unchecked=workflow_graph.bound_inputs(bindings))
        if not found:
            return
        refusals.append(f"{server.name}: {'; '.join(found[:5])}" + (" …" if len(found) > 5 else ""))
    if refusals:
        raise Invalid("ComfyUI would refuse this workflow. " + " · ".join(refusals), field="graph")


def create_workflow(session: Session, actor: User, name: str, kind: str, graph: Any, bindings: Any) -> WorkflowTemplate:
    """An imported workflow, owned by the actor; its graph and bindings are checked before anything is stored."""
    cleaned = _clean_name(name)
    checked_graph, checked_bindings = _validate(kind, graph, bindings)
    check_on_servers(session, checked_graph, checked_bindings)
    if _name_taken(session, actor.id, cleaned):
        raise Conflict(f"You already have a workflow named “{cleaned}”: choose another name.", field="name")
    workflow = WorkflowTemplate(
        owner_id=actor.id, name=cleaned, kind=kind, graph=checked_graph, bindings=checked_bindings, builtin=False
    )
    session.add(workflow)
    session.commit()
    session.refresh(workflow)
    return workflow


def _editable(session: Session, actor: User, workflow_id: int, verb: str) -> WorkflowTemplate:
    workflow = get_workflow(session, actor, workflow_id)
    if workflow.builtin:
        raise Forbidden(f"Built-in workflows cannot be {verb}: duplicate it first")
    return workflow


def update_workflow(
    session: Session,
    actor: User,
    workflow_id: int,
    *,
    name: str | None = None,
    kind: str | None = None,
    graph: Any = None,
    bindings: Any = None,
) -> WorkflowTemplate:
    """Rename, re-kind, replace the graph or rebind; the result is checked as a whole (old bindings on a new graph)."""
    workflow = _editable(session, actor, workflow_id, "changed")
    new_name = _clean_name(name) if name is not None else workflow.name
    new_kind = kind if kind is not None else workflow.kind
    checked_graph, checked_bindings = _validate(
        new_kind,
        graph if graph is not None else workflow.graph,
        bindings if bindings is not None else workflow.bindings,
    )
    check_on_servers(session, checked_graph, checked_bindings)
    if new_name.lower() != workflow.name.lower() and _name_taken(session, workflow.owner_id, new_name, workflow.id):
        raise Conflict(f"There is already a workflow named “{new_name}”: choose another name.", field="name")
    workflow.name, workflow.kind, workflow.graph, workflow.bindings = (
        new_name,
        new_kind,
        checked_graph,
        checked_bindings,
    )
    session.add(workflow)
    session.commit()
    session.refresh(workflow)
    return workflow


def _copy_name(session: Session, owner_id: int | None, base: str) -> str:
    base = base[: NAME_MAX - 12]
    candidate, number = f"{base} (copy)", 2
    while _name_taken(session, owner_id, candidate):
        candidate, number = f"{base} (copy {number})", number + 1
    return candidate


def duplicate_workflow(session: Session, actor: User, workflow_id: int, name: str | None = None) -> WorkflowTemplate:
    """A copy the actor owns and can change: how a built-in is customised."""
    source = get_workflow(session, actor, workflow_id)
    if name is not None and name.strip():
        new_name = _clean_name(name)
        if _name_taken(session, actor.id, new_name):
            raise Conflict(f"You already have a workflow named “{new_name}”: choose another name.", field="name")
    else:
        new_name = _copy_name(session, actor.id, source.name)
    copy = WorkflowTemplate(
        owner_id=actor.id,
        name=new_name,
        kind=source.kind,
        graph=_deep_copy(source.graph),
        bindings=_deep_copy(source.bindings),
        builtin=False,
    )
    session.add(copy)
    session.commit()
    session.refresh(copy)
    return copy


def delete_workflow(session: Session, actor: User, workflow_id: int) -> None:
    """Jobs that ran it keep their resolved graph; they just no longer point at the template.

    Only the id, owner and built-in flag are read, so a workflow whose graph cannot be read can still be deleted."""
    _held = unreadable_rows.load_keys(session, WorkflowTemplate, [workflow_id])
    workflow = _editable(session, actor, workflow_id, "deleted")
    # The foreign key is SET NULL too; saying it here keeps it true where a database does not enforce keys.
    session.exec(update(GenerationJob).where(col(GenerationJob.workflow_id) == workflow.id).values(workflow_id=None))
    session.delete(workflow)
    session.commit()


def server_models(session: Session, server: ComfyServer) -> dict[str, set[str]] | None:
    """The model files a server has, by kind; None while its catalog was never read."""
    if server.catalog_refreshed_at is None:
        return None
    models: dict[str, set[str]] = {}
    query = (
        select(ModelEntry.kind, ModelEntry.file_name)
        .join(ServerModel, col(ServerModel.model_id) == col(ModelEntry.id))
        .where(ServerModel.server_id == server.id)
    )
    for kind, file_name in session.exec(query):
        models.setdefault(kind, set()).add(file_name)
    return models


def server_support(session: Session, workflow: WorkflowTemplate) -> list[tuple[ComfyServer, list[str]]]:
    """Every enabled server, with why it cannot run this workflow ([] = it can).

    Models the bindings set (the checkpoint, LoRAs) change per job, so only fixed ones count here.
    """
    servers = unreadable_rows.load_each(  # a server row nobody can read must not fail every workflow's check
        session,
        select(ComfyServer).where(col(ComfyServer.enabled)).order_by(func.lower(ComfyServer.name), col(ComfyServer.id)),
        ComfyServer,
    )
    return [
        (
            server,
            workflow_graph.problems_on_server(
                workflow.graph,
                set(server.node_types or []),
                server_models(session, server),
                bindings=workflow.bindings,
                specs=node_specs(session, server) or None,
            ),
        )
        for server in servers
    ]
