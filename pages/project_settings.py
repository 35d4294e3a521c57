"""/projects/{id}/settings: the project's format and tags, the editor's defaults, and the generation defaults.

Each card saves on its own through its service, which checks every value before storing any: a form with one bad
value shows the message on that field and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from app.services import generation_defaults, projects
from app.services.editor_settings import RULER_UNITS, editor_settings, update_editor_settings
from app.services.generation_defaults import SAMPLERS, SCHEDULERS, SEED_POLICIES
from components.feedback import success
from components.frame import frame, not_found
from components.generate_panel import MODES as GENERATION_MODES
from components.project_form import RESOLUTION_PRESETS
from components.scene_list import format_seconds
from components.service_call import read
from data.errors import DomainError, NotFound
from data.frames import supports_drop_frame
from data.models import FRAME_RATES, Project, User

CUSTOM = "Custom"
FIELD_LABELS = {
    "name": "Name",
    "description": "Description",
    "fps": "Frame rate",
    "width": "Width",
    "height": "Height",
    "target_duration": "Target duration",
    "tags": "Tags",
    "default_clip_duration": "Default clip duration",
    "ruler": "Ruler units",
    "snap": "Snapping",
    "drop_frame": "Drop-frame timecode",
    "checkpoint": "Model",
    "steps": "Steps",
    "cfg": "CFG",
    "seed": "Seed",
    "variations": "Variations",
}
FIELD = "outlined dense hide-bottom-space"  # no room kept under each field: errors are said once, under the card
RULER_LABELS = {"seconds": "Seconds", "timecode": "Timecode", "frames": "Frames"}


class FormErrors:
    """One message under the card, the field at fault outlined; cleared before each save."""

    def __init__(self, fields: dict[str, ui.element]) -> None:
        self.fields = fields
        self.label = ui.label("").classes("text-negative text-sm").props('data-testid="settings-error"')
        self.label.set_visibility(False)

    def clear(self) -> None:
        self.label.set_text("")
        self.label.set_visibility(False)
        for element in self.fields.values():
            element.props(remove="error")

    def show(self, failure: DomainError) -> None:
        """Every problem in the one message under the card; every field at fault outlined in red."""
        self.label.set_text(failure.message)
        self.label.set_visibility(True)
        for field in failure.fields:
            if field in self.fields:
                self.fields[field].props["error"] = True

    def run(self, action: Callable[[], object]) -> bool:
        self.clear()
        try:
            action()
        except DomainError as failure:
            self.show(failure)
            return False
        return True


def _whole(value: float | None) -> int | float | None:
    """A number field gives floats; 1920.0 is the whole number the model expects, 1920.5 stays and is refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _preset_of(width: float | None, height: float | None) -> str:
    return next((label for label, size in RESOLUTION_PRESETS.items() if size == (width, height)), CUSTOM)


def page(user: User, project_id: int) -> None:
    try:
        project = read(projects.get_project, user, project_id)
        clip_count = read(projects.project_stats, user, project_id).clips
    except NotFound as error:
        with frame("Not found", user):
            not_found(error.message)
        return

    crumbs = [("Projects", "/projects"), (project.name, f"/projects/{project_id}")]
    with frame("Settings", user, breadcrumbs=crumbs):
        with ui.row().classes("w-full items-center gap-2"):
            ui.label("Project settings").classes("text-h6")
            ui.space()
            ui.link("Dashboard", f"/projects/{project_id}").classes("text-xs")
            ui.link("Timeline", f"/projects/{project_id}/timeline").classes("text-xs")
        with ui.element("div").classes("w-full grid gap-3 lg:grid-cols-2 items-start"):
            editor_card: EditorCard | None = None

            def saved(current: Project) -> None:
                if editor_card is not None:
                    editor_card.rate_changed(current.fps)

            ProjectCard(user, project, clip_count, saved)
            with ui.column().classes("w-full gap-3"):
                editor_card = EditorCard(user, project)
                GenerationDefaultsCard(user, project)


