"""A batch while it runs: one row per clip (state, progress bar, why it failed, its newest result) and the
batch's totals, with "Retry failed" for just the failures.

Plain elements updated in place: a burst of jobs_changed redraws the rows once (coalesced), a progress tick
moves one bar. Used in the batch dialog after Submit and on the batch page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nicegui import ui

from app.services import batch_views, batches, events
from app.services.batch_views import BatchClipRow, BatchView
from data.errors import DomainError
from data.models import GenerationJob, User
from data.words import counted

from .feedback import success
from .job_format import STATUS_COLORS
from .live_updates import Coalesced, JobProgressFeed
from .service_call import call, read

REFRESH_DELAY = 0.3
PROGRESS_DELAY = 0.15
STATE_ICONS: dict[str, tuple[str, str]] = {
    "queued": ("schedule", "text-grey-6"),
    "running": ("autorenew", "text-primary"),
    "completed": ("check_circle", "text-positive"),
    "failed": ("error_outline", "text-negative"),
    "cancelled": ("block", "text-grey-6"),
    "cleared": ("remove_circle_outline", "text-grey-6"),
}
STATE_TEXTS = {
    "queued": "Queued",
    "running": "Running",
    "completed": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "cleared": "Cleared",
}
BATCH_TEXTS = {
    "queued": "Queued",
    "running": "Running",
    "completed": "Done",
    "failed": "Finished with failures",
    "cancelled": "Cancelled",
}
CSS = """
.sc-batch-rows { max-height: 55vh; overflow-y: auto; }
.sc-batch-row { border-bottom: 1px solid rgba(255,255,255,0.06); min-height: 40px; }
.sc-batch-thumb { height: 32px; width: 56px; object-fit: cover; border-radius: 3px; }
.sc-batch-error { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
"""


def summary_text(view: BatchView) -> str:
    """ "7 of 10 clips done · 2 failed · 1 running" """
    counts = view.clip_counts
    parts = [f"{counts['completed']} of {counted(view.clip_count, 'clip')} done"]
    for state in ("failed", "cancelled", "running", "queued", "cleared"):
        if counts.get(state):
            parts.append(f"{counts[state]} {STATE_TEXTS[state].lower()}")
    return " · ".join(parts)


def row_text(row: BatchClipRow) -> str:
    if row.status == "running":
        return f"{round(row.progress * 100)}%"
    return STATE_TEXTS[row.status]


@dataclass
class _Row:
    """The elements one clip's row updates, and its jobs' last known states and progress."""

    element: ui.row
    icon: ui.icon
    bar: ui.linear_progress
    state: ui.label
    error: ui.label
    thumb: ui.element
    view: BatchClipRow
    jobs: dict[int, tuple[str, float]] = field(default_factory=dict)  # job id → (status, how far)


class BatchProgress:
    """Draws where it is created; `close()` ends its subscriptions (a dialog closing before its page does)."""

    def __init__(self, user: User, batch_id: int) -> None:
        self.user = user
        self.batch_id = batch_id
        self.rows: dict[int, _Row] = {}
        self.by_job: dict[int, int] = {}  # job id → clip id
        self.project_id: int | None = None
        self.view: BatchView | None = None
        ui.add_css(CSS)
        self.root = ui.column().classes("w-full gap-2").props('data-testid="batch-progress"')
        self.root.props["data-batch-id"] = str(batch_id)
        with self.root:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.name = ui.label("").classes("text-subtitle1 font-medium").props('data-testid="batch-name"')
                self.status = ui.badge("").props('data-testid="batch-status"')
                self.summary = ui.label("").classes("text-sm sc-muted").props('data-testid="batch-summary"')
                ui.space()
                self.retry = ui.button("Retry failed", icon="replay", on_click=self.retry_failed).props(
                    'flat dense no-caps data-testid="batch-retry-failed"'
                )
                self.queue_link = ui.link("Queue", "/queue").classes("text-xs")
            self.bar = ui.linear_progress(0, show_value=False, size="6px").props(
                'rounded instant-feedback aria-label="Batch progress" data-testid="batch-progress-bar"'
            )
            self.list = ui.column().classes("sc-batch-rows w-full gap-0").props('data-testid="batch-rows"')
        self._refresh_soon = Coalesced(self.refresh, delay=REFRESH_DELAY, name="batch refresh")
        self.refresh()
        events.jobs_changed.subscribe(self._jobs_changed)
        self.feed = JobProgressFeed(
            user,
            wants=lambda job_id: job_id in self.by_job,
            apply=self._tick,
            stale=self._refresh_soon.request,
            delay=PROGRESS_DELAY,
            name="batch progress",
        )

    def close(self) -> None:
        events.jobs_changed.unsubscribe(self._jobs_changed)
        events.job_progress.unsubscribe(self.feed._tick)

    # --- drawing ------------------------------------------------------------------------------------

    def refresh(self) -> None:
        if self.root.is_deleted:
            self.close()
            return
        try:
            view = read(batch_views.batch_status, self.user, self.batch_id)
        except DomainError as error:
            self.list.clear()
            with self.list:
                ui.label(error.message).classes("sc-muted")
            return
        self.view, self.project_id = view, view.project_id
        self.name.set_text(view.name)
        self.status.set_text(BATCH_TEXTS[view.status])
        self.status.props.update({"color": STATUS_COLORS.get(view.status, "primary"), "data-status": view.status})
        self.summary.set_text(summary_text(view))
        self.bar.set_value(view.progress)
        retryable = view.clip_counts["failed"] + view.clip_counts["cancelled"]
        self.retry.set_text(f"Retry failed ({retryable})")
        self.retry.set_visibility(retryable > 0)
        self.queue_link.props["href"] = f"/queue?project_id={view.project_id}"
        if [row.clip_id for row in view.clips] == list(self.rows):
            for row in view.clips:
                self._update(self.rows[row.clip_id], row)
        else:
            self._rebuild(view)
        self.by_job = {job.id: row.clip_id for row in view.clips for job in row.jobs}

    def _rebuild(self, view: BatchView) -> None:
        self.list.clear()
        self.rows = {}
        with self.list:
            if not view.clips:
                ui.label("This batch has no clips left: they were deleted.").classes("sc-muted")
            for row in view.clips:
                self.rows[row.clip_id] = self._row(row)

    def _row(self, row: BatchClipRow) -> _Row:
        element = (
            ui.row().classes("sc-batch-row w-full items-center gap-3 no-wrap px-1").props('data-testid="batch-row"')
        )
        element.props["data-clip-id"] = str(row.clip_id)
        with element:
            icon = ui.icon("schedule", size="18px")
            with ui.column().classes("gap-0 w-60 flex-none min-w-0"):
                ui.link(row.label, f"/scenes/{row.scene_id}").classes("text-sm truncate no-underline sc-plain-link")
                ui.label(row.scene_name).classes("text-xs sc-muted truncate")
            bar = ui.linear_progress(0, show_value=False, size="4px").props("rounded instant-feedback")
            bar.props["aria-label"] = f"Progress of {row.label}"  # a value: the label is user text
            bar.classes("w-40 flex-none")
            state = ui.label("").classes("text-xs w-16 flex-none").props('data-testid="batch-row-state"')
            error = ui.label("").classes("text-xs text-negative grow sc-batch-error")
            error.props('data-testid="batch-row-error"')
            thumb = ui.element("img").classes("sc-batch-thumb flex-none").props('alt="Result" loading="lazy"')
        made = _Row(element, icon, bar, state, error, thumb, row)
        self._update(made, row)
        return made

    def _update(self, target: _Row, row: BatchClipRow) -> None:
        target.view = row
        target.icon.name = STATE_ICONS[row.status][0]
        target.icon.classes(replace=STATE_ICONS[row.status][1])
        target.element.props["data-status"] = row.status
        target.bar.set_value(row.progress)
        target.bar.props["color"] = STATUS_COLORS.get(row.status, "grey-7") if row.status != "cleared" else "grey-7"
        target.state.set_text(row_text(row))
        target.error.set_text(row.error or "")
        target.error.props["title"] = row.error or ""
        target.error.set_visibility(bool(row.error))
        if row.result_item_id:
            target.thumb.props["src"] = f"/api/v1/gallery/{row.result_item_id}/thumbnail"
        target.thumb.set_visibility(bool(row.result_item_id))
        target.jobs = {job.id: (job.status, job.progress) for job in row.jobs}

    # --- live updates -------------------------------------------------------------------------------

    def _jobs_changed(self, project_id: int) -> None:
        if self.project_id is None or project_id == self.project_id:
            self._refresh_soon.request()

    def _tick(self, job: GenerationJob, _has_preview: bool) -> bool:
        """One running job moved: its clip's bar follows; a job whose state changed asks for a redraw."""
        clip_id = self.by_job.get(job.id)  # type: ignore[arg-type]  # a stored row's id is never None
        target = self.rows.get(clip_id) if clip_id is not None else None
        known = target.jobs.get(job.id) if target is not None else None  # type: ignore[arg-type]  # a stored row's id is never None
        if target is None or known is None or known[0] != job.status:
            return False
        target.jobs[job.id] = (job.status, max(0.0, min(1.0, job.progress or 0.0)))  # type: ignore[index]  # a stored row's id is never None
        progress = sum(done for _status, done in target.jobs.values()) / len(target.jobs)
        target.bar.set_value(progress)
        target.state.set_text(f"{round(progress * 100)}%")
        return True

    # --- actions ------------------------------------------------------------------------------------

    def retry_failed(self) -> None:
        count = call(batches.retry_failed, self.user, self.batch_id)
        if count == 0:
            ui.notify("Nothing to retry: no clip of this batch failed.", position="top")
        elif count:
            success(f"{counted(count, 'failed job')} back in the queue")
        self.refresh()
