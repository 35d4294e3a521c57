"""A job's details: what it was asked to do, what was sent to ComfyUI, how long it took, what it made."""

from __future__ import annotations

import json
from datetime import datetime

from nicegui import ui

from app.services import job_views
from data.models import User
from data.words import counted

from .job_format import KIND_LABELS, STATUS_COLORS, STATUS_LABELS, clock, queue_text, where
from .service_call import call


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "—"


def _fact(label: str, value: str, testid: str | None = None) -> None:
    ui.label(label).classes("sc-muted text-xs")
    shown = ui.label(value).classes("text-sm break-all")
    if testid:
        shown.props["data-testid"] = testid


def open_job_details(user: User, job_id: int) -> None:
    details = call(job_views.job_details, user, job_id)
    if details is None:
        return
    with ui.dialog() as dialog, ui.card().classes("w-[820px] max-w-full gap-3").props('data-testid="job-details"'):
        with ui.row().classes("w-full items-center gap-2"):
            ui.label(f"Job {details.id} · {KIND_LABELS.get(details.kind, details.kind)}").classes("text-h6")
            ui.badge(STATUS_LABELS.get(details.status, details.status), color=STATUS_COLORS.get(details.status))
            ui.space()
            ui.button(icon="close", on_click=dialog.close).props('flat dense round aria-label="Close"')
        target = f"/scenes/{details.scene_id}" if details.scene_id else f"/projects/{details.project_id}"
        ui.link(where(details), target).classes("text-sm")
        if details.error:
            with (
                ui.element("div")
                .classes("w-full p-2 rounded")
                .style("background: rgba(250, 82, 82, .08); border: 1px solid rgba(250, 82, 82, .35)")
            ):
                ui.label(details.error).classes("whitespace-pre-wrap text-sm text-red-4").props(
                    'data-testid="job-details-error"'
                )
        with ui.grid(columns=4).classes("w-full gap-x-6 gap-y-1"):
            _fact("Server", details.server_name or "—")
            _fact("Checkpoint", details.checkpoint or "—")
            _fact("Attempts", f"{details.attempts} of {details.max_attempts}")
            _fact("Priority", str(details.priority))
            _fact("Created", _when(details.created_at))
            _fact("Dispatched", _when(details.dispatched_at))
            _fact("Started", _when(details.started_at))
            _fact("Finished", _when(details.finished_at))
            _fact("Waited", clock(details.waited_s) if details.waited_s is not None else "—")
            _fact("Ran", clock(details.duration_s) if details.duration_s is not None else "—", "job-details-ran")
            _fact("Queue", queue_text(details) or "—")
            _fact("ComfyUI prompt id", details.remote_prompt_id or "—")
        with ui.row().classes("items-center gap-2"):
            ui.label("Results").classes("sc-muted text-xs")
            if details.gallery_item_ids and details.scene_id:
                for item_id in details.gallery_item_ids:
                    link = ui.link(f"#{item_id}", f"/scenes/{details.scene_id}").classes("text-sm")
                    link.props["title"] = f"Open the clip's scene to see result {item_id}"
            else:
                ui.label("None from this job.").classes("text-sm")
        ui.label("Parameters").classes("text-subtitle2")
        ui.code(json.dumps(details.params, indent=2, sort_keys=True), language="json").classes("w-full text-xs")
        graph = details.resolved_graph
        nodes = f"{counted(len(graph), 'node')}" if graph else "not built yet"
        with ui.expansion(f"Resolved graph ({nodes})", icon="account_tree").classes("w-full").props("dense"):
            if graph:
                ui.code(json.dumps(graph, indent=2), language="json").classes("w-full text-xs max-h-[420px]")
            else:
                ui.label("The dispatcher builds it from the workflow when it sends the job.").classes("sc-muted")
    dialog.open()
