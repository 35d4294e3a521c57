"""The compact Generate form of the clip inspector: what to make, with which model, how many, and the button."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nicegui import ui

from app.services import server_catalog
from app.services.workflow_models import ModelChoices

from . import service_call

MODES: dict[str, str] = {"image": "Image", "video": "Video from selected image", "both": "Both"}
MAX_VARIATIONS = 8


@dataclass
class GenerateChoice:
    """What the form holds; kept by the page so a redrawn inspector shows the same choices."""

    mode: str = "image"
    checkpoint: str | None = None
    variations: int = 1
    seed: int | None = None
    # False while the mode's workflow loads no model of the person's choosing: none is sent.
    loads_model: bool = True

    def request_values(self) -> dict[str, object]:
        """The fields of a generation request this form decides (prompts come from the clip)."""
        return {
            "mode": self.mode,
            "checkpoint": (self.checkpoint or None) if self.loads_model else None,
            "variations": int(self.variations or 1),
            "seed": None if self.seed in (None, "") else int(self.seed),
        }


def no_models_text() -> str:
    """Why there is no model to choose: no server yet, every server off, or no catalog read."""
    return service_call.read(server_catalog.no_models_message)


def checkpoint_options(models: Mapping[str, list[str]]) -> dict[str, str]:
    """File name → "file · on server A, server B", so a person sees where a model can run."""
    return {name: f"{name} · {', '.join(servers)}" if servers else name for name, servers in models.items()}


def generate_panel(
    choice: GenerateChoice,
    models_for: Callable[[str], ModelChoices],
    on_generate: Callable[[], None],
    prompt_warning: Callable[[str], str | None] = lambda _mode: None,
) -> None:
    """The form binds to `choice`; `models_for(mode)` says what the mode's workflow can load, and the Model field
    follows the mode (the image-to-video loader's files in video mode); a missing or vanished model falls back to
    the first one offered. `prompt_warning(mode)` names what is wrong with the clip's prompt for that mode."""
    with ui.column().classes("w-full gap-1").props('data-testid="generate-panel"'):
        toggle = ui.toggle(MODES).bind_value(choice, "mode")
        toggle.props(
            'dense no-caps outline toggle-color=primary data-testid="generate-mode"'
        ).classes("text-xs")
        with ui.row().classes("items-center gap-1 text-xs").props('data-testid="generate-no-models"') as note_row:
            ui.icon("info", size="xs").classes("sc-muted")
            note = ui.label("").classes("sc-muted")
            servers_link = ui.link("Servers", "/servers").classes("text-xs")
        model = ui.select({}, label="Model").bind_value(choice, "checkpoint")
        model.props('dense outlined options-dense data-testid="generate-checkpoint"').classes("w-full")
        with ui.row().classes("w-full items-center gap-2 no-wrap"):
            ui.number("Variations", min=1, max=MAX_VARIATIONS, step=1, format="%d").bind_value(
                choice, "variations", forward=lambda v: max(1, min(MAX_VARIATIONS, int(v or 1)))
            ).props('dense outlined data-testid="generate-variations"').classes("w-24")
            ui.number("Seed", min=0, step=1, format="%d", placeholder="random").bind_value(
                choice, "seed", forward=lambda v: None if v in (None, "") else max(0, int(v))
            ).props('dense outlined clearable data-testid="generate-seed"').classes("w-32").tooltip(
                "Empty: a random seed per variation; a number counts up per variation"
            )
            ui.space()
            button = ui.button("Generate", icon="auto_awesome", on_click=on_generate).props(
                'unelevated dense no-caps data-testid="generate"'
            )
            button.classes("px-3").tooltip("Generate for this clip (G on the timeline)")
        with ui.row().classes("w-full items-center gap-1 no-wrap text-xs text-warning") as warning_row:
            ui.icon("warning", size="xs")
            warning = ui.label("").props('data-testid="generate-prompt-warning"')

        def show_models(mode: str) -> None:
            offered = models_for(mode)
            options = checkpoint_options(offered.models)
            choice.loads_model = offered.loads_model
            if choice.checkpoint not in options:
                choice.checkpoint = next(iter(options), None)
            searchable = len(options) > 8  # a search field only where the list is long
            for flag in ("use-input", "hide-selected", "fill-input"):
                model.props[flag] = searchable
            model.set_options(options, value=choice.checkpoint)
            model.set_visibility(bool(options))
            note.set_text(offered.note or "")
            note_row.set_visibility(bool(offered.note))
            servers_link.set_visibility(offered.loads_model)
            button.set_enabled(bool(options) or not offered.loads_model)

        def show_warning(mode: str) -> None:
            text = prompt_warning(mode)
            warning.set_text(text or "")
            warning_row.set_visibility(bool(text))

        def mode_changed(mode: str) -> None:
            show_models(mode)
            show_warning(mode)

        mode_changed(choice.mode)
        toggle.on_value_change(lambda event: mode_changed(event.value))
