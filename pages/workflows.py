"""/workflows: built-in and imported ComfyUI workflow templates, their bindings and which servers can run them."""

from __future__ import annotations

import json

from nicegui import ui
from sqlmodel import Session

from app.services import events, workflows
from app.services.errors import DomainError
from components.confirm import confirm
from components.feedback import attempt, success
from components.frame import frame
from components.workflow_editor import WorkflowDraft, open_workflow_editor
from components.workflow_import import EXPORT_HINT, open_import_dialog
from components.workflow_list import WorkflowActions, support_summary, workflow_row
from data.engine import session_scope
from data.models import User, WorkflowTemplate


def page(user: User) -> None:
    def saved(workflow: WorkflowTemplate) -> None:
        success(f"Saved “{workflow.name}”")
        listing.refresh()

    def view(workflow: WorkflowTemplate) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[900px] max-w-[96vw] gap-2"):
            with ui.row().classes("w-full items-center no-wrap"):
                ui.label(f"{workflow.name} · API-format JSON").classes("text-h6 grow")
                ui.button(icon="close", on_click=dialog.close).props("flat dense round")
            with ui.tabs().props("dense inline-label align=left no-caps").classes("w-full") as tabs:
                graph_tab = ui.tab(f"Graph ({len(workflow.graph)} nodes)")
                bindings_tab = ui.tab(f"Bindings ({len(workflow.bindings)})")
            with ui.tab_panels(tabs, value=graph_tab).classes("w-full"):
                for tab, content in ((graph_tab, workflow.graph), (bindings_tab, workflow.bindings)):
                    with ui.tab_panel(tab).classes("p-0"):
                        ui.code(json.dumps(content, indent=2), language="json").classes(
                            "w-full h-[64vh] overflow-auto text-xs"
                        ).props('data-testid="workflow-json-view"')
        dialog.open()

    def edit(workflow: WorkflowTemplate) -> None:
        open_workflow_editor(user, WorkflowDraft.of(workflow), saved)

    def duplicate(workflow: WorkflowTemplate) -> None:
        def run() -> WorkflowTemplate:
            with session_scope() as session:
                return workflows.duplicate_workflow(session, user, workflow.id)  # type: ignore[arg-type]

        copy = attempt(run)
        if copy:
            success(f"Duplicated as “{copy.name}”: change its bindings or graph freely")
            listing.refresh()

    def rename(workflow: WorkflowTemplate) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[420px] gap-2"):
            ui.label("Rename workflow").classes("text-h6")
            name = ui.input("Name", value=workflow.name).props("outlined dense autofocus").classes("w-full")
            name.mark("rename-input")
            error = ui.label("").classes("text-negative")

            def save() -> None:
                try:
                    with session_scope() as session:
                        renamed = workflows.update_workflow(session, user, workflow.id, name=name.value)  # type: ignore[arg-type]
                except DomainError as failure:
                    error.set_text(failure.message)
                    return
                dialog.close()
                success(f"Renamed to “{renamed.name}”")
                listing.refresh()

            name.on("keydown.enter", save)
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Rename", on_click=save).props('unelevated data-testid="rename-save"')
        dialog.open()

    def delete(workflow: WorkflowTemplate) -> None:
        def run() -> None:
            def remove() -> bool:
                with session_scope() as session:
                    workflows.delete_workflow(session, user, workflow.id)  # type: ignore[arg-type]
                return True

            if attempt(remove):
                success(f"Deleted “{workflow.name}”")
                listing.refresh()

        confirm(
            f"Delete “{workflow.name}”?",
            "This removes the workflow and its bindings. Jobs that already ran it keep their results and the graph "
            "they ran; new jobs can no longer choose it. It cannot be undone.",
            "Delete",
            run,
        )

    actions = WorkflowActions(view=view, edit=edit, duplicate=duplicate, rename=rename, delete=delete)

    with frame("Workflows", user):
        with ui.row().classes("w-full items-center gap-2"):
            ui.button("Import workflow", icon="upload_file", on_click=lambda: open_import_dialog(user, saved)).props(
                'unelevated data-testid="import-workflow"'
            )
            ui.label(
                "A workflow is a ComfyUI graph plus bindings: which node input receives the prompt, seed, size, image…"
            ).classes("sc-muted text-xs")

        @ui.refreshable
        def listing() -> None:
            with session_scope() as session:
                found = workflows.list_workflows(session, user)
                rows = [(w, support_summary(w.graph, workflows.server_support(session, w))) for w in found]
                owners = _owner_names(session, [w for w in found if w.owner_id not in (None, user.id)])
            builtins = [(w, s) for w, s in rows if w.builtin]
            own = [(w, s) for w, s in rows if not w.builtin]
            ui.label("Built-in").classes("text-subtitle2 sc-muted")
            with ui.column().classes("w-full gap-1"):
                for workflow, summary in builtins:
                    workflow_row(workflow, summary, actions)
            ui.label("Imported" if user.is_admin else "Yours").classes("text-subtitle2 sc-muted pt-2")
            if not own:
                _empty_state(user)
                return
            with ui.column().classes("w-full gap-1"):
                for workflow, summary in own:
                    workflow_row(workflow, summary, actions, owners.get(workflow.owner_id))  # type: ignore[arg-type]

        listing()
        events.servers_changed.subscribe(lambda _server_id: listing.refresh())


def _owner_names(session: Session, found: list[WorkflowTemplate]) -> dict[int, str]:
    names: dict[int, str] = {}
    for workflow in found:
        owner = session.get(User, workflow.owner_id) if workflow.owner_id is not None else None
        if owner is not None:
            names[owner.id] = owner.username
    return names


def _empty_state(user: User) -> None:
    with ui.column().classes("sc-empty w-full items-center py-8 gap-2").props('data-testid="empty-state"'):
        ui.icon("account_tree", size="36px").classes("sc-muted")
        ui.label("No imported workflows yet.").classes("text-subtitle1")
        ui.label(EXPORT_HINT).classes("sc-muted text-center max-w-xl")
        ui.label("Then import that .json here, or duplicate a built-in to customise it.").classes("sc-muted")
