"""Named presets of the generation settings: choose, apply, save (or overwrite) and delete, in a small bar.

The single-clip dialog and the batch dialog share it; each says how to read its current settings and how to
load a preset into its form. Presets belong to the project (generation_defaults keeps the rules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from app.services import generation_defaults
from app.services.generation_defaults import GenerationDefaults
from data.errors import DomainError
from data.models import User

from .confirm import confirm
from .feedback import success
from .generation_settings import FIELD
from .service_call import read


class PresetBar:
    """`values()` gives the settings to save (GenerationDefaults fields); `load(preset)` puts a preset's
    settings into the dialog; `error(message)` shows a refusal where the dialog shows its messages."""

    def __init__(
        self,
        user: User,
        project_id: int,
        *,
        values: Callable[[], dict[str, Any]],
        load: Callable[[GenerationDefaults], None],
        error: Callable[[str], None],
        testid: str = "preset",
    ) -> None:
        self.user, self.project_id = user, project_id
        self.values, self.load, self.error = values, load, error
        self.testid = testid
        self.presets = self._read()
        with ui.row().classes("items-center gap-1 no-wrap"):
            self.select = ui.select(self.presets, label="Preset", clearable=True).props(FIELD).classes("w-48")
            self.select.props["data-testid"] = f"{testid}-select"
            for icon, handler, name, tip in (
                ("download", self.apply, "apply", "Apply the preset to this dialog"),
                ("bookmark_add", self.ask_name, "save", "Save these settings as a preset"),
                ("delete_outline", self.delete, "delete", "Delete the preset"),
            ):
                button = ui.button(icon=icon, on_click=handler).props("flat dense").tooltip(tip)
                button.props["data-testid"] = f"{testid}-{name}"
                button.props["aria-label"] = tip

    def _read(self) -> dict[int, str]:
        found = read(generation_defaults.list_presets, self.user, self.project_id)
        return {p.id: p.name for p in found}  # type: ignore[misc]  # a stored row's id is never None

    def reload(self, chosen: int | None = None) -> None:
        self.presets = self._read()
        self.select.set_options(self.presets, value=chosen if chosen in self.presets else None)

    def apply(self) -> None:
        preset_id = self.select.value
        if preset_id is None:
            ui.notify("Choose a preset to apply.", type="warning")
            return
        try:
            loaded = read(generation_defaults.apply_preset, self.user, preset_id)
        except DomainError as error:
            self.error(error.message)
            self.reload()
            return
        self.load(loaded)
        success(f"Applied “{self.presets.get(preset_id, 'preset')}”")

    def ask_name(self) -> None:
        with ui.dialog() as ask, ui.card().classes("w-[360px] gap-2"):
            ui.label("Save as preset").classes("text-subtitle1")
            name = (
                ui.input("Preset name", value=self.presets.get(self.select.value, ""))
                .props("outlined dense autofocus")
                .classes("w-full")
            )
            name.props["data-testid"] = f"{self.testid}-name"
            overwrite = ui.checkbox("Overwrite a preset of the same name").props("dense")
            note = ui.label("").classes("text-negative text-xs")

            def save() -> None:
                try:
                    preset = read(
                        generation_defaults.save_preset,
                        self.user,
                        self.project_id,
                        name.value,
                        self.values(),
                        replace=overwrite.value,
                    )
                except DomainError as error:
                    note.set_text(error.message)
                    return
                ask.close()
                self.reload(preset.id)
                success(f"Saved preset “{preset.name}”")

            name.on("keydown.enter", save)
            with ui.row().classes("w-full justify-end gap-1"):
                ui.button("Cancel", on_click=ask.close).props("flat dense no-caps")
                confirm_button = ui.button("Save", on_click=save).props("unelevated dense no-caps")
                confirm_button.props["data-testid"] = f"{self.testid}-save-confirm"
        ask.open()

    def delete(self) -> None:
        preset_id = self.select.value
        if preset_id is None:
            ui.notify("Choose a preset to delete.", type="warning")
            return
        name = self.presets.get(preset_id, "this preset")

        def go() -> None:
            try:
                read(generation_defaults.delete_preset, self.user, preset_id)
            except DomainError as error:
                ui.notify(error.message, type="negative")
            self.reload()
            success(f"Deleted preset “{name}”")

        confirm(f"Delete the preset “{name}”?", "Only the preset goes; jobs made with it are kept.", "Delete", go)


def load_into(state: dict[str, Any], preset: GenerationDefaults) -> str:
    """A preset's settings into a form's state (LoRAs copied); returns its negative prompt for the dialog's editor."""
    data = preset.model_dump()
    for key in GenerationDefaults.model_fields:
        if key not in ("negative_prompt", "loras"):
            state[key] = data[key]
    state["loras"] = [dict(lora) for lora in data["loras"]]
    return data["negative_prompt"] or ""
