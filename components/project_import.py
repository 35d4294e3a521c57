"""Bringing a project back from a StoryCanvas JSON export: upload, import off the event loop, open it."""

from __future__ import annotations

from nicegui import events, ui

from app.config import get_settings
from app.services import exports
from data.errors import DomainError
from data.models import User

from .service_call import read_off_loop

HINT = (
    "Choose a .storycanvas.json file made by Export → JSON. It becomes a new project of yours with its scenes, "
    "clips, prompts and selections; result files come along when this server still has them."
)


def open_project_import(user: User) -> None:
    limit = get_settings().max_import_bytes
    refused = f"That file was refused: choose a StoryCanvas .json export of at most {limit // (1024 * 1024)} MB."
    with ui.dialog() as dialog, ui.card().classes("w-[520px] gap-2").props('data-testid="project-import"'):
        ui.label("Import a project").classes("text-h6")
        ui.label(HINT).classes("sc-muted text-sm")
        status = ui.label("").classes("text-sm").props('data-testid="project-import-status"')
        spinner = ui.spinner(size="md").classes("self-center")
        spinner.visible = False

        async def uploaded(event: events.UploadEventArguments) -> None:
            data = await event.file.read()
            status.classes(replace="text-sm")
            status.set_text(f"Importing {event.file.name}…")
            spinner.visible = True
            try:
                imported = await read_off_loop(exports.import_project, user, data)
            except DomainError as error:
                status.classes(replace="text-sm text-negative")
                status.set_text(error.message)
                upload.reset()
                return
            finally:
                spinner.visible = False
            if imported is None:  # the server is stopping: NiceGUI's run gives no result then
                return
            project, warnings = imported
            dialog.close()
            message = f"Imported “{project.name}”"
            if warnings:
                message += " · " + " ".join(warnings)
            ui.notify(message, type="positive" if not warnings else "warning", multi_line=True)
            ui.navigate.to(f"/projects/{project.id}")

        upload = (
            ui.upload(
                label="StoryCanvas .json",
                auto_upload=True,
                max_file_size=limit,
                on_upload=uploaded,
                on_rejected=lambda: status.set_text(refused),
            )
            .props('accept=".json,application/json" flat bordered data-testid="project-import-upload"')
            .classes("w-full")
        )
        # The browser checks the size first; the server checks again (413) and refuses a signed-out upload (403).
        upload.on("failed", lambda: status.set_text(refused + " (The server refused it; sign in again if you have.)"))
        with ui.row().classes("w-full justify-end"):
            ui.button("Close", on_click=dialog.close).props("flat dense no-caps")
    dialog.open()
