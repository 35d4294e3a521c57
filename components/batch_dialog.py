"""Generating many clips at once: pick clips by scene, one shared setup, an estimate that follows the choice,
then the batch's progress in the same dialog.

Every clip keeps its own prompts; the shared settings are the single-clip dialog's own form. The estimate
(jobs, rough total time, clips that would be refused and why) is asked of the service that submitting uses,
so what it warns about is exactly what Submit would refuse. "Generate all" on a scene and on the project
dashboard open this dialog with their clips chosen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from nicegui import run, ui

from app.services import batch_views, batches, generation_defaults, projects
from app.services.batch_views import ClipInfo, SceneClips
from app.services.batches import BatchEstimate, BatchRequest, BatchSettings
from app.services.generation_defaults import GenerationDefaults
from data.engine import session_scope
from data.errors import DomainError
from data.models import User

from .batch_progress import BatchProgress
from .feedback import success
from .generate_panel import no_models_text
from .generation_presets import PresetBar, load_into
from .generation_settings import GenerationSettingsForm, initial_state, settings_choices
from .job_format import approx_duration

Preselect = Literal["none", "all", "without_result"]
ESTIMATE_INTERVAL = 0.35  # how often the dialog looks whether the choice changed since the last estimate
CSS = """
.sc-batch-clips { max-height: 56vh; overflow-y: auto; }
.sc-batch-clip { min-height: 30px; }
.sc-batch-problem { max-width: 260px; }
"""


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def estimate_text(estimate: BatchEstimate) -> str:
    """ "12 jobs · about ~4 min until all are done" """
    if not estimate.jobs:
        return "Nothing to queue yet: choose clips on the left."
    text = plural(estimate.jobs, "job")
    if estimate.estimate_seconds is None:
        return f"{text} · no server is online: they wait until one comes back"
    return f"{text} · {approx_duration(estimate.estimate_seconds)} until all are done"


class BatchDialog:
    """One dialog per opening. `scene_id` starts with that scene's clips chosen; `preselect` with all clips or
    those without a result; `on_submitted(batch_id)` lets the page follow up."""

    def __init__(
        self,
        user: User,
        project_id: int,
        *,
        scene_id: int | None = None,
        preselect: Preselect = "none",
        on_submitted: Callable[[int], None] = lambda _batch_id: None,
    ) -> None:
        self.user, self.project_id, self.on_submitted = user, project_id, on_submitted
        with session_scope() as session:
            project = projects.get_project(session, user, project_id)
            self.project_name = project.name
            self.defaults = generation_defaults.stored_defaults(project.settings)
            self.choices = settings_choices(session, user, project)
            self.groups: list[SceneClips] = batch_views.batch_candidates(session, user, project_id)
        self.state: dict[str, Any] = initial_state(self.defaults)
        self.clips: dict[int, ClipInfo] = {clip.id: clip for group in self.groups for clip in group.clips}
        self.selected: set[int] = self._initial(scene_id, preselect)
        self.problems: dict[int, str] = {}
        self.progress: BatchProgress | None = None
        self._syncing = False
        self._estimated: str | None = None
        self._busy = False
        self._submitting = False
        ui.add_css(CSS)
        with ui.context.client.content:  # not inside the caller's refreshable, which may redraw while this is open
            self.dialog = ui.dialog().props("persistent")
        self.dialog.on_value_change(lambda e: None if e.value else self._closed())
        self._build()
        self.dialog.open()

    def _initial(self, scene_id: int | None, preselect: Preselect) -> set[int]:
        if scene_id is not None:
            return {clip.id for group in self.groups if group.scene_id == scene_id for clip in group.clips}
        if preselect == "all":
            return set(self.clips)
        if preselect == "without_result":
            return set(self._without_result())
        return set()

    def _without_result(self) -> list[int]:
        with session_scope() as session:
            kind = batch_views.result_kind(self.state["mode"])
            return batch_views.clips_without_result(session, self.user, self.project_id, kind)

    # --- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        with self.dialog:
            self.card = ui.card().classes("w-[1180px] max-w-[96vw] gap-2").props('data-testid="batch-dialog"')
        self.card.on("keydown.ctrl.enter", self.submit)
        self.card.on("keydown.meta.enter", self.submit)
        with self.card:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.label(f"Generate several clips · {self.project_name}").classes("text-h6")
                ui.space()
                PresetBar(
                    self.user,
                    self.project_id,
                    values=self.settings_values,
                    load=self.load_preset,
                    error=self._error,
                    testid="batch-preset",
                )
                self.name = (
                    ui.input("Batch name")
                    .props('outlined dense hide-bottom-space data-testid="batch-name-input"')
                    .classes("w-72")
                )
                ui.button(icon="close", on_click=self.dialog.close).props(
                    'flat dense round aria-label="Close the batch dialog"'
                ).tooltip("Close")
            with ui.row().classes("w-full gap-4 no-wrap items-start"):
                with ui.column().classes("grow gap-1 min-w-0"):
                    self._picker()
                with ui.column().classes("w-[430px] flex-none gap-2"):
                    self.negative = (
                        ui.textarea("Negative prompt (empty: the workflow's own)", value=self.state["negative_prompt"])
                        .props('outlined dense autogrow rows=2 data-testid="batch-negative-prompt"')
                        .classes("w-full")
                    )
                    self.form = GenerationSettingsForm(
                        self.state, self.choices, on_mode=self._mode_changed, testid="batch"
                    )
                    self.video_note = ui.label(
                        "Each clip's video starts from the image chosen in its gallery."
                    ).classes("sc-muted text-xs")
                    self._mode_changed()
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        self.priority = (
                            ui.number("Priority boost", value=0, min=0, max=10, step=1, format="%d")
                            .props('outlined dense hide-bottom-space data-testid="batch-priority"')
                            .classes("w-36")
                        )
                        ui.label("Higher runs before other waiting jobs; 0 is a normal request.").classes(
                            "sc-muted text-xs"
                        )
            ui.separator()
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                with ui.column().classes("gap-0 grow min-w-0"):
                    self.estimate = ui.label("").classes("text-sm").props('data-testid="batch-estimate"')
                    with ui.row().classes("items-center gap-2 no-wrap") as self.problem_bar:
                        ui.icon("warning", size="16px").classes("text-warning")
                        self.problem_text = (
                            ui.label("").classes("text-sm text-warning").props('data-testid="batch-problems"')
                        )
                        ui.button("Leave them out", on_click=self.leave_out_problems).props(
                            'flat dense no-caps size=sm data-testid="batch-leave-out"'
                        )
                    self.result = ui.label("").classes("text-sm text-negative").props('data-testid="batch-result"')
                ui.button("Close", on_click=self.dialog.close).props("flat dense no-caps")
                self.submit_button = (
                    ui.button("Generate", icon="auto_awesome", on_click=self.submit)
                    .props('unelevated dense no-caps data-testid="batch-submit"')
                    .tooltip("Queue one batch (Ctrl+Enter)")
                )
        self.problem_bar.set_visibility(False)
        self.timer = ui.timer(ESTIMATE_INTERVAL, self._maybe_estimate)
        self._selection_changed()

    def _picker(self) -> None:
        with ui.row().classes("w-full items-center gap-1 no-wrap"):
            ui.label("Clips").classes("text-subtitle2")
            self.count = ui.label("").classes("text-xs sc-muted").props('data-testid="batch-count"')
            ui.space()
            ui.button("All", on_click=lambda: self.select(set(self.clips))).props(
                'flat dense no-caps size=sm data-testid="batch-select-all"'
            )
            ui.button("None", on_click=lambda: self.select(set())).props(
                'flat dense no-caps size=sm data-testid="batch-select-none"'
            )
            ui.button("All without a result", on_click=lambda: self.select(set(self._without_result()))).props(
                'flat dense no-caps size=sm data-testid="batch-select-without-result"'
            ).tooltip("Clips with no image yet (no video, when the mode makes videos)")
        self.scene_boxes: dict[int, ui.checkbox] = {}
        self.clip_boxes: dict[int, ui.checkbox] = {}
        self.markers: dict[int, ui.row] = {}
        self.marker_texts: dict[int, ui.label] = {}
        with ui.column().classes("sc-batch-clips w-full gap-0").props('data-testid="batch-clips"'):
            if not self.clips:
                ui.label("This project has no clips yet: add scenes and clips on the dashboard first.").classes(
                    "sc-muted"
                )
            for group in self.groups:
                if not group.clips:
                    continue
                with ui.row().classes("w-full items-center gap-1 no-wrap mt-1"):
                    self.scene_boxes[group.scene_id] = (
                        ui.checkbox(
                            f"{group.name}",
                            on_change=lambda e, g=group: self._scene_toggled(g, e.value),
                        )
                        .props('dense data-testid="batch-scene"')
                        .classes("font-medium")
                    )
                    self.scene_boxes[group.scene_id].props["data-scene-id"] = str(group.scene_id)
                    ui.label(plural(len(group.clips), "clip")).classes("text-xs sc-muted")
                for clip in group.clips:
                    self._clip_row(clip)

    def _clip_row(self, clip: ClipInfo) -> None:
        with ui.row().classes("sc-batch-clip w-full items-center gap-2 no-wrap pl-6"):
            self.clip_boxes[clip.id] = ui.checkbox(
                clip.label,
                value=clip.id in self.selected,
                on_change=lambda e, c=clip.id: self._clip_toggled(c, e.value),
            ).props('dense data-testid="batch-clip"')
            self.clip_boxes[clip.id].props["data-clip-id"] = str(clip.id)
            results = [kind for kind, has in (("image", clip.has_image), ("video", clip.has_video)) if has]
            ui.label(" · ".join(results) if results else "no result").classes(
                "text-xs sc-muted" if results else "text-xs text-grey-5 italic"
            )
            ui.space()
            with ui.row().classes("items-center gap-1 no-wrap sc-batch-problem") as marker:
                ui.icon("warning", size="16px").classes("text-warning")
                text = ui.label("").classes("text-xs text-warning truncate").props('data-testid="batch-clip-problem"')
                text.props["data-clip-id"] = str(clip.id)
            marker.set_visibility(False)
            self.markers[clip.id] = marker
            self.marker_texts[clip.id] = text

    # --- selection ----------------------------------------------------------------------------------

    def select(self, chosen: set[int]) -> None:
        self.selected = set(chosen) & set(self.clips)
        self._syncing = True
        try:
            for clip_id, box in self.clip_boxes.items():
                box.set_value(clip_id in self.selected)
        finally:
            self._syncing = False
        self._selection_changed()

    def _clip_toggled(self, clip_id: int, value: bool) -> None:
        if self._syncing:
            return
        (self.selected.add if value else self.selected.discard)(clip_id)
        self._selection_changed()

    def _scene_toggled(self, group: SceneClips, value: bool | None) -> None:
        if self._syncing:
            return
        ids = {clip.id for clip in group.clips}
        self.select(self.selected | ids if value else self.selected - ids)

    def _selection_changed(self) -> None:
        self._syncing = True
        try:
            for group in self.groups:
                box = self.scene_boxes.get(group.scene_id)
                if box is None:
                    continue
                chosen = sum(1 for clip in group.clips if clip.id in self.selected)
                box.set_value(True if chosen == len(group.clips) else False if chosen == 0 else None)
        finally:
            self._syncing = False
        count = len(self.selected)
        self.count.set_text(f"{count} of {plural(len(self.clips), 'clip')} chosen")
        self.name.props["placeholder"] = batches.default_name(count)
        self.submit_button.set_text(f"Generate {plural(count, 'clip')}" if count else "Generate")
        self.submit_button.set_enabled(count > 0)

    def leave_out_problems(self) -> None:
        self.select(self.selected - set(self.problems))

    def _mode_changed(self) -> None:
        if hasattr(self, "video_note"):
            self.video_note.set_visibility(self.state["mode"] == "video")

    # --- estimate -----------------------------------------------------------------------------------

    def request_values(self) -> dict[str, Any]:
        """The form as a batch request: the shared settings, the chosen clips in the dialog's order."""
        settings = {key: self.state.get(key) for key in BatchSettings.model_fields}
        settings["checkpoint"] = self.form.checkpoint_value()
        settings["negative_prompt"] = (self.negative.value or "").strip() or None
        settings["loras"] = self.form.lora_values()
        settings["init_image"] = settings["face_image"] = None  # only the pictures the workflow loads are sent
        settings.update(self.form.picture_values())
        ordered = [clip_id for clip_id in self.clips if clip_id in self.selected]
        return {
            "clip_ids": ordered,
            "settings": settings,
            "name": (self.name.value or "").strip() or None,
            "priority": int(self.priority.value or 0),
        }

    def settings_values(self) -> dict[str, Any]:
        """The shared settings as stored defaults and presets keep them."""
        values = {key: self.state[key] for key in generation_defaults.FIELD_NAMES}
        values["negative_prompt"] = (self.negative.value or "").strip() or None
        values["loras"] = [dict(lora) for lora in self.state["loras"] if lora.get("name")]
        return values

    def load_preset(self, preset: GenerationDefaults) -> None:
        self.negative.set_value(load_into(self.state, preset))
        self.form.reload()

    def _signature(self) -> str:
        return json.dumps(self.request_values(), sort_keys=True, default=str)

    async def _maybe_estimate(self) -> None:
        if self._busy or self.progress is not None or not self.dialog.value:
            return
        signature = self._signature()
        if signature == self._estimated:
            return
        self._busy = True
        self._estimated = signature
        try:
            values = self.request_values()
            if not values["clip_ids"]:
                self._show(None, "Nothing to queue yet: choose clips on the left.")
                return
            if self.form.loads_model and not values["settings"]["checkpoint"]:
                self._show(None, self.form.offered.note or no_models_text())
                return
            try:
                request = batches.parse_batch_request(**values)
                estimate = await run.io_bound(self._estimate, request)
            except DomainError as error:
                self._show(None, error.message)
                return
            if estimate is None:  # the server is stopping: NiceGUI's run gives no result then
                return
            self._show(estimate, estimate_text(estimate))
        finally:
            self._busy = False

    def _estimate(self, request: BatchRequest) -> BatchEstimate:
        with session_scope() as session:
            return batches.estimate_batch(session, self.user, self.project_id, request)

    def _show(self, estimate: BatchEstimate | None, text: str) -> None:
        if self.card.is_deleted or self.progress is not None:
            return
        self.estimate.set_text(text)
        self.problems = {p.clip_id: p.reason for p in estimate.problems} if estimate else {}
        warnings = {p.clip_id: p.reason for p in estimate.warnings} if estimate else {}
        for clip_id, marker in self.markers.items():
            reason = self.problems.get(clip_id) or warnings.get(clip_id)  # refusals first; warnings do not block
            marker.set_visibility(reason is not None)
            self.marker_texts[clip_id].set_text(reason or "")
            self.marker_texts[clip_id].props["title"] = reason or ""
        if self.problems:
            count = len(self.problems)
            self.problem_text.set_text(
                f"{plural(count, 'clip')} cannot be queued as set up (see the marks): "
                "Generate would refuse the whole batch."
            )
        self.problem_bar.set_visibility(bool(self.problems))

    # --- submit -------------------------------------------------------------------------------------

    async def submit(self) -> None:
        if self.progress is not None or not self.selected or self._submitting:
            return
        values = self.request_values()
        if self.form.loads_model and not values["settings"]["checkpoint"]:
            self._error(self.form.offered.note or no_models_text())
            return
        self._submitting = True
        self.submit_button.disable()
        try:
            created = await run.io_bound(self._create, values, self.settings_values())  # hundreds take a moment
        except DomainError as error:
            self._error(error.message)
            return
        finally:
            self._submitting = False
            if self.progress is None and not self.submit_button.is_deleted:
                self.submit_button.set_enabled(bool(self.selected))
        if created is None:  # the server is stopping: NiceGUI's run gives no result then
            return
        batch_id, name = created
        success(f"Queued “{name}”")
        self._show_progress(batch_id)
        self.on_submitted(batch_id)

    def _create(self, values: dict[str, Any], remembered: dict[str, Any]) -> tuple[int, str]:
        """The batch, then its settings remembered as the project's defaults (as the single-clip dialog does)."""
        with session_scope() as session:
            request = batches.parse_batch_request(**values)
            batch = batches.create_batch(session, self.user, self.project_id, request)
        with session_scope() as session:
            if remembered["seed_policy"] == "increment":
                remembered["seed"] = None  # the project's sequence continues where this batch stopped
            generation_defaults.update_generation_defaults(session, self.user, self.project_id, **remembered)
        return batch.id, batch.name  # type: ignore[return-value]  # a stored row's id is never None

    def _error(self, message: str) -> None:
        self.result.set_text(message)
        ui.notify(message, type="negative", position="top", multi_line=True)

    def _show_progress(self, batch_id: int) -> None:
        self.timer.deactivate()
        self.card.clear()
        with self.card:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.label(f"Generating · {self.project_name}").classes("text-h6")
                ui.space()
                ui.link("Open the batch page", f"/batches/{batch_id}").classes("text-sm").props(
                    'data-testid="batch-page-link"'
                )
                ui.button(icon="close", on_click=self.dialog.close).props(
                    'flat dense round aria-label="Close the batch dialog"'
                ).tooltip("Close")
            self.progress = BatchProgress(self.user, batch_id)
            with ui.row().classes("w-full justify-end"):
                ui.label("Closing this keeps the batch running; the queue and the batch page follow it.").classes(
                    "sc-muted text-xs"
                )
                ui.button("Close", on_click=self.dialog.close).props('flat dense no-caps data-testid="batch-close"')

    def _closed(self) -> None:
        self.timer.deactivate()
        if self.progress is not None:
            self.progress.close()
        self.dialog.delete()