class ProjectCard:
    """Name, description, frame rate, resolution (with presets), target duration and tags, saved together."""

    def __init__(self, user: User, project: Project, clip_count: int, on_saved: Callable[[Project], None]) -> None:
        self.user, self.project, self.clip_count, self.on_saved = user, project, clip_count, on_saved
        self._applying = False
        with ui.card().classes("w-full gap-2").props('flat bordered data-testid="project-settings-card"'):
            ui.label("Project").classes("text-subtitle1")
            self.name = ui.input("Name", value=project.name).props(FIELD).classes("w-full").mark("name")
            self.description = (
                ui.textarea("Description", value=project.description)
                .props("outlined dense autogrow hide-bottom-space")
                .classes("w-full")
                .mark("description")
            )
            with ui.row().classes("w-full gap-2 items-start"):
                self.fps = (
                    ui.select(
                        {rate: f"{rate:g} fps" for rate in FRAME_RATES},
                        label="Frame rate",
                        value=project.fps,
                        on_change=lambda: self._rate_note(),
                    )
                    .props(FIELD)
                    .classes("w-36")
                    .mark("fps")
                )
                self.target = (
                    ui.number(
                        "Target duration",
                        value=project.target_duration,
                        step=1,
                        suffix="s",
                        on_change=lambda: self._target_note(),
                    )
                    .props(FIELD)
                    .classes("w-44")
                    .mark("target_duration")
                )
                self.target_hint = ui.label("").classes("sc-muted text-xs self-center")
            self.rate_hint = ui.label("").classes("text-warning text-xs").props('data-testid="rate-hint"')
            with ui.row().classes("w-full gap-2 items-start no-wrap"):
                self.preset = (
                    ui.select(
                        [*RESOLUTION_PRESETS, CUSTOM],
                        label="Resolution",
                        value=_preset_of(project.width, project.height),
                        on_change=lambda e: self._apply_preset(e.value),
                    )
                    .props(FIELD)
                    .classes("w-52")
                    .mark("preset")
                )
                self.width = self._size("Width", project.width)
                ui.label("×").classes("self-center sc-muted")
                self.height = self._size("Height", project.height)
            self.tags = (
                ui.input_chips("Tags", value=list(project.tags or []), new_value_mode="add-unique")
                .props(FIELD)
                .classes("w-full")
                .mark("tags")
            )
            ui.label("Tags are stored in lower case; press Enter after each one.").classes("sc-muted text-xs")
            self.errors = FormErrors(
                {
                    "name": self.name,
                    "description": self.description,
                    "fps": self.fps,
                    "width": self.width,
                    "height": self.height,
                    "target_duration": self.target,
                    "tags": self.tags,
                }
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Save project", icon="save", on_click=self.save).props(
                    'unelevated dense data-testid="save-project-settings"'
                )
        self.name.on("keydown.enter", self.save)
        self._rate_note()
        self._target_note()

    def _size(self, label: str, value: int) -> ui.number:
        # no min/max: the number field would clamp silently; the service says what is allowed instead
        return (
            ui.number(label, value=value, step=2, format="%d", suffix="px", on_change=lambda: self._sync_preset())
            .props(FIELD)
            .classes("w-32")
            .mark(label.lower())
        )

    def _apply_preset(self, choice: str) -> None:
        if choice in RESOLUTION_PRESETS:
            self._applying = True  # setting width then height passes through "Custom": do not echo it back
            self.width.set_value(RESOLUTION_PRESETS[choice][0])
            self.height.set_value(RESOLUTION_PRESETS[choice][1])
            self._applying = False

    def _sync_preset(self) -> None:
        if not self._applying:
            self.preset.set_value(_preset_of(self.width.value, self.height.value))

    def _rate_note(self) -> None:
        rate = self.fps.value
        if self.clip_count and rate and abs(rate - self.project.fps) > 1e-6:
            self.rate_hint.set_text(
                f"The {self.clip_count} clips keep their times in seconds and are re-timed to whole frames at "
                f"{rate:g} fps (each edge moves by at most half a frame)."
            )
        else:
            self.rate_hint.set_text("")

    def _target_note(self) -> None:
        value = self.target.value
        self.target_hint.set_text(f"= {format_seconds(value)}" if isinstance(value, int | float) and value > 0 else "")

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.value or "",
            "description": self.description.value or "",
            "fps": self.fps.value,
            "width": _whole(self.width.value),
            "height": _whole(self.height.value),
            "target_duration": self.target.value,
            "tags": list(self.tags.value or []),
        }

    def save(self) -> None:
        values = self.values()
        empty = next((key for key in ("fps", "width", "height", "target_duration") if values[key] is None), None)
        saved: list[Project] = []

        def run() -> None:
            if empty:  # a cleared number would otherwise mean "leave unchanged" to the update
                raise DomainError(f"{FIELD_LABELS[empty]}: enter a value.", field=empty)
            update = projects.parse_update(**values)
            saved.append(read(projects.update_project, self.user, self.project.id, update))  # type: ignore[arg-type]  # a stored row's id is never None

        if not self.errors.run(run):
            return
        self.project = saved[0]
        self.tags.set_value(list(self.project.tags or []))  # as stored: cleaned and lower case
        self._rate_note()
        success(f"Saved the settings of “{self.project.name}”")
        self.on_saved(self.project)


