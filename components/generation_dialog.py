"""The full generation dialog for one clip: prompts with a live preview of what is sent, and every parameter.

It starts from the project's generation defaults, remembers what was submitted as the new defaults, and can
save or apply named presets. Submitting goes through `generation.create_generation`, like the compact panel,
batches and the REST API, so the rules (and the composed prompt) are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from app.services import clips, gallery, generation, generation_defaults, job_views, projects, prompt_compose, workflows
from app.services.errors import DomainError
from app.services.generation_defaults import SAMPLERS, SCHEDULERS, SEED_POLICIES, GenerationDefaults
from data.engine import session_scope
from data.models import Clip, User

from .confirm import confirm
from .feedback import success
from .generate_panel import MODES, NO_MODELS, checkpoint_options
from .job_format import approx_duration
from .prompt_editor import VARIABLE_HINT, PromptEditor

FIELD = "outlined dense options-dense hide-bottom-space"
WORKFLOW_DEFAULT = "Default workflow"
ANY_BASE = "Any base model"


def size_presets(width: int, height: int) -> dict[str, tuple[int, int]]:
    """Sizes offered from the project's frame: fitted for diffusion, half of it, and a square."""
    fitted = generation._fit(width, height)
    half = generation._fit(max(64, width // 2), max(64, height // 2))
    sizes = {f"Project frame, fitted ({fitted[0]}×{fitted[1]})": fitted}
    if half != fitted:
        sizes[f"Half ({half[0]}×{half[1]})"] = half
    sizes["Square (1024×1024)"] = (1024, 1024)
    sizes["Square (512×512)"] = (512, 512)
    return sizes


def queued_text(views: list[job_views.JobView]) -> str:
    """ "Queued 3 jobs · position #2 · ~40 s": where the first of them stands and when the last should start."""
    count = len(views)
    text = f"Queued {count} job{'s' if count != 1 else ''}"
    positions = [v.queue_position for v in views if v.queue_position is not None]
    if positions:
        text += f" · position #{min(positions)}"
    waits = [v.estimated_wait_s for v in views if v.estimated_wait_s is not None]
    if waits:
        text += f" · ~{approx_duration(max(waits))} wait"
    return text


class GenerationDialog:
    """One dialog per opening; `on_queued` lets the page redraw its job rows and cards."""

    def __init__(self, user: User, clip_id: int, on_queued: Callable[[], None] = lambda: None) -> None:
        self.user, self.clip_id, self.on_queued = user, clip_id, on_queued
        with session_scope() as session:
            clip = clips.get_clip(session, user, clip_id)
            project = projects.get_project(session, user, clip.project_id)
            self.project_id: int = project.id  # type: ignore[assignment]
            self.defaults = generation_defaults.stored_defaults(project.settings)
            self.image_workflows = {w.id: w.name for w in workflows.list_workflows(session, user) if w.kind != "video"}
            self.video_workflows = {w.id: w.name for w in workflows.list_workflows(session, user, "video")}
            self.base_models = generation_defaults.base_models(session)
            self.loras = generation_defaults.available_models(session, "lora")
            self.images = {
                i.id: f"#{i.id}" + (" · selected" if i.selected else "")
                for i in gallery.gallery_items(session, user, clip_id, "image")
            }
            self.selected_image = next((i for i, label in self.images.items() if "selected" in label), None)
            self.presets = {p.id: p.name for p in generation_defaults.list_presets(session, user, self.project_id)}
        self.clip = clip
        self.sizes = size_presets(project.width, project.height)
        self.state: dict[str, Any] = self.defaults.model_dump()
        self.state["loras"] = [dict(lora) for lora in self.state["loras"]]
        self.state["init_item_id"] = self.selected_image
        self.state["negative_prompt"] = self.state["negative_prompt"] or ""
        self.image_text, self.video_text = clip.image_prompt, clip.video_prompt
        self.dialog = ui.dialog()
        self._build()
        self.dialog.open()

    # --- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        with self.dialog, ui.card().classes("w-[1100px] max-w-[95vw] gap-2").props('data-testid="generation-dialog"'):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(f"Generate · {self.clip.label or f'Clip {self.clip.id}'}").classes("text-h6")
                ui.space()
                self._preset_bar()
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
                    self._parameters()
            with ui.row().classes("w-full items-center gap-2"):
                self.result = ui.label("").classes("text-sm").props('data-testid="dialog-result"')
                ui.space()
                ui.button("Close", on_click=self.dialog.close).props("flat dense no-caps")
                self.submit_button = ui.button("Generate", icon="auto_awesome", on_click=self.submit).props(
                    'unelevated dense no-caps data-testid="dialog-generate"'
                )
        self.update_preview()

    def _preset_bar(self) -> None:
        with ui.row().classes("items-center gap-1 no-wrap"):
            self.preset_select = (
                ui.select(self.presets, label="Preset", clearable=True)
                .props(f'{FIELD} data-testid="preset-select"')
                .classes("w-48")
            )
            ui.button(icon="download", on_click=self.apply_preset).props(
                'flat dense data-testid="preset-apply"'
            ).tooltip("Apply the preset to this dialog")
            ui.button(icon="bookmark_add", on_click=self.ask_preset_name).props(
                'flat dense data-testid="preset-save"'
            ).tooltip("Save these settings as a preset")
            ui.button(icon="delete_outline", on_click=self.delete_preset).props(
                'flat dense data-testid="preset-delete"'
            ).tooltip("Delete the preset")

    def _parameters(self) -> None:
        state = self.state
        ui.toggle(MODES, on_change=lambda: self._mode_changed()).bind_value(state, "mode").props(
            'dense no-caps unelevated toggle-color=primary data-testid="dialog-mode"'
        ).classes("text-xs")
        with ui.row().classes("w-full gap-2 no-wrap"):
            self.workflow = (
                ui.select({None: WORKFLOW_DEFAULT, **self.image_workflows}, label="Workflow")
                .bind_value(state, "workflow_id")
                .props(f'{FIELD} data-testid="dialog-workflow"')
                .classes("grow")
            )
            self.video_workflow = (
                ui.select({None: WORKFLOW_DEFAULT, **self.video_workflows}, label="Video workflow")
                .bind_value(state, "video_workflow_id")
                .props(f"{FIELD}")
                .classes("grow")
            )
        self.init_image = (
            ui.select(self.images, label="Start from image")
            .bind_value(state, "init_item_id")
            .props(f'{FIELD} data-testid="dialog-init-image"')
            .classes("w-full")
        )
        with ui.row().classes("w-full gap-2 no-wrap"):
            if state["base_model"] not in self.base_models:
                state["base_model"] = None
            ui.select(
                {None: ANY_BASE, **{b: b for b in self.base_models}},
                label="Base model",
                on_change=lambda: self.refresh_models(),
            ).bind_value(state, "base_model").props(f'{FIELD} data-testid="dialog-base-model"').classes("w-40")
            self.checkpoint = (
                ui.select({}, label="Model", with_input=True)
                .bind_value(state, "checkpoint")
                .props(f'{FIELD} data-testid="dialog-checkpoint"')
                .classes("grow")
            )
        self.no_models = ui.label(f"{NO_MODELS}.").classes("sc-muted text-xs").props('data-testid="dialog-no-models"')
        self.lora_box = ui.column().classes("w-full gap-0")
        self.refresh_models()
        self.draw_loras()
        with ui.row().classes("w-full gap-2 no-wrap"):
            ui.number("Steps", min=1, max=200, step=1, format="%d", placeholder="workflow").bind_value(
                state, "steps", forward=_int_or_none
            ).props(f'{FIELD} clearable data-testid="dialog-steps"').classes("w-24")
            ui.number("CFG", min=0, max=30, step=0.5, placeholder="workflow").bind_value(state, "cfg").props(
                f'{FIELD} clearable data-testid="dialog-cfg"'
            ).classes("w-24")
            ui.select(
                list(SAMPLERS), label="Sampler", with_input=True, new_value_mode="add-unique", clearable=True
            ).bind_value(state, "sampler").props(FIELD).classes("grow")
            ui.select(list(SCHEDULERS), label="Scheduler", clearable=True).bind_value(state, "scheduler").props(
                FIELD
            ).classes("w-32")
        with ui.row().classes("w-full gap-2 no-wrap items-center"):
            ui.select(list(self.sizes), label="Size", clearable=True, on_change=lambda e: self._size(e.value)).props(
                f'{FIELD} data-testid="dialog-size"'
            ).classes("grow")
            self.width = (
                ui.number("W", step=8, format="%d", placeholder="auto")
                .bind_value(state, "width", forward=_int_or_none)
                .props(f'{FIELD} data-testid="dialog-width"')
                .classes("w-20")
            )
            self.height = (
                ui.number("H", step=8, format="%d", placeholder="auto")
                .bind_value(state, "height", forward=_int_or_none)
                .props(f'{FIELD} data-testid="dialog-height"')
                .classes("w-20")
            )
        with ui.row().classes("w-full gap-2 no-wrap items-center"):
            ui.toggle(SEED_POLICIES).bind_value(state, "seed_policy").props(
                'dense no-caps unelevated toggle-color=primary data-testid="dialog-seed-policy"'
            ).classes("text-xs")
            ui.number("Seed", min=0, step=1, format="%d", placeholder="auto").bind_value(
                state, "seed", forward=_int_or_none
            ).props(f'{FIELD} clearable data-testid="dialog-seed"').classes("grow")
            ui.number("Variations", min=1, max=16, step=1, format="%d").bind_value(
                state, "variations", forward=lambda v: max(1, min(16, int(v or 1)))
            ).props(f'{FIELD} data-testid="dialog-variations"').classes("w-24")
        self._mode_changed()

    def _size(self, label: str | None) -> None:
        if label in self.sizes:
            self.state["width"], self.state["height"] = self.sizes[label]

    def _mode_changed(self) -> None:
        if not hasattr(self, "init_image"):  # the toggle reports its bound value before the form exists
            return
        mode = self.state["mode"]
        self.video_workflow.set_visibility(mode == "both")
        self.init_image.set_visibility(mode == "video")
        self.workflow.set_options(
            {None: WORKFLOW_DEFAULT, **(self.video_workflows if mode == "video" else self.image_workflows)}
        )
        if self.state["workflow_id"] not in self.workflow.options:
            self.state["workflow_id"] = None
        self.update_preview()

    # --- models and LoRAs ----------------------------------------------------------------------------

    def refresh_models(self) -> None:
        with session_scope() as session:
            models = generation_defaults.available_models(session, "checkpoint", self.state["base_model"])
            self.loras = generation_defaults.available_models(session, "lora", self.state["base_model"])
        options = checkpoint_options(models)
        chosen = self.state["checkpoint"] if self.state["checkpoint"] in options else next(iter(options), None)
        self.state["checkpoint"] = chosen
        self.checkpoint.set_options(options, value=chosen)
        self.no_models.set_visibility(not options)

    def draw_loras(self) -> None:
        self.lora_box.clear()
        options = checkpoint_options(self.loras)
        with self.lora_box:
            for index, lora in enumerate(self.state["loras"]):
                with ui.row().classes("w-full items-center gap-2 no-wrap").props('data-testid="dialog-lora"'):
                    ui.select({lora["name"]: lora["name"], **options}, label="LoRA", with_input=True).bind_value(
                        lora, "name"
                    ).props(FIELD).classes("w-48")
                    ui.slider(min=-2, max=2, step=0.05).bind_value(lora, "strength").props(
                        "dense label-always=false"
                    ).classes("grow")
                    ui.label().bind_text_from(lora, "strength", lambda v: f"{float(v or 0):.2f}").classes(
                        "text-xs w-10"
                    )
                    ui.button(icon="close", on_click=lambda i=index: self.remove_lora(i)).props("flat dense size=sm")
            add = ui.button("Add LoRA", icon="add", on_click=self.add_lora).props(
                'flat dense no-caps size=sm data-testid="dialog-add-lora"'
            )
            if not options:
                add.disable()
                add.tooltip("No LoRAs on the online servers")

    def add_lora(self) -> None:
        first = next(iter(self.loras), None)
        if first is None:
            return
        self.state["loras"].append({"name": first, "strength": 1.0})
        self.draw_loras()

    def remove_lora(self, index: int) -> None:
        del self.state["loras"][index]
        self.draw_loras()

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
            for title, text, target in shown:
                with ui.row().classes("w-full gap-2 no-wrap items-start"):
                    ui.label(title).classes("text-xs sc-muted w-16 flex-none")
                    try:
                        composed = prompt_compose.compose_for_clip(session, clip, text, target)  # type: ignore[arg-type]
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
        request["checkpoint"] = values["checkpoint"] or ""
        request["prompt"] = self.video_editor.value if mode == "video" else self.image_editor.value
        if mode == "both":
            request["video_prompt"] = self.video_editor.value
        if mode == "video":
            request["init_item_id"] = self.state.get("init_item_id")
        return request

    def submit(self) -> None:
        values = self.request_values()
        if not values["checkpoint"]:
            self._say(f"{NO_MODELS}.", error=True)
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
        self.on_queued()

    def _say(self, message: str, *, error: bool = False) -> None:
        self.result.set_text(message)
        self.result.classes(replace="text-sm " + ("text-negative" if error else "text-positive"))
        if error:
            ui.notify(message, type="negative", position="top", multi_line=True)

    # --- presets ------------------------------------------------------------------------------------

    def _reload_presets(self, chosen: int | None = None) -> None:
        with session_scope() as session:
            self.presets = {p.id: p.name for p in generation_defaults.list_presets(session, self.user, self.project_id)}
        self.preset_select.set_options(self.presets, value=chosen if chosen in self.presets else None)

    def apply_preset(self) -> None:
        preset_id = self.preset_select.value
        if preset_id is None:
            ui.notify("Choose a preset to apply.", type="warning")
            return
        try:
            with session_scope() as session:
                loaded = generation_defaults.apply_preset(session, self.user, preset_id)
        except DomainError as error:
            self._say(error.message, error=True)
            self._reload_presets()
            return
        data = loaded.model_dump()
        for key in GenerationDefaults.model_fields:
            if key in ("negative_prompt", "loras"):
                continue
            self.state[key] = data[key]
        self.state["loras"] = [dict(lora) for lora in data["loras"]]
        self.negative_editor.set_value(data["negative_prompt"] or "")
        self.refresh_models()
        self.draw_loras()
        self._mode_changed()
        success(f"Applied “{self.presets.get(preset_id, 'preset')}”")

    def ask_preset_name(self) -> None:
        with ui.dialog() as ask, ui.card().classes("w-[360px] gap-2"):
            ui.label("Save as preset").classes("text-subtitle1")
            name = (
                ui.input("Preset name", value=self.presets.get(self.preset_select.value, ""))
                .props('outlined dense autofocus data-testid="preset-name"')
                .classes("w-full")
            )
            overwrite = ui.checkbox("Overwrite a preset of the same name").props("dense")
            note = ui.label("").classes("text-negative text-xs")

            def save() -> None:
                try:
                    with session_scope() as session:
                        preset = generation_defaults.save_preset(
                            session, self.user, self.project_id, name.value, self.values(), replace=overwrite.value
                        )
                except DomainError as error:
                    note.set_text(error.message)
                    return
                ask.close()
                self._reload_presets(preset.id)
                success(f"Saved preset “{preset.name}”")

            name.on("keydown.enter", save)
            with ui.row().classes("w-full justify-end gap-1"):
                ui.button("Cancel", on_click=ask.close).props("flat dense no-caps")
                ui.button("Save", on_click=save).props('unelevated dense no-caps data-testid="preset-save-confirm"')
        ask.open()

    def delete_preset(self) -> None:
        preset_id = self.preset_select.value
        if preset_id is None:
            ui.notify("Choose a preset to delete.", type="warning")
            return
        name = self.presets.get(preset_id, "this preset")

        def go() -> None:
            try:
                with session_scope() as session:
                    generation_defaults.delete_preset(session, self.user, preset_id)
            except DomainError as error:
                ui.notify(error.message, type="negative")
            self._reload_presets()
            success(f"Deleted preset “{name}”")

        confirm(f"Delete the preset “{name}”?", "Only the preset goes; jobs made with it are kept.", "Delete", go)


def _int_or_none(value: Any) -> int | None:
    return None if value in (None, "") else int(value)
