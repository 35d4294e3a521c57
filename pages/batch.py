"""/batches/{id}: one batch's progress per clip, its failures with their reasons, and Retry failed."""

from __future__ import annotations

from nicegui import ui

from app.services import batch_views, projects
from components.batch_progress import BatchProgress
from components.frame import frame, not_found
from components.service_call import read
from data.errors import NotFound
from data.models import User


def page(user: User, batch_id: int) -> None:
    try:
        batch = read(batch_views.get_batch, user, batch_id)
        project = read(projects.get_project, user, batch.project_id)
    except NotFound as error:
        with frame("Not found", user):
            not_found(error.message)
        return
    crumbs = [("Projects", "/projects"), (project.name, f"/projects/{project.id}")]
    with frame(batch.name or f"Batch {batch_id}", user, breadcrumbs=crumbs):
        with ui.row().classes("w-full items-center gap-2"):
            ui.label(f"Batch · created {batch.created_at:%Y-%m-%d %H:%M} UTC").classes("sc-muted text-xs")
            ui.space()
            ui.link("All of the project's jobs in the queue", f"/queue?project_id={project.id}").classes("text-xs")
        with ui.card().classes("w-full"):
            BatchProgress(user, batch_id)