class EditorCard:
    """Default clip length, snapping, ruler units and drop-frame timecode (only meaningful at 29.97 fps)."""

    def __init__(self, user: User, project: Project) -> None:
        self.user, self.project_id = user, project.id
        settings = editor_settings(project)
        with ui.card().classes("w-full gap-2").props('flat bordered data-testid="editor-settings-card"'):
            ui.label("Editor").classes("text-subtitle1")
            with ui.row().classes("w-full items-start gap-3"):
                self.duration = (
                    ui.number("Default clip duration", value=settings.default_clip_duration, step=0.5, suffix="s")
                    .props(FIELD)
                    .classes("w-48")
                    .mark("default_clip_duration")
                )
                ui.label("A new clip gets this length unless you give one.").classes("sc-muted text-xs self-center")
            self.snap = (
                ui.switch("Snap to frames, clip edges and the playhead", value=settings.snap)
                .props("dense")
                .mark("snap")
            )
            with ui.row().classes("items-center gap-3"):
                ui.label("Ruler units").classes("text-sm")
                self.ruler = (
                    ui.toggle({unit: RULER_LABELS[unit] for unit in RULER_UNITS}, value=settings.ruler)
                    .props("dense no-caps unelevated toggle-color=primary")
                    .mark("ruler")
                )
            self.drop_frame = (
                ui.switch("Drop-frame timecode (HH:MM:SS;FF)", value=settings.drop_frame)
                .props("dense")
                .mark("drop_frame")
            )
            self.drop_hint = ui.label("").classes("sc-muted text-xs")
            self.errors = FormErrors({"default_clip_duration": self.duration, "ruler": self.ruler})
            with ui.row().classes("w-full justify-end"):
                ui.button("Save editor settings", icon="save", on_click=self.save).props(
                    'unelevated dense data-testid="save-editor-settings"'
                )
        self.rate_changed(project.fps)

    def rate_changed(self, fps: float) -> None:
        self.drop_supported = supports_drop_frame(fps)
        self.drop_frame.set_enabled(self.drop_supported)
        if not self.drop_supported:
            self.drop_frame.set_value(False)
        self.drop_hint.set_text(
            "Drop-frame keeps 29.97 fps timecode in step with the clock: it skips frame numbers, never frames."
            if self.drop_supported
            else f"Drop-frame timecode exists only at 29.97 fps; this project runs at {fps:g} fps."
        )

    def save(self) -> None:
        def run() -> None:
            read(
                update_editor_settings,
                self.user,
                self.project_id,  # type: ignore[arg-type]  # a stored row's id is never None
                default_clip_duration=self.duration.value,
                snap=bool(self.snap.value),
                ruler=self.ruler.value,
                drop_frame=bool(self.drop_frame.value) and self.drop_supported,
            )

        if self.errors.run(run):
            success("Saved the editor settings")


