"""/queue: every generation job, live, with filters and per-job and bulk actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nicegui import ui

from app.services import events, job_views, jobs, projects
from components.address import keep_filters
from components.confirm import confirm
from components.feedback import success, user_errors
from components.frame import frame
from components.job_details import open_job_details
from components.job_format import STATUS_COLORS, STATUS_LABELS
from components.job_list import JobActions, JobList
from components.live_updates import Coalesced, JobProgressFeed
from components.service_call import call, read
from data.errors import DomainError
from data.models import JOB_STATUSES, GenerationJob, User
from data.words import agree, counted

T = TypeVar("T")

LIMIT = 500
REFRESH_DELAY = 0.3  # bursts of jobs_changed collapse into one refresh at most ~3 times a second
PROGRESS_DELAY = 0.15
EMPTY = "No generation jobs yet. Open a clip and press Generate, or use Generate all on a scene."


class QueueBoard:
    """The filters, the bulk actions and the list, kept up to date by job events."""

    def __init__(
        self, user: User, status: str | None, project_id: int | None, clip_id: int | None, server_id: int | None
    ) -> None:
        self.user = user
        self.status = status if status in JOB_STATUSES else None
        self.project_id, self.clip_id, self.server_id = project_id, clip_id, server_id
        self.client = ui.context.client
        self._refresh_soon = Coalesced(self.refresh, delay=REFRESH_DELAY, name="queue refresh")
        self.chips: dict[str | None, ui.chip] = {}
        self._visible: dict[int, bool] = {}  # project id → may this user see it (asked once)
        self._build()
        self.refresh()
        events.jobs_changed.subscribe(self._jobs_changed)
        JobProgressFeed(
            user,
            wants=lambda job_id: job_id in self.list.rows,
            apply=self.list.progress,
            stale=self._refresh_soon.request,
            delay=PROGRESS_DELAY,
            name="queue progress",
        )

    # --- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        project_options = {p.id: p.name for p in read(projects.list_projects, self.user, sort="name", archived="all")}
        server_options = read(job_views.server_names)
        with ui.row().classes("w-full items-center gap-2"):
            for status in (None, *JOB_STATUSES):
                chip = ui.chip(on_click=lambda s=status: self._set_status(s)).props("dense square clickable")
                chip.classes("text-xs").props["data-testid"] = f"status-chip-{status or 'all'}"
                self.chips[status] = chip
            ui.space()
            ui.button("Retry failed", icon="replay", on_click=self._retry_failed).props(
                'flat dense no-caps data-testid="retry-failed"'
            )
            ui.button("Clear completed", icon="clear_all", on_click=self._clear_completed).props(
                'flat dense no-caps data-testid="clear-completed"'
            )
            ui.button("Cancel all", icon="cancel", on_click=self._cancel_all).props(
                'flat dense no-caps color=negative data-testid="cancel-all"'
            )
        with ui.row().classes("w-full items-center gap-2"):
            ui.select(
                {0: "All projects", **project_options},
                value=self.project_id if self.project_id in project_options else 0,
                label="Project",
                on_change=lambda e: self._set_filter(project_id=e.value or None),
            ).props('dense outlined options-dense data-testid="project-filter"').classes("w-56")
            ui.number(
                "Clip id",
                value=self.clip_id,
                min=1,
                format="%d",
                on_change=lambda e: self._set_filter(clip_id=int(e.value) if e.value else None),
            ).props('dense outlined clearable debounce=400 data-testid="clip-filter"').classes("w-32")
            ui.select(
                {0: "All servers", **server_options},
                value=self.server_id if self.server_id in server_options else 0,
                label="Server",
                on_change=lambda e: self._set_filter(server_id=e.value or None),
            ).props('dense outlined options-dense data-testid="server-filter"').classes("w-48")
            ui.space()
            self.summary = ui.label("").classes("sc-muted text-xs").props('data-testid="queue-summary"')
        self.empty = ui.column().classes("sc-empty w-full items-center py-12 gap-2")
        with self.empty:
            ui.icon("queue", size="40px").classes("sc-muted")
            self.empty_text = ui.label(EMPTY).props('data-testid="queue-empty"')
        self.list = JobList(JobActions(self._cancel, self._retry, self._details, self._delete))

    # --- filters and refresh ----------------------------------------------------------------------

    def _set_status(self, status: str | None) -> None:
        self.status = None if status == self.status else status
        self._keep_address()
        self.refresh()

    def _set_filter(self, **changes: int | None) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self._keep_address()
        self.refresh()

    def _keep_address(self) -> None:
        filters = {"status": self.status, "project_id": self.project_id, "clip_id": self.clip_id}
        keep_filters("/queue", {**filters, "server_id": self.server_id})

    @property
    def _filtered(self) -> bool:
        return any(v is not None for v in (self.status, self.project_id, self.clip_id, self.server_id))

    def refresh(self) -> None:
        try:
            filters = {"project_id": self.project_id, "clip_id": self.clip_id, "server_id": self.server_id}
            views = read(job_views.list_jobs, self.user, status=self.status, limit=LIMIT, **filters)
            counts = read(job_views.status_counts, self.user, **filters)
        except DomainError as error:  # e.g. the filtered project was deleted meanwhile
            ui.notify(error.message, type="negative", position="top")
            if self._filtered:
                self.status = self.project_id = self.clip_id = self.server_id = None
                self.refresh()
            return
        total = sum(counts.values())
        for status, chip in self.chips.items():
            count = total if status is None else counts[status]
            chip.set_text(f"{'All' if status is None else STATUS_LABELS[status]} {count:,}")
            if status == self.status:
                chip.props(remove="outline").props["color"] = STATUS_COLORS.get(status or "", "primary")
                chip.props["text-color"] = "white"  # the dark theme's filled colours turn it dark (theme.css)
                chip.classes(remove="sc-chip-off")
            else:
                chip.props("outline").props["color"] = None  # the theme's muted text (.sc-chip-off), not a grey literal
                chip.props["text-color"] = None
                chip.classes(add="sc-chip-off")
        shown = counts[self.status] if self.status else total
        if shown > len(views):
            self.summary.set_text(f"Showing {len(views):,} of {shown:,} jobs: filter to see the others")
        else:
            self.summary.set_text(counted(shown, "job", thousands=True))
        self.empty.set_visibility(not views)
        self.empty_text.set_text("No jobs match these filters." if self._filtered else EMPTY)
        self.list.show(views)

    # --- live updates -----------------------------------------------------------------------------

    def _jobs_changed(self, project_id: int) -> None:
        """Our projects' jobs changed, or anyone's did while we show queued jobs (their places move)."""
        if self.project_id is not None and project_id != self.project_id:
            return
        if self._sees(project_id) or any(row.view.status == "queued" for row in self.list.rows.values()):
            self._refresh_soon.request()

    def _sees(self, project_id: int) -> bool:
        if self.user.is_admin:
            return True
        if project_id not in self._visible:
            try:
                read(projects.get_project, self.user, project_id)
                self._visible[project_id] = True
            except DomainError:
                self._visible[project_id] = False
        return self._visible[project_id]

    # --- actions ----------------------------------------------------------------------------------

    def _run(
        self, work: Callable[..., T], *args: Any, said: Callable[[T], str] | None = None, **kwargs: Any
    ) -> T | None:
        """`work(session, *args, **kwargs)`; errors become a notification, and the list is redrawn either way.

        Says `said(result)` once the work is done, also for work that answers nothing (a deletion)."""
        result: T | None = None
        with user_errors():
            result = read(work, *args, **kwargs)
            if said:
                success(said(result))
        self.refresh()
        return result

    def _cancel(self, job_id: int) -> None:
        def said(job: GenerationJob) -> str:
            return f"Cancelled job {job_id}" if job.status == "cancelled" else f"Stopping job {job_id} on its server…"

        self._run(jobs.cancel_job, self.user, job_id, said=said)

    def _retry(self, job_id: int) -> None:
        self._run(jobs.retry_job, self.user, job_id, said=lambda _: f"Job {job_id} is back in the queue")

    def _details(self, job_id: int) -> None:
        open_job_details(self.user, job_id)

    def _delete(self, job_id: int) -> None:
        confirm(
            f"Delete job {job_id}?",
            "The job leaves the queue. What it made stays in the clip's results.",
            "Delete",
            lambda: self._run(jobs.delete_job, self.user, job_id, said=lambda _: f"Deleted job {job_id}"),
        )

    def _scope(self) -> str:
        if self.project_id is None:
            return ""
        project = call(projects.get_project, self.user, self.project_id)
        return f" in “{project.name}”" if project else ""

    def _cancel_all(self) -> None:
        found = call(jobs.count_cancellable, self.user, project_id=self.project_id)
        if found is None:
            return
        queued, active = found
        if not queued + active:
            ui.notify("Nothing to cancel: no job is queued or running.", position="top")
            return
        parts = []
        if queued:
            parts.append(f"{counted(queued, 'queued job', thousands=True)} {agree(queued, 'is', 'are')} cancelled now.")
        if active:
            verb = "stops on its server" if active == 1 else "stop on their servers"
            parts.append(f"{counted(active, 'running job', thousands=True)} {verb}.")
        confirm(
            f"Cancel {counted(queued + active, 'job', thousands=True)}{self._scope()}?",
            "\n".join(parts),
            "Cancel jobs",
            lambda: self._run(
                jobs.cancel_all,
                self.user,
                project_id=self.project_id,
                said=lambda n: f"Cancelled {counted(n, 'job', thousands=True)}",
            ),
        )

    def _retry_failed(self) -> None:
        result = self._run(jobs.retry_failed, self.user, project_id=self.project_id)
        if result == 0:
            ui.notify("No failed jobs to retry.", position="top")
        elif result:
            success(f"{counted(result, 'failed job', thousands=True)} back in the queue")

    def _clear_completed(self) -> None:
        counts = call(job_views.status_counts, self.user, project_id=self.project_id)
        completed = None if counts is None else counts["completed"]
        if not completed:
            if completed == 0:
                ui.notify("No completed jobs to clear.", position="top")
            return
        confirm(
            f"Clear {counted(completed, 'completed job', thousands=True)}{self._scope()}?",
            "They leave the queue. Their results stay in the clips' galleries.",
            "Clear",
            lambda: self._run(
                jobs.clear_completed,
                self.user,
                project_id=self.project_id,
                said=lambda n: f"Cleared {counted(n, 'completed job', thousands=True)}",
            ),
        )


def page(
    user: User,
    status: str | None = None,
    project_id: int | None = None,
    clip_id: int | None = None,
    server_id: int | None = None,
) -> None:
    with frame("Queue", user):
        QueueBoard(user, status, project_id, clip_id, server_id)
