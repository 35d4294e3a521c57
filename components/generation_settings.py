"""The settings every generation shares, as one form: mode, workflows, base model and model, LoRAs, steps, CFG,
sampler, scheduler, size, seed policy, seed and variations.

The single-clip dialog and the batch dialog both draw it, so a setting looks and behaves the same wherever
it is chosen. It binds to a plain dict of GenerationDefaults fields (bindings on a small form are cheap); what
happens with the values is the dialog's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nicegui import ui
from sqlmodel import Session

from app.services import generation, generation_defaults, input_images, workflow_models, workflows
from app.services.generation_defaults import SAMPLERS, SCHEDULERS, SEED_POLICIES
from app.services.input_images import PictureChoice
from data.models import Project, User, WorkflowTemplate
from data.models.generation_fields import (
    CFG_MAX,
    CFG_MIN,
    SEED_MAX,
    SIZE_MAX,
    SIZE_MIN,
    SIZE_STEP,
    STEPS_MAX,
    STEPS_MIN,
    VARIATIONS_MAX,
)

from . import service_call
from .generate_panel import MODES, checkpoint_options
from .input_image_picker import InputImagePicker, load_choices

FIELD = "outlined dense options-dense hide-bottom-space"
WORKFLOW_DEFAULT = "Default workflow"
ANY_BASE = "Any base model"
PICTURE_LABELS = {"init_image": "Start image", "face_image": "Face to put in"}
PICTURE_TESTIDS = {"init_image": "start-picture", "face_image": "face-picture"}

E = TypeVar("E", bound=ui.element)


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


@dataclass
class SettingsChoices:
    """What the form offers, read once when a dialog opens."""

    image_workflows: dict[int, str]
    video_workflows: dict[int, str]
    base_models: list[str]
    sizes: dict[str, tuple[int, int]]
    # The pictures each image workflow loads ("init_image", "face_image"); None is the default workflow.
    image_inputs: dict[int | None, tuple[str, ...]] = field(default_factory=dict)
    pictures: list[PictureChoice] = field(default_factory=list)
    user: User | None = None
    project_id: int | None = None


def _inputs(workflow: WorkflowTemplate) -> tuple[str, ...]:
    return tuple(name for name in PICTURE_LABELS if name in (workflow.bindings or {}))


def settings_choices(session: Session, user: User, project: Project) -> SettingsChoices:
    image_workflows = [w for w in workflows.list_workflows(session, user) if w.kind != "video"]
    image_inputs: dict[int | None, tuple[str, ...]] = {w.id: _inputs(w) for w in image_workflows}
    image_inputs[None] = _inputs(workflows.default_workflow(session, "image"))
    return SettingsChoices(
        image_workflows={w.id: w.name for w in image_workflows},  # type: ignore[misc]  # a stored row's id is never None
        video_workflows={w.id: w.name for w in workflows.list_workflows(session, user, "video")},  # type: ignore[misc]  # a stored row's id is never None
        base_models=generation_defaults.base_models(session),
        sizes=size_presets(project.width, project.height),
        image_inputs=image_inputs,
        pictures=input_images.picture_choices(session, user, project.id),  # type: ignore[arg-type]  # a stored row's id is never None
        user=user,
        project_id=project.id,
    )


def initial_state(defaults: generation_defaults.GenerationDefaults) -> dict[str, Any]:
    """A dict the form can bind to, from the project's defaults (LoRAs copied so edits stay in the dialog)."""
    state: dict[str, Any] = defaults.model_dump()
    state["loras"] = [dict(lora) for lora in state["loras"]]
    state["negative_prompt"] = state["negative_prompt"] or ""
    return state


