"""The project settings form (create and edit), bound to the fields of the project it edits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nicegui import ui

from app.services import projects
from data.errors import DomainError
from data.models import FRAME_RATES, Project, User

from .field_errors import FieldErrors
from .service_call import read

RESOLUTION_PRESETS = {
    "1920×1080 (HD)": (1920, 1080),
    "3840×2160 (UHD)": (3840, 2160),
    "1280×720": (1280, 720),
    "1080×1920 (vertical)": (1080, 1920),
    "1024×1024 (square)": (1024, 1024),
    "2048×858 (scope)": (2048, 858),
}


@dataclass
class ProjectDraft:
    """What the form edits; saved through the service, which validates it once for UI and API."""

    name: str = ""
    description: str = ""
    fps: float = 24.0
    width: int = 1920
    height: int = 1080
    target_duration: float = 60.0
    tags: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, project: Project) -> ProjectDraft:
        return cls(
            project.name,
            project.description,
            project.fps,
            project.width,
            project.height,
            project.target_duration,
            list(project.tags or []),
        )


def open_project_dialog(user: User, project: Project | None, on_saved: Callable[[Project], None]) -> None:
    """Create when project is None, otherwise edit it. Nothing is saved until the whole form is valid."""
    draft = ProjectDraft.of(project) if project else ProjectDraft()
    with ui.dialog() as dialog, ui.card().classes("w-[520px] gap-2"):
        ui.label("Project settings" if project else "New project").classes("text-h6")
        name = ui.input("Name").bind_value(draft, "name").props("outlined dense autofocus").classes("w-full")
        ui.textarea("Description").bind_value(draft, "description").props("outlined dense autogrow").classes("w-full")
        with ui.row().classes("w-full gap-2 no-wrap"):
            ui.select({r: f"{r:g} fps" for r in FRAME_RATES}, label="Frame rate").bind_value(draft, "fps").props(
                "outlined dense"
            ).classes("w-32")
            width = (
                ui.number("Width", min=64, max=8192, step=2, format="%d")
                .bind_value(draft, "width", forward=lambda v: int(v or 0))
                .props("outlined dense")
                .classes("w-24")
            )
            height = (
                ui.number("Height", min=64, max=8192, step=2, format="%d")
                .bind_value(draft, "height", forward=lambda v: int(v or 0))
                .props("outlined dense")
                .classes("w-24")
            )

            def preset(choice: str) -> None:
                draft.width, draft.height = RESOLUTION_PRESETS[choice]

            presets_button = ui.button(icon="aspect_ratio").props('flat dense aria-label="Resolution presets"')
            with presets_button.tooltip("Resolution presets"), ui.menu():
                for label in RESOLUTION_PRESETS:
                    ui.menu_item(label, lambda label=label: preset(label))
        with ui.row().classes("w-full gap-2 no-wrap items-center"):
            ui.number("Target duration (seconds)", min=0.1, step=1).bind_value(
                draft, "target_duration", forward=lambda v: float(v or 0)
            ).props("outlined dense").classes("w-48")
            ui.input_chips("Tags", new_value_mode="add-unique").bind_value(draft, "tags").props(
                "outlined dense"
            ).classes("grow")
        error = ui.label("").classes("text-negative").props('data-testid="form-error"')
        errors = FieldErrors({"name": name, "width": width, "height": height}, error)

        def save() -> None:
            errors.clear()
            values = vars(draft).copy()
            try:
                if project is None:
                    saved = read(projects.create_project, user, projects.parse_create(**values))
                else:
                    saved = read(
                        projects.update_project,
                        user,
                        project.id,  # type: ignore[arg-type]  # a stored row's id is never None
                        projects.parse_update(**values),
                    )
            except DomainError as failure:
                errors.show(failure)
                return
            dialog.close()
            on_saved(saved)

        name.on("keydown.enter", save)
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Create project" if project is None else "Save", on_click=save).props(
                'unelevated data-testid="save-project"'
            )
    dialog.open()
