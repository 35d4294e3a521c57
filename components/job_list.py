"""The queue's rows: few, plain elements, updated in place.

A busy queue changes many times a second and the list may hold 500 rows, so:
- a row is one element (four while its job runs): a small Vue component that draws plain data as
  text (names, prompts and server errors never become markup), with plain HTML buttons whose clicks
  come back as one "action" event (a Quasar button per action would triple the page's weight), and
  the live cell (progress bar and preview, or the queue place) as elements in its slot;
- rows are keyed by job id: a refresh rebuilds only rows whose content changed and moves rows
  whose place changed; a progress tick touches one row's bar, text and preview.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nicegui import ui
from nicegui.events import GenericEventArguments

from app.services.job_views import JobView
from app.services.jobs import ACTIVE, FINISHED
from data.models import GenerationJob
from data.models._common import utcnow

from .job_format import (
    KIND_ICONS,
    KIND_LABELS,
    STATUS_COLORS,
    STATUS_LABELS,
    age,
    clock,
    progress_text,
    queue_text,
    shorten,
    where,
)

_CSS = """
.sc-jobs { border: 1px solid var(--sc-border); border-radius: 6px; max-width: 100%; }
.sc-job-row { border-bottom: 1px solid var(--sc-border); padding: 3px 10px; min-height: 46px; flex-wrap: nowrap; }
.sc-job-row:last-child { border-bottom: none; }
.sc-job-row:hover { background: rgba(124, 156, 255, .06); }
.sc-job-head { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--sc-text-muted);
  min-height: 28px; }