class GenerationSettingsForm:
    """Draws the form where it is created. `images` (id → label) adds the "start from image" choice of a single
    clip; `on_mode` runs after the mode (and so the fields shown) changed. Test ids start with `testid`."""

    def __init__(
        self,
        state: dict[str, Any],
        choices: SettingsChoices,
        *,
        images: dict[int, str] | None = None,
        on_mode: Callable[[], None] = lambda: None,
        testid: str = "dialog",
    ) -> None:
        self.state = state
        self.choices = choices
        self.images = images
        self.on_mode = on_mode
        self.testid = testid
        self.loras: dict[str, list[str]] = {}
        self.init_image: ui.select | None = None
        # What the Model field offers for the chosen mode and workflow (read again when either changes).
        self.offered = workflow_models.ModelChoices(workflow_name="", loads_model=True)
        self._built = False
        self._build()
        self._built = True
        self.mode_changed()
        self.draw_loras()

    def _tag(self, element: E, name: str) -> E:
        """The test id as a property value: the dialog's prefix is data, so it never goes through a props string."""
        element.props["data-testid"] = f"{self.testid}-{name}"
        return element

    def _build(self) -> None:
        state, choices = self.state, self.choices
        mode = ui.toggle(MODES, on_change=lambda: self.mode_changed()).bind_value(state, "mode")
        self._tag(mode, "mode").props("dense no-caps unelevated toggle-color=primary").classes("text-xs")
        with ui.row().classes("w-full gap-2 no-wrap"):
            self.workflow = self._tag(
                ui.select({None: WORKFLOW_DEFAULT, **choices.image_workflows}, label="Workflow"), "workflow"
            )
            self.workflow.bind_value(state, "workflow_id").props(FIELD).classes("grow")
            self.video_workflow = self._tag(
                ui.select({None: WORKFLOW_DEFAULT, **choices.video_workflows}, label="Video workflow"),
                "video-workflow",
            )
            self.video_workflow.bind_value(state, "video_workflow_id").props(FIELD).classes("grow")
        self.workflow.on_value_change(lambda: self.workflow_changed())
        self.pickers: dict[str, InputImagePicker] = {}
        if choices.user is not None and choices.project_id is not None:
            for name, label in PICTURE_LABELS.items():
                state.setdefault(name, None)
                self.pickers[name] = InputImagePicker(
                    state,
                    name,
                    label,
                    user=choices.user,
                    project_id=choices.project_id,
                    choices=choices.pictures,
                    testid=f"{self.testid}-{PICTURE_TESTIDS[name]}",
                    on_uploaded=self._share_uploads,
                )
        if self.images is not None:
            self.init_image = self._tag(ui.select(self.images, label="Start from image"), "init-image")
            self.init_image.bind_value(state, "init_item_id").props(FIELD).classes("w-full")
        with ui.row().classes("w-full gap-2 no-wrap"):
            if state["base_model"] not in choices.base_models:
                state["base_model"] = None
            base = ui.select(
                {None: ANY_BASE, **{b: b for b in choices.base_models}},
                label="Base model",
                on_change=lambda: self.refresh_models(),
            )
            self._tag(base, "base-model").bind_value(state, "base_model").props(FIELD).classes("w-40")
            self.base_model = base
            self.checkpoint = self._tag(ui.select({}, label="Model", with_input=True), "checkpoint")
            self.checkpoint.bind_value(state, "checkpoint").props(FIELD).classes("grow")
        self.no_models = self._tag(ui.label(""), "no-models").classes("sc-muted text-xs")
        self.lora_box = ui.column().classes("w-full gap-0")  # drawn once the models are read (mode_changed)
        with ui.row().classes("w-full gap-2 no-wrap"):
            sampler = ui.select(
                list(SAMPLERS), label="Sampler", with_input=True, new_value_mode="add-unique", clearable=True
            )
            self._tag(sampler, "sampler").bind_value(state, "sampler").props(FIELD).classes("w-1/2")
            scheduler = ui.select(list(SCHEDULERS), label="Scheduler", clearable=True)
            self._tag(scheduler, "scheduler").bind_value(state, "scheduler").props(FIELD).classes("grow")
        with ui.row().classes("w-full gap-2 no-wrap"):
            steps = ui.number("Steps", min=STEPS_MIN, max=STEPS_MAX, step=1, format="%d", placeholder="workflow")
            self._tag(steps, "steps").bind_value(state, "steps", forward=int_or_none)
            steps.props(FIELD).props("clearable").classes("w-1/2")
            cfg = ui.number("CFG", min=CFG_MIN, max=CFG_MAX, step=0.5, placeholder="workflow")
            self._tag(cfg, "cfg").bind_value(state, "cfg").props(FIELD).props("clearable").classes("grow")
        with ui.row().classes("w-full gap-2 no-wrap items-center"):
            size = ui.select(list(choices.sizes), label="Size", clearable=True, on_change=lambda e: self._size(e.value))
            self._tag(size, "size").props(FIELD).classes("grow")
            width = ui.number("W", min=SIZE_MIN, max=SIZE_MAX, step=SIZE_STEP, format="%d", placeholder="auto")
            self._tag(width, "width").bind_value(state, "width", forward=int_or_none).props(FIELD).classes("w-20")
            height = ui.number("H", min=SIZE_MIN, max=SIZE_MAX, step=SIZE_STEP, format="%d", placeholder="auto")
            self._tag(height, "height").bind_value(state, "height", forward=int_or_none).props(FIELD).classes("w-20")
        with ui.row().classes("w-full gap-2 no-wrap items-center"):
            policy = ui.toggle(SEED_POLICIES).bind_value(state, "seed_policy")
            self._tag(policy, "seed-policy").props("dense no-caps unelevated toggle-color=primary").classes("text-xs")
            seed = ui.number("Seed", min=0, max=SEED_MAX, step=1, format="%d", placeholder="auto")
            self._tag(seed, "seed").bind_value(state, "seed", forward=int_or_none)
            seed.props(FIELD).props("clearable").classes("grow")
            variations = ui.number("Variations", min=1, max=VARIATIONS_MAX, step=1, format="%d")
            self._tag(variations, "variations").bind_value(
                state, "variations", forward=lambda v: max(1, min(VARIATIONS_MAX, int(v or 1)))
            ).props(FIELD).classes("w-24")

    def _size(self, label: str | None) -> None:
        if label in self.choices.sizes:
            self.state["width"], self.state["height"] = self.choices.sizes[label]

    def mode_changed(self) -> None:
        """Which fields a mode needs: the video workflow for "both", the start image for "video"."""
        if not self._built:  # the toggle reports its bound value before the form exists
            return
        mode = self.state["mode"]
        self.video_workflow.set_visibility(mode == "both")
        if self.init_image is not None:
            self.init_image.set_visibility(mode == "video")
        choices = self.choices
        self.workflow.set_options(
            {None: WORKFLOW_DEFAULT, **(choices.video_workflows if mode == "video" else choices.image_workflows)}
        )
        if self.state["workflow_id"] not in self.workflow.options:
            self.state["workflow_id"] = None
        self.pictures_changed()
        self.refresh_models()
        self.on_mode()

    def workflow_changed(self) -> None:
        """Another workflow loads other pictures and another loader: the model list follows it."""
        self.pictures_changed()
        if self._built:
            self.refresh_models()

    def needed_pictures(self) -> tuple[str, ...]:
        """The pictures the chosen image workflow loads (none in mode "video": it starts from a clip's image)."""
        if self.state["mode"] == "video":
            return ()
        return self.choices.image_inputs.get(self.state.get("workflow_id"), ())

    def pictures_changed(self) -> None:
        if not self._built:
            return
        needed = self.needed_pictures()
        for name, picker in self.pickers.items():
            picker.set_visibility(name in needed)

    def picture_values(self) -> dict[str, Any]:
        """The chosen pictures the workflow loads, for the request (the others are left out)."""
        needed = self.needed_pictures()
        return {name: self.state.get(name) for name in self.pickers if name in needed}

    def _share_uploads(self) -> None:
        """A picture uploaded in one picker is offered by the other too."""
        assert self.choices.user is not None and self.choices.project_id is not None
        self.choices.pictures = load_choices(self.choices.user, self.choices.project_id)
        for picker in self.pickers.values():
            picker.set_choices(self.choices.pictures)

    # --- models and LoRAs ----------------------------------------------------------------------------

    @property
    def loads_model(self) -> bool:
        """False when the chosen workflow loads no model of the person's choosing (an upscale, a blur)."""
        return self.offered.loads_model

    def checkpoint_value(self) -> str | None:
        """The model to send: none for a workflow that loads none (the stored default stays for the next one)."""
        return (self.state.get("checkpoint") or None) if self.loads_model else None

    def lora_values(self) -> list[dict[str, Any]]:
        """The LoRAs to send: none for a workflow that loads no model (there is no model to apply them to)."""
        return [dict(lora) for lora in self.state["loras"] if lora.get("name")] if self.loads_model else []

    def refresh_models(self) -> None:
        """The files the chosen workflow's loader lists on the working servers, under the base model chosen."""
        state = self.state
        assert self.choices.user is not None, "the form is drawn for a signed-in user"
        user, mode, base = self.choices.user, state["mode"], state["base_model"]
        self.offered = service_call.read(workflow_models.model_choices, user, mode, state.get("workflow_id"), base)
        self.loras = service_call.read(generation_defaults.available_models, "lora", state["base_model"])
        options = checkpoint_options(self.offered.models)
        if self.loads_model:
            chosen = state["checkpoint"] if state["checkpoint"] in options else next(iter(options), None)
            state["checkpoint"] = chosen
            self.checkpoint.set_options(options, value=chosen)
        for element in (self.checkpoint, self.base_model, self.lora_box):
            element.set_visibility(self.loads_model)
        self.no_models.set_text(self.offered.note or "")
        self.no_models.set_visibility(bool(self.offered.note))

    def draw_loras(self) -> None:
        self.lora_box.clear()
        options = checkpoint_options(self.loras)
        with self.lora_box:
            for index, lora in enumerate(self.state["loras"]):
                with self._tag(ui.row(), "lora").classes("w-full items-center gap-2 no-wrap"):
                    ui.select({lora["name"]: lora["name"], **options}, label="LoRA", with_input=True).bind_value(
                        lora, "name"
                    ).props(FIELD).classes("w-48")
                    ui.slider(min=-2, max=2, step=0.05).bind_value(lora, "strength").props(
                        "dense label-always=false"
                    ).classes("grow")
                    ui.label().bind_text_from(lora, "strength", lambda v: f"{float(v or 0):.2f}").classes(
                        "text-xs w-10"
                    )
                    ui.button(icon="close", on_click=lambda i=index: self.remove_lora(i)).props(
                        'flat dense size=sm aria-label="Remove this LoRA"'
                    )
            add = self._tag(ui.button("Add LoRA", icon="add", on_click=self.add_lora), "add-lora")
            add.props("flat dense no-caps size=sm")
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

    def reload(self) -> None:
        """After the state was replaced wholesale (a preset applied): models, LoRAs and mode-dependent fields."""
        self.mode_changed()  # reads the models for the mode and workflow
        self.draw_loras()


def int_or_none(value: Any) -> int | None:
    return None if value in (None, "") else int(value)
