"""Which model files a workflow can be given: what its bound loader lists on each working server.

A generate form offers a model for the workflow chosen, and only files that workflow's loader accepts: in video
mode the image-to-video loader's own list from the server's /object_info, not the fleet's checkpoints. A loader
of another folder (UNETLoader's diffusion_models, which Wan and LTX-Video graphs use) lists only its own files;
stock ComfyUI's SVD loader (ImageOnlyCheckpointLoader) lists the whole checkpoints folder, so there the base
model filter is what tells SVD models from image ones. A server that never told us its node definitions (or
told us before model lists were kept) is answered from its model catalog instead. A workflow with no checkpoint
binding (an upscale, a blur) loads no model the person chooses: the forms say so instead of asking for one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from data.models import WORKING_SERVER_STATUSES, ComfyServer, ModelEntry, ServerModel, User, WorkflowTemplate

from . import server_catalog, workflow_graph, workflows


@dataclass(frozen=True)
class ModelChoices:
    """What a form offers for one workflow: file → names of the servers whose loader lists it."""

    workflow_name: str
    loads_model: bool
    models: dict[str, list[str]] = field(default_factory=dict)
    loader: str | None = None
    # Why there is nothing to choose: the workflow loads no model, or no working server's loader lists one.
    note: str | None = None


def workflow_for(session: Session, actor: User, mode: str, workflow_id: int | None) -> WorkflowTemplate:
    """The workflow whose model a form's Model field sets: the image one in modes "image" and "both"."""
    kind = "video" if mode == "video" else "image"
    if workflow_id is None:
        return workflows.default_workflow(session, kind)
    return workflows.get_workflow(session, actor, workflow_id)


def bound_loader(workflow: WorkflowTemplate, binding: str = "checkpoint") -> tuple[str, str] | None:
    """(node class, input) the binding writes the model file into; None when the workflow has no such binding."""
    targets = workflow_graph.binding_targets((workflow.bindings or {}).get(binding))
    for target in targets:
        node = (workflow.graph or {}).get(str(target.get("node")))
        if isinstance(node, dict) and isinstance(target.get("input"), str):
            return str(node.get("class_type", "")), str(target["input"])
    return None


def loader_files(
    session: Session, workflow: WorkflowTemplate, binding: str = "checkpoint", base_model: str | None = None
) -> dict[str, list[str]] | None:
    """File → servers, for every enabled, working server whose bound loader accepts it; None: nothing is bound.

    The list is the loader input's choices in the server's node definitions; a server that did not tell us
    them answers from its catalog (the files of the loader's kind). Under a base model, files known to be of
    another base model are left out (files whose base model is unknown stay, as everywhere models are offered).
    """
    loader = bound_loader(workflow, binding)
    if loader is None:
        return None
    class_type, input_name = loader
    kind = workflow_graph.MODEL_INPUTS.get(class_type, ("checkpoint" if binding == "checkpoint" else binding, ""))[0]
    servers = session.exec(
        select(ComfyServer)
        .where(col(ComfyServer.enabled), col(ComfyServer.status).in_(WORKING_SERVER_STATUSES))
        .order_by(col(ComfyServer.id))
    ).all()
    found: dict[str, set[str]] = {}
    unlisted: dict[int, str] = {}
    for server in servers:
        choices = workflow_graph.loader_choices(workflows.node_specs(session, server), class_type, input_name)
        if choices is None:
            unlisted[server.id] = server.name  # type: ignore[index]  # a stored row's id is never None
        for name in choices or []:
            found.setdefault(name, set()).add(server.name)
    if unlisted:  # servers that did not tell us their loaders' lists: their catalog's files of that kind
        catalog = session.exec(
            select(ModelEntry.file_name, ServerModel.server_id)
            .join(ServerModel, col(ServerModel.model_id) == col(ModelEntry.id))
            .where(ModelEntry.kind == kind, col(ServerModel.server_id).in_(list(unlisted)))
        )
        for name, server_id in catalog:
            found.setdefault(name, set()).add(unlisted[server_id])
    if base_model and found:
        other = session.exec(
            select(ModelEntry.file_name).where(
                ModelEntry.kind == kind,
                col(ModelEntry.file_name).in_(list(found)),
                col(ModelEntry.base_model).is_not(None),
                ModelEntry.base_model != base_model,
            )
        ).all()
        for name in other:
            found.pop(name, None)
    ordered = sorted(found.items(), key=lambda item: item[0].lower())
    return {name: sorted(names, key=str.lower) for name, names in ordered}


def model_choices(
    session: Session, actor: User, mode: str, workflow_id: int | None, base_model: str | None = None
) -> ModelChoices:
    """What a generate form's Model field offers for this mode and workflow (the default one when None)."""
    workflow = workflow_for(session, actor, mode, workflow_id)
    files = loader_files(session, workflow, "checkpoint", base_model)
    loader = bound_loader(workflow)
    note = None
    if files is None:
        note = f"“{workflow.name}” loads no model of your choosing: it runs without one."
    elif not files:
        of_base = f" of base model {base_model}" if base_model else ""
        note = server_catalog.fleet_note(session) or (
            f"No working server's {loader[0] if loader else 'loader'} lists a model{of_base} for “{workflow.name}”: "
            "add one to a server and refresh its catalog on the Servers page."
        )
    return ModelChoices(
        workflow_name=workflow.name,
        loads_model=files is not None,
        models=files or {},
        loader=loader[0] if loader else None,
        note=note,
    )


def server_catalog_for(session: Session, actor: User, server_id: int, workflow_id: int) -> dict[str, list[str]]:
    """A server's catalog whose checkpoints are what this workflow's checkpoint loader lists there.

    Empty for a workflow that loads no model; the catalog's own checkpoints when the server did not tell us its
    loaders' lists."""
    catalog = server_catalog.server_catalog(session, actor, server_id)
    workflow = workflows.get_workflow(session, actor, workflow_id)
    server = session.get(ComfyServer, server_id)
    loader = bound_loader(workflow)
    if loader is None:
        catalog["checkpoints"] = []
    elif server is not None:
        choices = workflow_graph.loader_choices(workflows.node_specs(session, server), *loader)
        if choices is not None:
            catalog["checkpoints"] = sorted(choices, key=str.lower)
    return catalog
