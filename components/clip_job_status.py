"""Where the selected clip's generation stands: queued (place, wait), running (bar, node, live preview), failed.

Redrawn on jobs_changed (few times a second at most); a progress tick only sets one bar, one label and one
image source in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nicegui import ui

from app.services.job_views import JobView
from app.services.jobs import ACTIVE
from data.models import GenerationJob

from .job_format import KIND_LABELS, progress_text, queue_text, shorten
from .job_list import preview_url

MAX_ROWS = 4


def jobs_to_show(views: Sequence[JobView]) -> list[JobView]:
    """Running, then waiting jobs; and failures that no later completed job has made moot (newest first)."""
    active = [v for v in views if v.status in ACTIVE]
    queued = sorted((v for v in views if v.status == "queued"), key=lambda v: v.queue_position or 0)
    last_done = max((v.finished_at for v in views if v.status == "completed" and v.finished_at), default=None)
    failed = [
        v for v in views if v.status == "failed" and (last_done is None or (v.finished_at or last_done) > last_done)
    ]
    return [*active, *queued, *failed]


@dataclass
class _Live:
    """The elements a progress tick touches."""

    status: str
    bar: ui.linear_progress
    label: ui.label
    preview: ui.element
    view: JobView


class ClipJobStatus:
    """A clip's job rows; `show()` redraws them, `progress()` updates one running job in place."""

    def __init__(self, clip_id: int, retry: Callable[[int], None]) -> None:
        self.clip_id = clip_id
        self.retry = retry
        self.live: dict[int, _Live] = {}
        self.container = ui.column().classes("w-full gap-1").props('data-testid="clip-job-status"')

    def show(self, views: Sequence[JobView]) -> None:
        shown = jobs_to_show(views)
        self.live = {}
        self.container.clear()
        with self.container:
            for view in shown[:MAX_ROWS]:
                self._row(view)
            more = len(shown) - MAX_ROWS
            if shown:
                with ui.row().classes("w-full items-center gap-2 text-xs"):
                    if more > 0:
                        ui.label(f"+{more} more").classes("sc-muted")
                    ui.space()
                    ui.link("Open queue", f"/queue?clip_id={self.clip_id}").props('data-testid="open-queue"')

    def _row(self, view: JobView) -> None:
        kind = KIND_LABELS.get(view.kind, view.kind)
        row = ui.row().classes("sc-clip-job w-full items-center gap-2 no-wrap")
        row.props.update({"data-testid": "clip-job", "data-status": view.status, "data-job-id": str(view.id)})
        with row:
            if view.status in ACTIVE:
                with ui.column().classes("grow gap-0 min-w-0"):
                    with ui.row().classes("w-full items-center gap-1 no-wrap text-xs"):
                        ui.icon("autorenew", size="14px").classes("text-primary")
                        label = ui.label(f"{kind} · {progress_text(view)}").classes("truncate")
                        label.props["data-testid"] = f"clip-job-progress-{view.id}"
                    bar = ui.linear_progress(view.progress, show_value=False, size="4px").props(
                        "rounded instant-feedback color=primary"
                    )
                    bar.props["aria-label"] = f"Progress of the {kind.lower()} job"
                preview = ui.element("img").classes("sc-clip-job-preview")
                preview.props.update({"alt": "Live preview", "data-testid": f"clip-job-preview-{view.id}"})
                live = _Live(view.status, bar, label, preview, view)
                self.live[view.id] = live
                self._preview(live, view.has_preview)
            elif view.status == "queued":
                ui.icon("schedule", size="14px").classes("sc-muted")
                queued = ui.label(f"{kind} queued {queue_text(view)}").classes("text-xs grow truncate")
                queued.props["data-testid"] = f"clip-job-queue-{view.id}"
            else:
                ui.icon("error_outline", size="14px").classes("text-negative")
                error = view.error or "Failed without a message"
                message = ui.label(f"{kind} failed: {shorten(error, 140)}").classes(
                    "text-xs grow sc-clip-job-error line-clamp-2"
                )
                message.props.update({"data-testid": f"clip-job-error-{view.id}", "title": error})
                if view.can_retry:
                    retry = ui.button("Retry", icon="replay", on_click=lambda job_id=view.id: self.retry(job_id))
                    retry.props("flat dense no-caps size=sm")
                    retry.props["data-testid"] = f"clip-job-retry-{view.id}"
                else:  # the server refused the graph: the same request would be refused again
                    hint = ui.label("Change the settings or the workflow, then generate again.")
                    hint.classes("text-xs sc-muted")
                    hint.props["data-testid"] = f"clip-job-refused-{view.id}"

    def progress(self, job: GenerationJob, has_preview: bool) -> bool:
        """False when the job is not shown as running here or moved on (then redraw)."""
        live = self.live.get(job.id)  # type: ignore[arg-type]  # a stored row's id is never None
        if live is None or job.status != live.status:
            return False
        live.view.progress, live.view.current_node = job.progress or 0.0, job.current_node
        live.bar.set_value(live.view.progress)
        kind = KIND_LABELS.get(live.view.kind, live.view.kind)
        live.label.set_text(f"{kind} · {progress_text(live.view)}")
        self._preview(live, has_preview)
        return True

    @staticmethod
    def _preview(live: _Live, has_preview: bool) -> None:
        """Each tick asks for a new frame (the query changes); without one, the image keeps its place hidden."""
        if has_preview:
            live.preview.props["src"] = preview_url(live.view.id, time.time())
            live.preview.style(replace="")
        else:
            live.preview.props.pop("src", None)
            live.preview.style(replace="visibility: hidden")
        live.preview.update()
