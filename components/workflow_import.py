"""Bringing a ComfyUI workflow in: upload its API-format .json or paste it, then bind it in the editor.

The graph is checked on arrival, so a UI-format export or a graph without an output says so before any
binding work starts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from nicegui import events, ui

from app.services.workflow_graph import check_graph_shape
from data.errors import DomainError
from data.models import User, WorkflowTemplate

from .workflow_editor import WorkflowDraft, open_workflow_editor
from .workflow_guess import guess_bindings, guess_kind

MAX_WORKFLOW_BYTES = 5 * 1024 * 1024
EXPORT_HINT = (
    "In ComfyUI, open the workflow and choose Workflow → Export (API). "
    "(Older versions: enable Dev mode in the settings, then use Save (API Format).)"
)


def draft_from_json(text: str | bytes, name: str) -> WorkflowDraft:
    """A new draft with guessed kind and bindings; Invalid when the JSON is not an API-format graph."""
    graph = check_graph_shape(text)
    return WorkflowDraft(name=name, kind=guess_kind(graph), graph=graph, bindings=guess_bindings(graph))


def open_import_dialog(user: User, on_saved: Callable[[WorkflowTemplate], None]) -> None:
    with ui.dialog() as dialog, ui.card().classes("w-[640px] max-w-[96vw] gap-2"):
        ui.label("Import a ComfyUI workflow").classes("text-h6")
        ui.label(EXPORT_HINT).classes("sc-muted text-xs")
        errors = ui.label("").classes("text-negative whitespace-pre-line").props('data-testid="import-errors"')

        def read(text: str | bytes, name: str) -> bool:
            errors.set_text("")
            try:
                draft = draft_from_json(text, name)
            except DomainError as failure:
                errors.set_text(failure.message)
                return False
            dialog.close()
            open_workflow_editor(user, draft, on_saved)
            return True

        with ui.tabs().props("dense inline-label align=left no-caps").classes("w-full") as tabs:
            upload_tab = ui.tab("Upload file", icon="upload_file")
            paste_tab = ui.tab("Paste JSON", icon="content_paste")
        with ui.tab_panels(tabs, value=upload_tab).classes("w-full"):
            with ui.tab_panel(upload_tab).classes("p-0 pt-2"):

                async def uploaded(event: events.UploadEventArguments) -> None:
                    data = await event.file.read()
                    name = PurePath(event.file.name).stem.replace("_", " ").strip() or "Imported workflow"
                    if not read(data, name):
                        upload.reset()  # ready for the corrected file

                upload = (
                    ui.upload(
                        label="API-format .json",
                        auto_upload=True,
                        max_file_size=MAX_WORKFLOW_BYTES,
                        on_upload=uploaded,
                        on_rejected=lambda: errors.set_text("That file is too big for a workflow (5 MB at most)."),
                    )
                    .props('accept=".json,application/json" flat bordered data-testid="workflow-upload"')
                    .classes("w-full")
                )
                # Refused by the server (413 over the cap, 403 without a signed-in session): say so, not just red.
                upload.on(
                    "failed", lambda: errors.set_text("The server refused that file: at most 5 MB, while signed in.")
                )
            with ui.tab_panel(paste_tab).classes("p-0 pt-2 gap-2"):
                pasted = (
                    ui.textarea(placeholder='{"3": {"class_type": "KSampler", "inputs": {…}}, …}')
                    .props('outlined dense input-class="font-mono text-xs" rows=12 data-testid="workflow-json"')
                    .classes("w-full")
                    .mark("workflow-json")
                )
                pasted_name = (
                    ui.input("Name", value="Imported workflow")
                    .props("outlined dense")
                    .classes("w-full")
                    .mark("import-name")
                )
                with ui.row().classes("w-full justify-end"):
                    ui.button(
                        "Read workflow",
                        icon="arrow_forward",
                        on_click=lambda: read(pasted.value or "", pasted_name.value or "Imported workflow"),
                    ).props('unelevated data-testid="read-workflow"')
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
    dialog.open()
