"""The full generation dialog for one clip: prompts with a live preview of what is sent, and every parameter.

It starts from the project's generation defaults, remembers what was submitted as the new defaults, and can
save or apply named presets. Submitting goes through `generation.create_generation`, like the compact panel and
the REST API (batches queue each clip through the same function), so the rules and the composed prompt are the
same everywhere. The settings form and the presets bar are shared with the batch dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from app.services import (
    clips,
    events,
    gallery,
    generation,
    generation_defaults,
    job_views,
    jobs,
    projects,
    prompt_compose,
)
from app.services.generation_defaults import GenerationDefaults
from data.engine import session_scope
from data.errors import DomainError
from data.models import Clip, GenerationJob, User

from .clip_job_status import ClipJobStatus
from .feedback import success, user_errors
from .generate_panel import no_models_text
from .generation_presets import PresetBar, load_into
from .generation_settings import GenerationSettingsForm, initial_state, settings_choices
from .job_format import approx_duration
from .live_updates import Coalesced, JobProgressFeed
from .prompt_editor import VARIABLE_HINT, PromptEditor

CLIP_GONE = "This clip was deleted in another tab: close the dialog."


def queued_text(views: list[job_views.JobView]) -> str:
    """ "Queued 3 jobs · position #2 · ~40 s": where the first of them stands and when the last should start."""
    count = len(views)
    text = f"Queued {count} job{'s' if count != 1 else ''}"
    positions = [v.queue_position for v in views if v.queue_position is not None]
    if positions:
        text += f" · position #{min(positions)}"
    waits = [v.estimated_wait_s for v in views if v.estimated_wait_s is not None]
    if waits:
        text += f" · {approx_duration(max(waits))} wait"
    return text


class GenerationDialog:
    """One dialog per opening; `on_queued` lets the page redraw its job rows and cards."""

    def __init__(self, user: User, clip_id: int, on_queued: Callable[[], None] = lambda: None) -> None:
        self.user, self.clip_id, self.on_queued = user, clip_id, on_queued
        with session_scope() as session:
            clip = clips.get_clip(session, user, clip_id)
            project = projects.get_project(session, user, clip.project_id)
            self.project_id: int = project.id  # type: ignore[assignment]  # a stored row's id is never None
            self.defaults = generation_defaults.stored_defaults(project.settings)
            self.choices = settings_choices(session, user, project)
            self.images = {
                i.id: f"#{i.id}" + (" · selected" if i.selected else "")
                for i in gallery.gallery_items(session, user, clip_id, "image")
            }
            self.selected_image = next((i for i, label in self.images.items() if "selected" in label), None)
        self.clip = clip
        self.state: dict[str, Any] = initial_state(self.defaults)
        self.state["init_item_id"] = self.selected_image
        self.image_text, self.video_text = clip.image_prompt, clip.video_prompt
        self.dialog = ui.dialog()
        # The jobs this dialog queued, followed live until it closes.
        self.watched: list[int] = []
        self.feed: JobProgressFeed | None = None
        self._refresh_soon = Coalesced(self.show_jobs, delay=0.3, name="dialog jobs refresh")
        self._build()
        self.dialog.on("hide", self._stop_watching)
        self.dialog.open()

    # --- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        with self.dialog, ui.card().classes("w-[1100px] max-w-[95vw] gap-2").props('data-testid="generation-dialog"'):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(f"Generate · {self.clip.label or f'Clip {self.clip.id}'}").classes("text-h6")
                ui.space()
                self.preset_bar = PresetBar(
                    self.user, self.project_id, values=self.values, load=self.load_preset, error=self._error
                )
            with ui.row().classes("w-full gap-4 no-wrap items-start"):
                with ui.column().classes("grow gap-1 min-w-0"):
                    self.image_editor = PromptEditor(
                        "Image prompt", self.image_text, lambda _: self.update_preview(), testid="dialog-image-prompt"
                    )
                    self.video_editor = PromptEditor(
                        "Video prompt", self.video_text, lambda _: self.update_preview(), testid="dialog-video-prompt"
                    )
                    self.negative_editor = PromptEditor(
                        "Negative prompt (empty: the workflow's own)",
                        self.state["negative_prompt"],
                        lambda _: self.update_preview(),
                        testid="dialog-negative-prompt",
                        rows=2,
                    )
                    ui.label(VARIABLE_HINT).classes("sc-muted text-xs")
                    with ui.card().classes("w-full gap-1").props("flat bordered"):
                        ui.label("What will be sent").classes("text-caption sc-muted")
                        self.preview = ui.column().classes("w-full gap-1").props('data-testid="prompt-preview"')
                with ui.column().classes("w-[430px] flex-none gap-2"):
                    self.form = GenerationSettingsForm(
                        self.state,
                        self.choices,
                        images=self.images,  # type: ignore[arg-type]  # gallery items are stored rows: ids never None
                        on_mode=self.update_preview,
                    )
            with ui.column().classes("w-full gap-1").props('data-testid="dialog-jobs"'):
                self.jobs_summary = ui.label("").classes("text-xs sc-muted").props('data-testid="dialog-jobs-summary"')
                self.status = ClipJobStatus(self.clip_id, self.retry)
            with ui.row().classes("w-full items-center gap-2"):
                self.result = ui.label("").classes("text-sm").props('data-testid="dialog-result"')
                ui.space()
                ui.button("Close", on_click=self.dialog.close).props("flat dense no-caps")
                self.submit_button = ui.button("Generate", icon="auto_awesome", on_click=self.submit).props(
                    'unelevated dense no-caps data-testid="dialog-generate"'
                )
        self.update_preview()

    # --- preview and submit --------------------------------------------------------------------------

    def update_preview(self) -> None:
        mode = self.state["mode"]
        shown: list[tuple[str, str, prompt_compose.Target]] = []
        if mode in ("image", "both"):
            shown.append(("Image", self.image_editor.value, "image"))
        if mode in ("video", "both"):
            shown.append(("Video", self.video_editor.value, "video"))
        if self.negative_editor.value.strip():
            shown.append(("Negative", self.negative_editor.value, "negative"))
        self.preview.clear()
        with self.preview, session_scope() as session:
            clip = session.get(Clip, self.clip_id)
            if clip is None:  # deleted in another tab while this dialog was open
                ui.label(CLIP_GONE).classes("text-xs text-negative")
                self.result.set_text(CLIP_GONE)
                self.result.classes(replace="text-sm text-negative")
                self.submit_button.disable()
                return
            for title, text, target in shown:
                with ui.row().classes("w-full gap-2 no-wrap items-start"):
                    ui.label(title).classes("text-xs sc-muted w-16 flex-none")
                    try:
                        composed = prompt_compose.compose_for_clip(session, clip, text, target)
                    except DomainError as error:
                        ui.label(error.message).classes("text-xs text-negative")
                        continue
                    ui.label(composed or "(empty)").classes("text-xs font-mono").style("white-space: pre-wrap")

    def values(self) -> dict[str, Any]:
        """The dialog's choices as stored defaults (prompts belong to the clip, not here)."""
        state = {**self.state, "negative_prompt": self.negative_editor.value.strip() or None}
        state["loras"] = [dict(lora) for lora in state["loras"] if lora.get("name")]
        return {key: state[key] for key in GenerationDefaults.model_fields}

    def request_values(self) -> dict[str, Any]:
        values = self.values()
        mode = values["mode"]
        request = {key: values[key] for key in values if key not in ("base_model", "video_checkpoint")}
        request["checkpoint"] = self.form.checkpoint_value()
        request["loras"] = self.form.lora_values()
        request["prompt"] = self.video_editor.value if mode == "video" else self.image_editor.value
        if mode == "both":
            request["video_prompt"] = self.video_editor.value
        if mode == "video":
            request["init_item_id"] = self.state.get("init_item_id")
        request.update(self.form.picture_values())
        return request

    def submit(self) -> None:
        values = self.request_values()
        if self.form.loads_model and not values["checkpoint"]:
            self._say(self.form.offered.note or no_models_text(), error=True)
            return
        try:
            with session_scope() as session:
                request = generation.parse_request(**values)
                created = generation.create_generation(session, self.user, self.clip_id, request)
                views = job_views.job_views(session, created)
            with session_scope() as session:
                remembered = self.values()
                if remembered["seed_policy"] == "increment":
                    remembered["seed"] = None  # the project's sequence continues where this one stopped
                generation_defaults.update_generation_defaults(session, self.user, self.project_id, **remembered)
        except DomainError as error:
            self._say(error.message, error=True)
            return
        if self.state["seed_policy"] == "increment" and self.state["seed"] is not None:
            self.state["seed"] = None
        text = queued_text(views)
        self._say(text)
        success(text)
        self.watch([view.id for view in views])
        self.on_queued()

    # --- live jobs ---------------------------------------------------------------------------------

    def watch(self, job_ids: list[int]) -> None:
        """Follow what was just queued: place in the queue, then progress and the live preview, then the outcome."""
        self.watched.extend(job_ids)
        if self.feed is None:
            events.jobs_changed.subscribe(self._jobs_changed)
            self.feed = JobProgressFeed(
                self.user,
                wants=lambda job_id: job_id in self.status.live,
                apply=self.status.progress,
                stale=self._refresh_soon.request,
                name="dialog job progress",
            )
        self.show_jobs()

    def show_jobs(self) -> None:
        if self.status.container.is_deleted:
            return
        with session_scope() as session:
            found = [session.get(GenerationJob, job_id) for job_id in self.watched]
            views = job_views.job_views(session, [job for job in found if job is not None])
        self.status.show(views)
        done = sum(view.status == "completed" for view in views)
        failed = sum(view.status in ("failed", "cancelled") for view in views)
        parts = [f"{done} of {len(self.watched)} done"] + ([f"{failed} failed"] if failed else [])
        if done == len(self.watched):
            parts.append("the results are in the clip's gallery")
        self.jobs_summary.set_text(" · ".join(parts))

    def retry(self, job_id: int) -> None:
        with user_errors(), session_scope() as session:
            jobs.retry_job(session, self.user, job_id)
        self.show_jobs()

    def _jobs_changed(self, project_id: int) -> None:
        if project_id == self.project_id:
            self._refresh_soon.request()

    def _stop_watching(self) -> None:
        if self.feed is not None:
            self.feed.close()
            events.jobs_changed.unsubscribe(self._jobs_changed)
            self.feed = None

    def load_preset(self, preset: GenerationDefaults) -> None:
        self.negative_editor.set_value(load_into(self.state, preset))
        self.form.reload()

    def _error(self, message: str) -> None:
        self._say(message, error=True)

    def _say(self, message: str, *, error: bool = False) -> None:
        self.result.set_text(message)
        self.result.classes(replace="text-sm text-negative" if error else "text-sm text-positive")
        if error:
            ui.notify(message, type="negative", position="top", multi_line=True)
