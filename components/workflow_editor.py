"""The bindings editor: a workflow's nodes beside one picker per binding, saved through the workflows service.

Each scalar binding picks one or more node inputs (a video's fps feeds two nodes); the LoRA binding picks the
loader whose model (and CLIP) outputs the LoRA chain wraps. Only inputs that hold a value are offered: an input
wired to another node is not something a generation sets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui

from app.services import workflows
from app.services.workflow_graph import (
    LORA_ANCHORS,
    binding_targets,
    graph_nodes,
    is_link,
)
from data.errors import DomainError
from data.models import User, WorkflowTemplate

from .service_call import read

BINDING_LABELS = {
    "prompt": "Prompt",
    "negative_prompt": "Negative prompt",
    "seed": "Seed",
    "steps": "Steps",
    "cfg": "CFG",
    "sampler": "Sampler",
    "scheduler": "Scheduler",
    "width": "Width",
    "height": "Height",
    "checkpoint": "Checkpoint",
    "loras": "LoRA chain after",
    "vae": "VAE",
    "init_image": "Init image",
    "denoise": "Denoise",
    "face_image": "Face image",
    "frames": "Frames",
    "fps": "Frame rate",
}


# Related values side by side: texts, sampling, size and time, models, images.
BINDING_ORDER = (
    "prompt",
    "negative_prompt",
    "seed",
    "steps",
    "cfg",
    "denoise",
    "sampler",
    "scheduler",
    "width",
    "height",
    "frames",
    "fps",
    "checkpoint",
    "loras",
    "vae",
    "init_image",
    "face_image",
)


@dataclass
class WorkflowDraft:
    """What the editor edits: a new import (workflow_id None) or a stored workflow's name, kind and bindings."""

    name: str
    kind: str
    graph: dict[str, Any]
    bindings: dict[str, Any] = field(default_factory=dict)
    workflow_id: int | None = None

    @classmethod
    def of(cls, workflow: WorkflowTemplate) -> WorkflowDraft:
        return cls(workflow.name, workflow.kind, workflow.graph, dict(workflow.bindings), workflow.id)


def _key(node_id: str, input_name: str) -> str:
    return json.dumps([node_id, input_name])


def input_options(graph: dict[str, Any], bindings: dict[str, Any]) -> dict[str, str]:
    """Every value input as "node · title · input", plus any input the bindings already name."""
    options: dict[str, str] = {}
    bound = {(t["node"], t["input"]) for b in bindings.values() for t in binding_targets(b) if "input" in t}
    for node_id, title, inputs in graph_nodes(graph):
        for name in inputs:
            if not is_link(graph[node_id]["inputs"][name]) or (node_id, name) in bound:
                options[_key(node_id, name)] = f"{node_id} · {title} · {name}"
    return options


def anchor_options(graph: dict[str, Any], bindings: dict[str, Any]) -> dict[str, str]:
    current = (bindings.get("loras") or {}).get("node")
    return {
        node_id: f"{node_id} · {title}"
        for node_id, title, _inputs in graph_nodes(graph)
        if graph[node_id].get("class_type") in LORA_ANCHORS or node_id == current
    }