class GenerationDefaultsCard:
    """What the generation dialog starts from for this project; the dialog also remembers its last choices here."""

    def __init__(self, user: User, project: Project) -> None:
        self.user, self.project_id = user, project.id
        defaults = generation_defaults.stored_defaults(project.settings)
        self.state: dict[str, Any] = defaults.model_dump()
        models = read(generation_defaults.available_models, "checkpoint")
        options = {name: f"{name} · {', '.join(servers)}" for name, servers in models.items()}
        if self.state["checkpoint"] and self.state["checkpoint"] not in options:
            options[self.state["checkpoint"]] = f"{self.state['checkpoint']} · not on an online server"
        with ui.card().classes("w-full gap-2").props('flat bordered data-testid="generation-defaults-card"'):
            ui.label("Generation defaults").classes("text-subtitle1")
            ui.label(
                "Where the generation dialog starts for this project. Empty fields keep the workflow's own values."
            ).classes("sc-muted text-xs")
            with ui.row().classes("w-full gap-2 items-start no-wrap"):
                ui.toggle(GENERATION_MODES).bind_value(self.state, "mode").props(
                    "dense no-caps unelevated toggle-color=primary"
                ).classes("text-xs self-center")
                self.checkpoint = (
                    ui.select(options, label="Model", clearable=True, with_input=True)
                    .bind_value(self.state, "checkpoint")
                    .props(FIELD)
                    .props('options-dense data-testid="defaults-checkpoint"')
                    .classes("grow")
                )
            self.negative = (
                ui.textarea("Negative prompt", value=self.state["negative_prompt"] or "")
                .props("outlined dense autogrow hide-bottom-space")
                .classes("w-full")
            )
            with ui.row().classes("w-full gap-2 items-start"):
                self.steps = self._number("Steps", "steps", 1).classes("w-24")
                self.cfg = self._number("CFG", "cfg", 0.5).classes("w-24")
                ui.select(list(SAMPLERS), label="Sampler", clearable=True).bind_value(self.state, "sampler").props(
                    FIELD
                ).props("options-dense").classes("w-40")
                ui.select(list(SCHEDULERS), label="Scheduler", clearable=True).bind_value(
                    self.state, "scheduler"
                ).props(FIELD).props("options-dense").classes("w-32")
            with ui.row().classes("w-full gap-2 items-start"):
                self.width = self._number("Width", "width", 8, suffix="px").classes("w-28")
                self.height = self._number("Height", "height", 8, suffix="px").classes("w-28")
                ui.toggle(SEED_POLICIES).bind_value(self.state, "seed_policy").props(
                    'dense no-caps unelevated toggle-color=primary data-testid="defaults-seed-policy"'
                ).classes("text-xs self-center")
                self.seed = self._number("Seed", "seed", 1).classes("w-32")
                self.variations = self._number("Variations", "variations", 1).classes("w-24")
            self.errors = FormErrors(
                {
                    "checkpoint": self.checkpoint,
                    "steps": self.steps,
                    "cfg": self.cfg,
                    "width": self.width,
                    "height": self.height,
                    "seed": self.seed,
                    "variations": self.variations,
                }
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Save generation defaults", icon="save", on_click=self.save).props(
                    'unelevated dense data-testid="save-generation-defaults"'
                )

    def _number(self, label: str, key: str, step: float, suffix: str | None = None) -> ui.number:
        field = ui.number(label, step=step, suffix=suffix, placeholder="workflow").bind_value(self.state, key)
        field.props(FIELD).props("clearable").props["data-testid"] = f"defaults-{key}"
        return field

    def save(self) -> None:
        values: dict[str, Any] = {key: _whole(value) for key, value in self.state.items()}
        values["negative_prompt"] = (self.negative.value or "").strip() or None
        if values.get("variations") is None:
            values["variations"] = 1

        def run() -> None:
            read(generation_defaults.update_generation_defaults, self.user, self.project_id, **values)  # type: ignore[arg-type]  # a stored row's id is never None

        if self.errors.run(run):
            success("Saved the generation defaults")
