"""/workflows: built-in and imported ComfyUI workflow templates, their bindings and which servers can run them."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass

from nicegui import ui

from app.services import events, workflows
from app.services.unreadable_rows import describe, shown_name
from components.confirm import confirm
from components.feedback import success, user_errors
from components.frame import frame
from components.row_guard import guarded, unreadable_row
from components.service_call import call, read
from components.workflow_editor import WorkflowDraft, open_workflow_editor
from components.workflow_import import EXPORT_HINT, open_import_dialog
from components.workflow_list import SupportSummary, WorkflowActions, support_summary, workflow_row
from data.errors import DomainError
from data.models import User, WorkflowTemplate

log = logging.getLogger("storycanvas.rows")


def page(user: User) -> None:
    def saved(workflow: WorkflowTemplate) -> None:
        success(f"Saved “{workflow.name}”")
        listing.refresh()

    def view(workflow: WorkflowTemplate) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[900px] max-w-[96vw] gap-2"):
            with ui.row().classes("w-full items-center no-wrap"):
                ui.label(f"{workflow.name} · API-format JSON").classes("text-h6 grow")
                ui.button(icon="close", on_click=dialog.close).props('flat dense round aria-label="Close"')
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
        copy = call(workflows.duplicate_workflow, user, workflow.id)  # type: ignore[arg-type]  # a stored row's id is never None
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
                    renamed = read(workflows.update_workflow, user, workflow.id, name=name.value)  # type: ignore[arg-type]  # a stored row's id is never None
                except DomainError as failure:  # said in the dialog, beside the name
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
            with user_errors():
                read(workflows.delete_workflow, user, workflow.id)  # type: ignore[arg-type]  # a stored row's id is never None
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

    def delete_unreadable(workflow_id: int) -> None:
        def run() -> None:
            with user_errors():
                read(workflows.delete_workflow, user, workflow_id)
                success(f"Deleted workflow {workflow_id}")
                listing.refresh()

        confirm(
            f"Delete workflow {workflow_id}?",
            "This removes the workflow that could not be shown. Jobs that already ran it keep their results and "
            "the graph they ran. It cannot be undone.",
            "Delete",
            run,
        )

    def show(row: ListedWorkflow) -> None:
        """One workflow on its own: one that fails to build is an error row, the others still show."""
        workflow = row.workflow

        def failed(reason: str) -> None:
            unreadable_row(
                "workflow",
                workflow.id,  # type: ignore[arg-type]  # a stored row's id is never None
                reason,
                name=shown_name(workflow.name),
                on_delete=None if workflow.builtin else lambda: delete_unreadable(workflow.id),  # type: ignore[arg-type]  # a stored row's id is never None
            )

        if row.summary is None:
            failed(row.reason)
            return
        summary = row.summary
        guarded(lambda: workflow_row(workflow, summary, actions, row.owner), failed, f"workflow {workflow.id}")

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
            found = read(workflows.list_workflows, user)
            owners = read(workflows.owner_names, user, [w for w in found if w.owner_id not in (None, user.id)])
            rows = [_listed(w, owners) for w in found]
            builtins = [row for row in rows if row.workflow.builtin]
            own = [row for row in rows if not row.workflow.builtin]
            ui.label("Built-in").classes("text-subtitle2 sc-muted")
            with ui.column().classes("w-full gap-1"):
                for row in builtins:
                    show(row)
            ui.label("Imported" if user.is_admin else "Yours").classes("text-subtitle2 sc-muted pt-2")
            if not own and not found.unreadable:
                _empty_state(user)
                return
            with ui.column().classes("w-full gap-1"):
                for row in own:
                    show(row)
                for unreadable in found.unreadable:
                    unreadable_row(
                        "workflow",
                        unreadable.id,
                        unreadable.reason,
                        name=unreadable.name,
                        on_delete=functools.partial(delete_unreadable, unreadable.id),
                    )

        listing()
        events.servers_changed.subscribe(lambda _server_id: listing.refresh())


@dataclass(frozen=True)
class ListedWorkflow:
    workflow: WorkflowTemplate
    summary: SupportSummary | None  # None: its graph could not be checked, `reason` says why
    owner: str | None = None
    reason: str = ""


def _listed(workflow: WorkflowTemplate, owners: dict[int, str]) -> ListedWorkflow:
    """The row's support summary, worked out on its own: a malformed graph fails this row, not the page."""
    owner = owners.get(workflow.owner_id) if isinstance(workflow.owner_id, int) else None
    try:
        summary = support_summary(workflow.graph, read(workflows.server_support, workflow))
    except Exception as error:  # this row only
        log.warning("workflow %s could not be checked", workflow.id, exc_info=error)
        return ListedWorkflow(workflow, None, owner, describe(error))
    return ListedWorkflow(workflow, summary, owner)


def _empty_state(user: User) -> None:
    with ui.column().classes("sc-empty w-full items-center py-8 gap-2").props('data-testid="empty-state"'):
        ui.icon("account_tree", size="36px").classes("sc-muted")
        ui.label("No imported workflows yet.").classes("text-subtitle1")
        ui.label(EXPORT_HINT).classes("sc-muted text-center max-w-xl")
        ui.label("Then import that .json here, or duplicate a built-in to customise it.").classes("sc-muted")