def selected_bindings(graph: dict[str, Any], values: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """The pickers' values as bindings: one target as a dict, several as a list; unset pickers are left out."""
    bindings: dict[str, Any] = {}
    for name, value in values.items():
        if name == "loras":
            if value:
                old = previous.get("loras") or {}
                model_output, clip_output = LORA_ANCHORS.get(graph[value].get("class_type"), (0, None))
                if old.get("node") == value:
                    model_output, clip_output = old.get("model_output", model_output), old.get("clip_output")
                bindings["loras"] = {"node": value, "model_output": model_output, "clip_output": clip_output}
            continue
        targets = [dict(zip(("node", "input"), json.loads(key), strict=True)) for key in value or []]
        if targets:
            bindings[name] = targets[0] if len(targets) == 1 else targets
    return bindings


def open_workflow_editor(user: User, draft: WorkflowDraft, on_saved: Callable[[WorkflowTemplate], None]) -> None:
    """Nothing is stored until Save passes the service's checks; its messages show inline."""
    options = input_options(draft.graph, draft.bindings)
    anchors = anchor_options(draft.graph, draft.bindings)
    pickers: dict[str, ui.select] = {}
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[1180px] max-w-[96vw] gap-2"):
        with ui.row().classes("w-full items-center gap-2 no-wrap"):
            ui.label("Import workflow" if draft.workflow_id is None else "Edit bindings").classes("text-h6 grow")
            ui.button(icon="close", on_click=dialog.close).props("flat dense round").tooltip("Close without saving")
        with ui.row().classes("w-full gap-2 no-wrap"):
            name = ui.input("Name", value=draft.name).props("outlined dense").classes("grow").mark("workflow-name")
            kind = (
                ui.select(workflows.KIND_LABELS, label="Kind", value=draft.kind)
                .props("outlined dense options-dense")
                .classes("w-48")
                .mark("workflow-kind")
            )
        ui.label(f"Nodes ({len(draft.graph)})").classes("text-subtitle2")
        _nodes_table(draft.graph)
        ui.label("Bindings: where each generation value goes").classes("text-subtitle2 pt-1")
        with ui.grid(columns="7.5rem 1fr 7.5rem 1fr").classes("w-full items-center gap-x-2 gap-y-1"):
            for binding in BINDING_ORDER:
                ui.label(BINDING_LABELS[binding]).classes("text-right sc-muted")
                pickers[binding] = _picker(binding, draft, options, anchors)
        errors = ui.label("").classes("text-negative whitespace-pre-line").props('data-testid="workflow-errors"')

        def save() -> None:
            errors.set_text("")
            values = {binding: picker.value for binding, picker in pickers.items()}
            bindings = selected_bindings(draft.graph, values, draft.bindings)
            try:
                if draft.workflow_id is None:
                    saved = read(workflows.create_workflow, user, name.value, kind.value, draft.graph, bindings)
                else:
                    saved = read(
                        workflows.update_workflow,
                        user,
                        draft.workflow_id,
                        name=name.value,
                        kind=kind.value,
                        bindings=bindings,
                    )
            except DomainError as failure:
                errors.set_text(failure.message)
                return
            dialog.close()
            on_saved(saved)

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save workflow", icon="save", on_click=save).props('unelevated data-testid="save-workflow"')
    dialog.open()


def _picker(binding: str, draft: WorkflowDraft, options: dict[str, str], anchors: dict[str, str]) -> ui.select:
    current = draft.bindings.get(binding)
    if binding == "loras":
        value = (current or {}).get("node")
        return (
            ui.select(anchors, value=value if value in anchors else None, clearable=True)
            .props('outlined dense options-dense data-testid="binding-loras"')
            .classes("w-full")
            .mark("binding-loras")
            .tooltip("LoRAs are inserted after this loader's model and CLIP outputs")
        )
    keys = [_key(str(t["node"]), t["input"]) for t in binding_targets(current) if "input" in t]
    picker = (
        ui.select(options, value=[k for k in keys if k in options], multiple=True, clearable=True, with_input=True)
        .props("outlined dense options-dense use-chips")
        .classes("w-full")
        .mark(f"binding-{binding}")
    )
    picker.props["data-testid"] = f"binding-{binding}"
    return picker


def _nodes_table(graph: dict[str, Any]) -> None:
    rows = [
        {
            "id": node_id,
            "node": title if title == graph[node_id]["class_type"] else f"{title} ({graph[node_id]['class_type']})",
            "inputs": " · ".join(
                f"{name} {_short(graph[node_id]['inputs'][name])}"
                for name in inputs
                if not is_link(graph[node_id]["inputs"][name])
            ),
        }
        for node_id, title, inputs in graph_nodes(graph)
    ]
    columns = [
        {"name": "id", "label": "Id", "field": "id", "align": "left"},
        {"name": "node", "label": "Node", "field": "node", "align": "left"},
        {"name": "inputs", "label": "Values", "field": "inputs", "align": "left", "classes": "whitespace-normal"},
    ]
    ui.table(rows=rows, columns=columns, row_key="id").props(
        'dense flat bordered virtual-scroll hide-bottom :rows-per-page-options="[0]" data-testid="workflow-nodes"'
    ).classes("w-full max-h-[32vh]")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f"“{value}”"
    return text if len(text) <= 40 else text[:39] + "…"