.sc-job-info { display: flex; align-items: center; gap: .75rem; min-width: 0; }
.sc-job-badge { width: 84px; justify-content: center; }
.sc-job-kind { font-size: 18px; opacity: .6; }
.sc-job-where { flex: 1 1 auto; min-width: 0; }
.sc-job-where a { color: inherit; text-decoration: none; }
.sc-job-where a:hover { color: var(--sc-accent); text-decoration: underline; }
.sc-job-where div, .sc-job-where a { display: block; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.sc-job-server { width: 7rem; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.sc-job-tries { width: 2.5rem; flex: none; text-align: center; }
.sc-job-age { width: 4.5rem; flex: none; color: var(--sc-text-muted); }
.sc-job-live { width: 14rem; flex: none; }
.sc-job-wide { width: 17rem; flex: none; }
.sc-job-thumb { width: 40px; height: 40px; flex: none; object-fit: cover; border-radius: 3px;
  background: var(--sc-sunken); }
.sc-job-actions { width: 88px; flex: none; display: flex; justify-content: flex-end; }
.sc-icon-btn { background: none; border: 0; color: inherit; opacity: .7; cursor: pointer; width: 28px; height: 28px;
  border-radius: 50%; display: inline-flex; align-items: center; justify-content: center; padding: 0; }
.sc-icon-btn:hover, .sc-icon-btn:focus-visible { opacity: 1;
  background: color-mix(in srgb, var(--sc-accent) 16%, transparent); }
.sc-icon-btn .material-icons { font-size: 18px; }
.sc-icon-btn.sc-danger { color: var(--sc-danger-text); }
.sc-job-cancelled .sc-job-info { color: var(--sc-text-muted); }
.sc-job-error { color: var(--sc-danger-text); }
.sc-job-head .sc-job-age { opacity: 1; }
/* A phone: a row wraps under its title instead of pushing the page wider. */
@media (max-width: 900px) {
  .sc-job-row { flex-wrap: wrap; row-gap: 2px; }
  .sc-job-info { flex-wrap: wrap; row-gap: 2px; }
  .sc-job-where { flex-basis: 100%; order: -1; }
  .sc-job-live, .sc-job-wide { width: auto; flex: 1 1 10rem; }
  .sc-job-head { display: none; }
}
"""

Action = Callable[[int], None]


class JobActions:
    """What a row's buttons do; the page supplies them (they call the jobs service)."""

    def __init__(self, cancel: Action, retry: Action, details: Action, delete: Action) -> None:
        self.cancel, self.retry, self.details, self.delete = cancel, retry, details, delete


def preview_url(job_id: int, version: float) -> str:
    """The preview route, with a changing query so the browser fetches each new frame."""
    return f"/api/v1/jobs/{job_id}/preview?v={version:.3f}"


def info_row(view: JobView, now: datetime) -> dict[str, Any]:
    """What a row's info cell shows, as plain data: the browser draws every value as text."""
    status = view.status
    error = (view.error or "Failed without a message") if status == "failed" else None
    outcome = ""
    if status == "completed":
        outcome = f"took {clock(view.duration_s)}" if view.duration_s is not None else "done"
    elif status == "cancelled":
        outcome = "cancelled"
    return {
        "id": view.id,
        "status": status,
        "statusLabel": STATUS_LABELS.get(status, status),
        "color": STATUS_COLORS.get(status, "grey-7"),
        "textColor": "text-grey-5" if status == "cancelled" else "text-white",
        "kindLabel": KIND_LABELS.get(view.kind, view.kind),
        "kindIcon": KIND_ICONS.get(view.kind, "help"),
        "href": f"/scenes/{view.scene_id}" if view.scene_id else f"/projects/{view.project_id}",
        "where": where(view),
        "prompt": view.prompt or "(no prompt)",
        "server": view.server_name or "—",
        "tries": f"{view.attempts}/{view.max_attempts}",
        "created": f"{view.created_at:%Y-%m-%d %H:%M:%S} UTC",
        "age": age(view.created_at, now),
        "error": error,
        "errorShort": shorten(error, 110) if error is not None else "",
        "outcome": outcome,
    }


def row_buttons(view: JobView) -> list[dict[str, Any]]:
    """The row's buttons, in order; their clicks come back as one "action" event naming the button."""
    buttons: list[dict[str, Any]] = []
    if view.status in ("queued", *ACTIVE) and not view.cancel_requested:
        buttons.append({"icon": "stop_circle", "title": "Cancel", "action": "cancel"})
    if view.status == "cancelled" or (view.status == "failed" and view.can_retry):
        buttons.append({"icon": "replay", "title": "Retry", "action": "retry"})
    elif view.status == "failed" and view.clip_id is not None and view.scene_id is not None:
        # The server refused the graph: the same job would be refused again; its settings need changing.
        buttons.append({"icon": "tune", "title": "Edit settings", "action": "edit"})
    buttons.append({"icon": "info", "title": "Details", "action": "details"})
    if view.status in FINISHED:
        buttons.append({"icon": "delete", "title": "Delete", "action": "delete", "danger": True})
    return buttons


class JobRowElement(ui.element, component="job_row.js"):
    """A row: a small Vue component that draws `row` and `buttons` (plain data) with text interpolation, and
    the live cell put into its slot. One element per row, as light as the HTML blocks it replaces, but names,
    prompts and server errors can never become markup: they are property values, not source. A button's
    click emits "action" with the button's name."""

    def show(self, view: JobView, now: datetime) -> None:
        self._props.update(row=info_row(view, now), buttons=row_buttons(view))

    @property
    def actions(self) -> list[str]:
        return [button["action"] for button in self._props["buttons"]]

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        row = self._props["row"]
        texts = [row["statusLabel"], row["where"], f"#{row['id']} · {row['prompt']}", row["server"], row["age"]]
        return [*texts, row["errorShort"], row["outcome"]]


def _shape(view: JobView, now: datetime) -> tuple[object, ...]:
    """Everything a row shows except what a progress tick changes; a difference means rebuild."""
    return (
        view.status,
        view.kind,
        view.cancel_requested,
        view.project_name,
        view.clip_label,
        view.scene_id,
        view.server_name,
        view.attempts,
        view.max_attempts,
        view.error,
        view.prompt,
        view.duration_s,
        age(view.created_at, now),
    )


class JobRow:
    def __init__(self, view: JobView, actions: JobActions) -> None:
        self.view = view
        self.actions = actions
        self.container = JobRowElement().classes("nicegui-row sc-job-row w-full items-center gap-3")
        self.container.props["data-testid"] = f"job-row-{view.id}"
        self.container.on("action", self._clicked)
        self.bar: ui.linear_progress | None = None
        self.live_label: ui.label | None = None
        self.queue_label: ui.label | None = None
        self.thumb: ui.element | None = None
        self.shape: tuple[object, ...] = ()
        self.build(view)

    def build(self, view: JobView) -> None:
        now = utcnow()
        self.view, self.shape = view, _shape(view, now)
        self.bar = self.live_label = self.queue_label = self.thumb = None
        self.container.clear()
        self.container.show(view, now)
        self.container.props["data-status"] = view.status
        if view.status == "cancelled":
            self.container.classes("sc-job-cancelled")
        else:
            self.container.classes(remove="sc-job-cancelled")
        with self.container:
            self._live_cell(view)

    def _clicked(self, event: GenericEventArguments) -> None:
        handlers = {
            "cancel": self.actions.cancel,
            "retry": self.actions.retry,
            "details": self.actions.details,
            "delete": self.actions.delete,
        }
        if str(event.args) == "edit" and self.view.scene_id is not None:
            ui.navigate.to(f"/scenes/{self.view.scene_id}?clip={self.view.clip_id}")
            return
        handler = handlers.get(str(event.args))
        if handler is not None:
            handler(self.view.id)

    def _live_cell(self, view: JobView) -> None:
        if view.status in ACTIVE:
            with ui.column().classes("sc-job-live gap-0"):
                self.bar = ui.linear_progress(view.progress, show_value=False, size="6px").props(
                    "rounded instant-feedback"
                )
                self.bar.props["color"] = "grey-6" if view.cancel_requested else "primary"
                self.bar.props["aria-label"] = f"Progress of job {view.id}"
                self.live_label = ui.label(progress_text(view)).classes("text-xs truncate")
                self.live_label.props["data-testid"] = f"job-progress-{view.id}"
            self.thumb = ui.element("img").classes("sc-job-thumb")
            self.thumb.props.update({"alt": f"Live preview of job {view.id}", "data-testid": f"job-preview-{view.id}"})
            self._show_thumb(view.has_preview)
        elif view.status == "queued":
            self.queue_label = ui.label(queue_text(view)).classes("sc-job-wide text-xs")
            self.queue_label.props["data-testid"] = f"job-queue-{view.id}"

    def update(self, view: JobView) -> None:
        """Rebuild only when what the row shows changed; live figures are set in place."""
        if _shape(view, utcnow()) != self.shape:
            self.build(view)
            return
        self.view = view
        if self.queue_label is not None:
            self.queue_label.set_text(queue_text(view))
        self.show_progress(view.progress, view.current_node, view.has_preview)

    def show_progress(self, progress: float, current_node: str | None, has_preview: bool) -> None:
        self.view.progress, self.view.current_node, self.view.has_preview = progress, current_node, has_preview
        if self.bar is not None:
            self.bar.set_value(progress)
        if self.live_label is not None:
            self.live_label.set_text(progress_text(self.view))
        self._show_thumb(has_preview)

    def _show_thumb(self, has_preview: bool) -> None:
        """A new frame each time (the query changes); hidden, but keeping its place, while there is none."""
        if self.thumb is None:
            return
        if has_preview:
            self.thumb.props["src"] = preview_url(self.view.id, time.time())
            self.thumb.style(replace="")
        else:
            self.thumb.props.pop("src", None)
            self.thumb.style(replace="visibility: hidden")
        self.thumb.update()


class JobList:
    """The rows in order; `show()` reconciles them with a new list of views."""

    def __init__(self, actions: JobActions) -> None:
        ui.add_css(_CSS)
        self.actions = actions
        with ui.column().classes("sc-jobs w-full gap-0") as self.frame:
            with ui.row().classes("sc-job-row sc-job-head w-full items-center gap-3"):
                ui.html(
                    '<span class="sc-job-badge">Status</span><span style="width:18px"></span>'
                    '<span class="sc-job-where">Project › clip · prompt</span><span class="sc-job-server">Server</span>'
                    '<span class="sc-job-tries">Tries</span><span class="sc-job-age">Age</span>',
                    sanitize=False,
                ).classes("sc-job-info grow")
                ui.label("Progress / queue · preview").classes("sc-job-wide")
                ui.label("").classes("sc-job-actions")
            self.body = ui.column().classes("w-full gap-0")
        self.rows: dict[int, JobRow] = {}

    def show(self, views: list[JobView]) -> None:
        self.frame.set_visibility(bool(views))
        wanted = {view.id for view in views}
        for job_id in [job_id for job_id in self.rows if job_id not in wanted]:
            self.body.remove(self.rows.pop(job_id).container)
        children = self.body.default_slot.children  # rows before `index` are in place when it is reached
        for index, view in enumerate(views):
            row = self.rows.get(view.id)
            if row is None:
                with self.body:
                    row = self.rows[view.id] = JobRow(view, self.actions)
            else:
                row.update(view)
            if children[index] is not row.container:
                row.container.move(self.body, target_index=index)

    def progress(self, job: GenerationJob, has_preview: bool) -> bool:
        """One job's new progress; False when the row is not shown or its status moved on (refresh then)."""
        row = self.rows.get(job.id)  # type: ignore[arg-type]  # a stored row's id is never None
        if row is None:
            return False
        if job.status != row.view.status or job.cancel_requested != row.view.cancel_requested:
            return False
        row.show_progress(job.progress or 0.0, job.current_node, has_preview)
        return True
