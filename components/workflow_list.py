"""A workflow as one row of the workflows page: what it is, which servers can run it, and what can be done with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nicegui import ui

from app.services import workflows
from app.services.workflow_graph import required_nodes
from data.models import ComfyServer, WorkflowTemplate
from data.words import counted

KIND_ICONS = {"image": "image", "img2img": "auto_fix_high", "video": "movie", "faceswap": "face_retouching_natural"}


@dataclass(frozen=True)
class SupportSummary:
    text: str
    color: str  # a Quasar colour: positive, warning or grey
    detail: str  # one line per server


def support_summary(graph: dict, support: list[tuple[ComfyServer, list[str]]]) -> SupportSummary:
    """ "2 servers" when some can run it; otherwise what none of them has, e.g. "no server has ReActorFaceSwap"."""
    detail = "\n".join(
        f"{server.name}: {'; '.join(problems) if problems else 'can run it'}" for server, problems in support
    )
    if not support:
        return SupportSummary("no server enabled", "grey", "Add or enable a ComfyUI server on the Servers page.")
    able = [server for server, problems in support if not problems]
    if able:
        return SupportSummary(f"{counted(len(able), 'server')}", "positive", detail)
    known = [set(server.node_types or []) for server, _problems in support if server.node_types]
    missing_everywhere = [node for node in required_nodes(graph) if known and all(node not in k for k in known)]
    if missing_everywhere:
        return SupportSummary(f"no server has {', '.join(missing_everywhere)}", "warning", detail)
    return SupportSummary("no server can run it", "warning", detail)


@dataclass
class WorkflowActions:
    view: Callable[[WorkflowTemplate], None]
    edit: Callable[[WorkflowTemplate], None]
    duplicate: Callable[[WorkflowTemplate], None]
    rename: Callable[[WorkflowTemplate], None]
    delete: Callable[[WorkflowTemplate], None]


def _action(icon: str, handler: Callable[[], None], label: str, testid: str, tip: str, *, danger: bool = False) -> None:
    """An icon button whose accessible name carries the workflow's name as a property value, never parsed."""
    button = ui.button(icon=icon, on_click=handler).props("flat dense round size=sm")
    button.props("color=red-3" if danger else None)
    button.props["aria-label"] = label
    button.props["data-testid"] = testid
    button.tooltip(tip)


def workflow_row(
    workflow: WorkflowTemplate, summary: SupportSummary, actions: WorkflowActions, owner: str | None = None
) -> None:
    row = ui.row().classes("sc-card w-full items-center no-wrap gap-3 px-3 py-2 rounded")
    row.props["data-testid"] = "workflow-row"
    row.props["data-workflow-id"] = str(workflow.id)
    with row:
        ui.icon(KIND_ICONS.get(workflow.kind, "account_tree"), size="20px").classes("sc-muted")
        with ui.column().classes("grow gap-0 min-w-0"):
            with ui.row().classes("items-center gap-2 no-wrap"):
                ui.label(workflow.name).classes("font-medium ellipsis").props('data-testid="workflow-name"')
                if workflow.builtin:
                    ui.badge("built-in", color="blue-grey-7").classes("sc-tag")
                ui.badge(workflows.KIND_LABELS.get(workflow.kind, workflow.kind), color="grey-8").classes("sc-tag")
            description = workflows.builtin_description(workflow.name) if workflow.builtin else ""
            nodes = f"{len(workflow.graph)} nodes · {len(workflow.bindings)} bindings"
            meta = " · ".join(part for part in (description, nodes, f"by {owner}" if owner else "") if part)
            ui.label(meta).classes("sc-muted text-xs ellipsis")
        ui.chip(summary.text, color=summary.color, icon="dns").props(
            'dense outline data-testid="workflow-support"'
        ).classes("text-xs").tooltip(summary.detail).style("white-space: pre-line")
        name = workflow.name
        _action("data_object", lambda: actions.view(workflow), f"View the JSON of {name}", "view-json", "View JSON")
        _action(
            "content_copy",
            lambda: actions.duplicate(workflow),
            f"Duplicate {name}",
            "duplicate-workflow",
            "Duplicate (to customise)",
        )
        if workflow.builtin:
            return
        _action("tune", lambda: actions.edit(workflow), f"Edit bindings of {name}", "edit-workflow", "Edit bindings")
        _action("edit", lambda: actions.rename(workflow), f"Rename {name}", "rename-workflow", "Rename")
        _action("delete", lambda: actions.delete(workflow), f"Delete {name}", "delete-workflow", "Delete…", danger=True)
