"""The selected clip's fields — label, colour, timing and both prompts — edited and saved as one undoable edit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from data.frames import frames_to_seconds
from data.models import Clip


@dataclass
class ClipDraft:
    label: str
    color: str
    start: float
    duration: float
    image_prompt: str
    video_prompt: str
    notes: str

    @classmethod
    def of(cls, clip: Clip, fps: float) -> ClipDraft:
        return cls(
            clip.label,
            clip.color,
            frames_to_seconds(clip.start_frame, fps),
            frames_to_seconds(clip.duration_frames, fps),
            clip.image_prompt,
            clip.video_prompt,
            clip.notes,
        )


class ClipForm:
    """The inspector's unsaved state, so an action that reads the stored clip (Generate) can save it first."""

    def __init__(self, clip: Clip, fps: float, on_save: Callable[[dict[str, Any]], bool | None]) -> None:
        self.original = ClipDraft.of(clip, fps)
        self.draft = ClipDraft.of(clip, fps)
        self.on_save = on_save

    def changes(self) -> dict[str, Any]:
        """Only fields that changed are sent, so a prompt edit never nudges the clip's timing."""
        return {key: value for key, value in vars(self.draft).items() if value != getattr(self.original, key)}

    @property
    def dirty(self) -> bool:
        return bool(self.changes())

    def save(self) -> bool:
        """True when nothing needed saving or the save went through."""
        changes = self.changes()
        if not changes:
            return True
        return self.on_save(changes) is not False


def clip_inspector(clip: Clip, fps: float, on_save: Callable[[dict[str, Any]], bool | None]) -> ClipForm:
    """`on_save` gets only the changed fields and returns False when the save was refused."""
    form = ClipForm(clip, fps, on_save)
    draft = form.draft

    def save() -> None:
        form.save()

    with ui.column().classes("w-full gap-2").props('data-testid="clip-inspector"'):
        with ui.row().classes("w-full items-center gap-2 no-wrap"):
            ui.input("Label").bind_value(draft, "label").props("outlined dense").classes("grow")
            ui.color_input("Colour").bind_value(draft, "color").props("outlined dense").classes("w-36")
            ui.number("Start (s)", min=0, step=0.5, format="%.3f").bind_value(
                draft, "start", forward=lambda v: float(v or 0)
            ).props("outlined dense").classes("w-28")
            ui.number("Duration (s)", min=0.001, step=0.5, format="%.3f").bind_value(
                draft, "duration", forward=lambda v: float(v or 0)
            ).props("outlined dense").classes("w-28")
        with ui.row().classes("w-full gap-2 no-wrap"):
            ui.textarea("Image prompt").bind_value(draft, "image_prompt").props(
                'outlined dense autogrow data-testid="image-prompt"'
            ).classes("w-1/2")
            ui.textarea("Video prompt").bind_value(draft, "video_prompt").props(
                'outlined dense autogrow data-testid="video-prompt"'
            ).classes("w-1/2")
        with ui.row().classes("w-full items-start gap-2 no-wrap"):
            ui.textarea("Notes").bind_value(draft, "notes").props("outlined dense autogrow").classes("grow")
            ui.button("Save clip", icon="save", on_click=save).props('unelevated data-testid="save-clip"').tooltip(
                "Save (Ctrl+Enter)"
            )
        ui.keyboard(lambda e: save() if e.action.keydown and e.key == "Enter" and e.modifiers.ctrl else None)
    return form
