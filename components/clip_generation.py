"""The inspector's everyday generation loop for one clip: Generate, watch its jobs, pick among its results.

One instance per page, subscribed once; the inspector redraws often (every selection, every edit) and
calls `build()` each time, so subscriptions never pile up. Job events are coalesced: a burst of
jobs_changed redraws the job rows and the cards once; a progress tick touches only the running row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nicegui import app, ui
from sqlmodel import Session

from app.services import clips, events, gallery, generation, job_views, jobs, workflow_models
from app.services.workflow_models import ModelChoices
from data.engine import session_scope
from data.errors import DomainError, NotFound
from data.models import User

from . import service_call
from .a11y import name_dialog
from .clip_gallery import CSS, GalleryActions, clip_gallery, shown_limit
from .clip_job_status import ClipJobStatus
from .confirm import confirm
from .feedback import success, user_errors
from .generate_panel import MODES, GenerateChoice, generate_panel, no_models_text
from .generation_dialog import GenerationDialog
from .live_updates import Coalesced, JobProgressFeed

REFRESH_DELAY = 0.3
PROGRESS_DELAY = 0.15
JOB_LIMIT = 50
STORAGE_KEY = "generate"  # the last model and mode, per browser


class ClipGeneration:
    def __init__(self, user: User, project_id: int, refresh_cards: Callable[[], object]) -> None:
        self.user = user
        self.project_id = project_id
        self.refresh_cards = refresh_cards
        self.client = ui.context.client
        remembered = app.storage.user.get(STORAGE_KEY) or {}
        self.choice = GenerateChoice(
            mode=str(remembered["mode"]) if remembered.get("mode") in MODES else "image",
            checkpoint=remembered.get("checkpoint"),
        )
        self.clip_id: int | None = None
        self.before_generate: Callable[[], bool] = lambda: True
        self.status: ClipJobStatus | None = None
        self.gallery_box: ui.element | None = None
        self.error_label: ui.label | None = None
        self.results_title: ui.label | None = None
        self._refresh_soon = Coalesced(self._refresh_jobs, delay=REFRESH_DELAY, name="clip jobs refresh")
        ui.add_css(CSS)
        events.jobs_changed.subscribe(self._jobs_changed)
        JobProgressFeed(
            user,
            wants=lambda job_id: self.status is not None and job_id in self.status.live,
            apply=lambda job, has_preview: self.status is not None and self.status.progress(job, has_preview),
            stale=lambda: self._jobs_changed(self.project_id),
            delay=PROGRESS_DELAY,
            name="clip job progress",
        )

    # --- layout ------------------------------------------------------------------------------------

    def build(self, clip_id: int, before_generate: Callable[[], bool]) -> None:
        """The section under the clip's fields; `before_generate` saves unsaved prompts (False: do not go on)."""
        self.clip_id = clip_id
        self.before_generate = before_generate
        ui.separator().classes("my-1")
        with ui.row().classes("w-full items-start gap-4 no-wrap").props('data-testid="clip-generation"'):
            with ui.column().classes("w-[400px] flex-none gap-1"):
                ui.label("Generate").classes("text-subtitle2")
                generate_panel(self.choice, self._models_for, self.generate, self._prompt_warning)
                ui.button("More…", icon="tune", on_click=lambda: self.open_dialog()).props(
                    'flat dense no-caps size=sm data-testid="generate-more"'
                ).classes("self-end").tooltip("Prompts, model, LoRAs, sampler, size, seed and presets")
                self.error_label = (
                    ui.label("").classes("text-xs sc-clip-job-error").props('data-testid="generate-error"')
                )
                self.error_label.set_visibility(False)
                self.status = ClipJobStatus(clip_id, self.retry)
            with ui.column().classes("grow gap-1 min-w-0"):
                self.results_title = ui.label("Results").classes("text-subtitle2")
                self.gallery_box = ui.element("div").classes("w-full")
        self.refresh_status()
        self.refresh_gallery()

    def detach(self) -> None:
        """No single clip is shown: keys and events have nothing to act on."""
        self.clip_id = None
        self.status = None
        self.gallery_box = None
        self.error_label = None

    # --- redrawing ----------------------------------------------------------------------------------

    def _models_for(self, mode: str) -> ModelChoices:
        """What the mode's default workflow can load: in video mode, the image-to-video loader's files."""
        return service_call.read(workflow_models.model_choices, self.user, mode, None)

    def _prompt_warning(self, mode: str) -> str | None:
        """The stored clip's prompt for this mode, checked as the batch dialog checks it."""
        if self.clip_id is None:
            return None
        try:
            with session_scope() as session:
                return generation.empty_prompt_warning(clips.get_clip(session, self.user, self.clip_id), mode)
        except DomainError:  # deleted meanwhile: the inspector closes on its own
            return None

    def refresh_status(self) -> None:
        if self.clip_id is None or self.status is None or self.status.container.is_deleted:
            return
        try:
            with session_scope() as session:
                views = job_views.list_jobs(session, self.user, clip_id=self.clip_id, limit=JOB_LIMIT)
        except DomainError:
            views = []
        self.status.show(views)

    def refresh_gallery(self) -> None:
        box = self.gallery_box
        if self.clip_id is None or box is None or box.is_deleted:
            return
        limit = shown_limit(self.clip_id)
        try:
            items, counts = [], {}
            with session_scope() as session:
                for kind in gallery.KINDS:  # only the pages shown: a clip with thousands of results loads a few dozen
                    page, counts[kind] = gallery.gallery_page(session, self.user, self.clip_id, kind, limit=limit)
                    items += [gallery.item_public(item) for item in page]
        except NotFound:
            items, counts = [], {}
        total = sum(counts.values())
        if self.results_title is not None:
            self.results_title.set_text(f"Results · {total}" if total else "Results")
        box.clear()
        with box:
            actions = GalleryActions(self.user, self._results_changed, self._refresh_jobs)
            clip_gallery(items, self.select, self.delete, actions, counts=counts, on_more=self.refresh_gallery)

    # --- actions ------------------------------------------------------------------------------------

    def generate(self) -> None:
        """The form's choices, the clip's saved prompts, one job per variation; the service says what is wrong."""
        if self.clip_id is None:
            ui.notify("Select one clip to generate for it.", type="warning")
            return
        clip_id, values = self.clip_id, self.choice.request_values()
        if self.choice.loads_model and not values["checkpoint"]:
            self._show_error(no_models_text())
            return
        if not self.before_generate():  # unsaved prompts first: the jobs read the stored clip
            return
        app.storage.user[STORAGE_KEY] = {"mode": self.choice.mode, "checkpoint": self.choice.checkpoint}
        try:
            with session_scope() as session:
                request = generation.parse_request(**values)
                created = generation.create_generation(session, self.user, clip_id, request)
        except DomainError as error:
            self._show_error(error.message)
            return
        self._show_error(None)
        count = len(created)
        success(f"Queued {count} job{'s' if count != 1 else ''}")
        self.refresh_status()
        self.refresh_cards()

    def open_dialog(self, clip_id: int | None = None) -> None:
        """The full generation dialog for this clip (or the shown one); unsaved prompts are saved first."""
        clip_id = clip_id if clip_id is not None else self.clip_id
        if clip_id is None:
            ui.notify("Select one clip to generate for it.", type="warning")
            return
        if clip_id == self.clip_id and not self.before_generate():
            return
        with user_errors():
            name_dialog(GenerationDialog(self.user, clip_id, self._refresh_jobs).dialog, "Generate for this clip")

    def _show_error(self, message: str | None) -> None:
        if message:
            ui.notify(message, type="negative", position="top", multi_line=True)
        label = self.error_label
        if label is not None and not label.is_deleted:
            label.set_text(message or "")
            label.set_visibility(bool(message))

    def retry(self, job_id: int) -> None:
        self._act(lambda s: jobs.retry_job(s, self.user, job_id), "Back in the queue")
        self.refresh_status()
        self.refresh_cards()

    def select(self, item_id: int) -> None:
        self._act(lambda s: gallery.select_item(s, self.user, item_id))
        self.refresh_gallery()
        self.refresh_cards()

    def _results_changed(self) -> None:
        self.refresh_gallery()
        self.refresh_cards()

    def delete(self, item: Mapping[str, Any]) -> None:
        kind = "video" if item["kind"] == "video" else "image"
        message = f"This removes {kind} #{item['id']} and its file; it cannot be brought back."
        if item.get("selected"):
            message += f"\nIt is the clip's chosen {kind}: the newest remaining {kind} takes its place."

        def go() -> None:
            self._act(lambda s: gallery.delete_items(s, self.user, [int(item["id"])]), "Result deleted")
            self.refresh_gallery()
            self.refresh_cards()

        confirm(f"Delete this {kind}?", message, "Delete", go)

    def _act(self, action: Callable[[Session], object], done: str | None = None) -> None:
        with user_errors():
            with session_scope() as session:
                action(session)
            if done:
                success(done)

    # --- events -------------------------------------------------------------------------------------

    def _jobs_changed(self, project_id: int) -> None:
        if project_id == self.project_id:
            self._refresh_soon.request()

    def _refresh_jobs(self) -> None:
        self.refresh_status()
        self.refresh_cards()
