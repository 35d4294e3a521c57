"""A project's scenes as cards in order: drag to reorder, and each card's actions."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.events import SortableEventArguments

from app.services import clips, scenes
from app.services.scene_overview import SceneSummary, scene_summaries
from data.errors import DomainError
from data.models import User
from data.words import counted

from .confirm import confirm
from .feedback import success, user_errors
from .service_call import call, read


def format_seconds(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def open_scene_dialog(
    user: User, project_id: int, summary: SceneSummary | None = None, on_saved: Callable[[], None] | None = None
) -> None:
    """Create a scene (summary None) or rename / describe / estimate an existing one."""
    with ui.dialog() as dialog, ui.card().classes("w-[460px] gap-2"):
        ui.label("Scene" if summary else "New scene").classes("text-h6")
        name = (
            ui.input("Name", value=summary.name if summary else "").props("outlined dense autofocus").classes("w-full")
        )
        description = (
            ui.textarea("Description", value=summary.description if summary else "")
            .props("outlined dense autogrow")
            .classes("w-full")
        )
        estimate = (
            ui.number(
                "Estimated duration (seconds)",
                min=0,
                step=1,
                value=summary.estimated_duration if summary else None,
            )
            .props("outlined dense clearable")
            .classes("w-60")
        )
        error = ui.label("").classes("text-negative").props('data-testid="scene-form-error"')

        def save() -> None:
            error.set_text("")
            try:
                if summary is None:
                    read(
                        scenes.create_scene, user, project_id, name.value or "", description.value or "", estimate.value
                    )
                else:
                    read(
                        scenes.update_scene,
                        user,
                        summary.id,
                        name=name.value or "",
                        description=description.value or "",
                        estimated_duration=estimate.value,
                        clear_estimated_duration=estimate.value is None,
                    )
            except DomainError as failure:
                error.set_text(failure.message)
                return
            dialog.close()
            success("Scene saved" if summary else f"Added scene “{name.value}”")
            if on_saved:
                on_saved()

        name.on("keydown.enter", save)
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save" if summary else "Create scene", on_click=save).props('unelevated data-testid="save-scene"')
    dialog.open()


class SceneList:
    """Renders plain elements (no bindings) and rebuilds only itself when the project changes."""

    def __init__(
        self, user: User, project_id: int, on_open: Callable[[int], None], on_change: Callable[[], None] | None = None
    ) -> None:
        """on_change redraws whatever else on the page shows the scenes (figures, activity); default: the list."""
        self.user = user
        self.project_id = project_id
        self.on_open = on_open
        self.on_change = on_change or self.refresh
        self.render = ui.refreshable(self._render)
        self.render()

    def refresh(self) -> None:
        self.render.refresh()

    def _render(self) -> None:
        summaries = read(scene_summaries, self.user, self.project_id)
        with ui.row().classes("w-full items-center gap-2"):
            ui.label("Scenes").classes("text-subtitle1")
            ui.label(f"{len(summaries)}").classes("sc-muted")
            ui.space()
            ui.button("Add scene", icon="add", on_click=self._new_scene).props('outline dense data-testid="add-scene"')
        if not summaries:
            with ui.column().classes("sc-empty w-full items-center py-8 gap-1").props('data-testid="scenes-empty"'):
                ui.icon("view_timeline", size="32px").classes("sc-muted")
                ui.label("No scenes yet.").classes("text-subtitle1")
                ui.label("Break the film into scenes, then lay out each scene's clips on its timeline.").classes(
                    "sc-muted"
                )
                ui.button("Add the first scene", icon="add", on_click=self._new_scene).props("unelevated")
            return
        with ui.column().classes("w-full gap-1").props('data-testid="scene-list"') as container:
            for summary in summaries:
                self._card(summary, len(summaries))
        container.make_sortable(on_end=self._reordered, handle=".sc-drag-handle")

    def _card(self, summary: SceneSummary, count: int) -> None:
        with (
            ui.row()
            .classes("sc-card sc-row w-full items-center no-wrap gap-2 px-2 py-1 rounded")
            .props('data-testid="scene-card"') as row
        ):
            row.props["data-scene-id"] = str(summary.id)
            row.scene_id = summary.id  # type: ignore[attr-defined]  # the row carries its scene id for the reorder handler
            ui.icon("drag_indicator").classes("sc-drag-handle cursor-grab sc-muted").tooltip("Drag to reorder")
            ui.label(f"{summary.position + 1}").classes("sc-muted w-6 text-right")
            with ui.column().classes("gap-0 grow min-w-0 cursor-pointer").on("click", lambda: self.on_open(summary.id)):
                ui.label(summary.name).classes("font-medium ellipsis").props('data-testid="scene-name"')
                if summary.description:
                    ui.label(summary.description).classes("sc-muted text-xs ellipsis")
            estimate = (
                f" · est. {format_seconds(summary.estimated_duration)}"
                if summary.estimated_duration is not None
                else ""
            )
            ui.label(
                f"{counted(summary.clip_count, 'clip')} · "
                f"{format_seconds(summary.duration)}{estimate}"
            ).classes("text-xs w-52 text-right").props('data-testid="scene-meta"')
            with ui.row().classes("gap-0 no-wrap"):
                self._action("view_timeline", "Open timeline", lambda: self.on_open(summary.id), "open-timeline")
                self._action(
                    "add_box", "Add a clip at the first free position", lambda: self._add_clip(summary), "add-clip"
                )
                self._action(
                    "edit",
                    "Rename, describe, estimate",
                    lambda: open_scene_dialog(self.user, self.project_id, summary, self.on_change),
                    "edit-scene",
                )
                self._action(
                    "content_copy", "Duplicate with its clips", lambda: self._duplicate(summary), "duplicate-scene"
                )
                self._action(
                    "arrow_upward", "Move up", lambda: self._move(summary, -1), "scene-up", enabled=summary.position > 0
                )
                self._action(
                    "arrow_downward",
                    "Move down",
                    lambda: self._move(summary, 1),
                    "scene-down",
                    enabled=summary.position < count - 1,
                )
                self._action("delete", "Delete…", lambda: self._delete(summary), "delete-scene", color="red-4")

    def _new_scene(self) -> None:
        open_scene_dialog(self.user, self.project_id, on_saved=self.on_change)

    @staticmethod
    def _action(
        icon: str, tip: str, handler: Callable[[], None], testid: str, *, enabled: bool = True, color: str = "grey-5"
    ) -> None:
        button = ui.button(icon=icon, on_click=handler).props("flat dense round size=sm").tooltip(tip)
        button.props.update({"color": color, "aria-label": tip, "data-testid": testid})
        button.set_enabled(enabled)

    def _reordered(self, event: SortableEventArguments) -> None:
        ids = [child.scene_id for child in event.target.default_slot.children if hasattr(child, "scene_id")]
        call(scenes.reorder_scenes, self.user, self.project_id, ids)
        self.on_change()

    def _add_clip(self, summary: SceneSummary) -> None:
        if call(clips.create_clip, self.user, summary.id) is not None:
            success(f"Added a clip to “{summary.name}”")
            self.on_change()

    def _duplicate(self, summary: SceneSummary) -> None:
        call(scenes.duplicate_scene, self.user, summary.id)
        self.on_change()

    def _move(self, summary: SceneSummary, delta: int) -> None:
        call(scenes.move_scene, self.user, summary.id, delta)
        self.on_change()

    def _delete(self, summary: SceneSummary) -> None:
        deletion = call(scenes.scene_deletion_summary, self.user, summary.id)
        if deletion is None:
            return

        def delete() -> None:
            with user_errors():
                read(scenes.delete_scene, self.user, summary.id)
                success(f"Deleted scene “{summary.name}”")
                self.on_change()

        confirm(
            f"Delete scene “{summary.name}”?",
            f"This removes {deletion.describe()}. It cannot be undone.",
            "Delete",
            delete,
        )
