"""The export dialog: choose a format and its options, see the structure the file will hold, then download it
(or copy a text format to the clipboard).

Everything goes through app.services.exports, like the REST API, so the preview, the warnings and the file
agree. Writing runs in a worker thread: a big project's AAF takes a while and must not freeze other tabs.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from app.services import exports, projects, scenes
from app.services.exports import FORMAT_LABELS, FRAME_RATE_CHOICES, TEXT_FORMATS
from data.models import User
from data.words import counted

from .feedback import success, user_errors
from .service_call import read, read_off_loop

PREVIEW_ITEMS = 200
MEDIA_PATH_LABELS = {
    "absolute": "Absolute file paths (this server's disk)",
    "relative": "Relative paths (media/…)",
    "package": "Package: one zip with the media",
}
ITEM_ICONS = {"clip": "movie", "placeholder": "help_outline", "gap": "space_bar"}



def _frame_rate_label(fps: float) -> str:
    return next((label for label in FRAME_RATE_CHOICES if abs(float(label) - fps) < 0.005), "24")


class ExportDialog:
    """One dialog per opening, on a project; a scene or some clips can be the starting scope."""

    def __init__(
        self, user: User, project_id: int, *, scene_id: int | None = None, clip_ids: list[int] | None = None
    ) -> None:
        self.user, self.project_id, self.clip_ids = user, project_id, list(clip_ids or [])
        project = read(projects.get_project, user, project_id)
        self.scene_names = {scene.id: scene.name for scene in read(scenes.list_scenes, user, project_id)}
        self.project_name = project.name
        self.state: dict[str, Any] = {
            "format": "fcpxml",
            "scope": f"scene:{scene_id}" if scene_id else ("clips" if self.clip_ids else "project"),
            "frame_rate": _frame_rate_label(project.fps),
            "width": project.width,
            "height": project.height,
            "codec_hint": "",
            "start_timecode": "01:00:00:00",
            "drop_frame": False,
            "include_metadata": True,
            "media_paths": "absolute",
        }
        self.ready = False  # bindings fire change events while the form is being built
        self.dialog = ui.dialog().props('aria-label="Export for an editor"')
        self._build()
        self.ready = True
        self.dialog.open()
        self.refresh_preview()

    # --- options → the service's options -------------------------------------------------------------

    def options(self) -> exports.ExportOptions:
        state = self.state
        scope: dict[str, Any] | None = None
        if state["scope"].startswith("scene:"):
            scope = {"scene_id": int(state["scope"].split(":", 1)[1])}
        elif state["scope"] == "clips":
            scope = {"clip_ids": self.clip_ids}
        return exports.parse_options(
            format=state["format"],
            scope=scope,
            frame_rate=state["frame_rate"],
            width=int(state["width"]) if state["width"] else None,
            height=int(state["height"]) if state["height"] else None,
            codec_hint=state["codec_hint"] or "",
            start_timecode=state["start_timecode"] or None,
            drop_frame=bool(state["drop_frame"]),
            include_metadata=bool(state["include_metadata"]),
            media_paths=state["media_paths"],
        )

    # --- layout ---------------------------------------------------------------------------------------

    def _scope_choices(self) -> dict[str, str]:
        choices = {"project": "Whole project"}
        choices.update({f"scene:{sid}": f"Scene: {name}" for sid, name in self.scene_names.items()})
        if self.clip_ids:
            count = len(self.clip_ids)
            choices["clips"] = f"Selected clip{'s' if count != 1 else ''} ({count})"
        return choices

    def _build(self) -> None:
        state = self.state
        with self.dialog, ui.card().classes("w-[980px] max-w-[95vw] gap-2").props('data-testid="export-dialog"'):
            ui.label(f"Export · {self.project_name}").classes("text-h6")
            with ui.row().classes("w-full gap-4 no-wrap items-start"):
                with ui.column().classes("w-[360px] gap-1 shrink-0"):
                    ui.select(FORMAT_LABELS, label="Format", on_change=self._changed).bind_value(
                        state, "format"
                    ).classes("w-full").props('dense data-testid="export-format"')
                    ui.select(self._scope_choices(), label="What to export", on_change=self._changed).bind_value(
                        state, "scope"
                    ).classes("w-full").props("dense")
                    with ui.row().classes("w-full gap-2 no-wrap"):
                        ui.select(list(FRAME_RATE_CHOICES), label="Frame rate", on_change=self._changed).bind_value(
                            state, "frame_rate"
                        ).classes("w-28").props("dense")
                        ui.number("Width", min=16, max=16384, step=1, on_change=self._changed).bind_value(
                            state, "width"
                        ).classes("w-24").props("dense")
                        ui.number("Height", min=16, max=16384, step=1, on_change=self._changed).bind_value(
                            state, "height"
                        ).classes("w-24").props("dense")
                    with ui.row().classes("w-full gap-2 no-wrap"):
                        ui.input("Start timecode", on_change=self._changed).bind_value(state, "start_timecode").classes(
                            "w-36"
                        ).props('dense data-testid="export-start"')
                        ui.input("Codec hint", placeholder="e.g. ProRes 422").bind_value(state, "codec_hint").classes(
                            "grow"
                        ).props("dense")
                    ui.switch("Drop-frame timecode (29.97 / 59.94)", on_change=self._changed).bind_value(
                        state, "drop_frame"
                    ).props("dense")
                    ui.switch("Include prompts and parameters", on_change=self._changed).bind_value(
                        state, "include_metadata"
                    ).props("dense")
                    ui.radio(MEDIA_PATH_LABELS, on_change=self._changed).bind_value(state, "media_paths").props("dense")
                with ui.column().classes("grow gap-1 min-w-0"):
                    self.preview_box = ui.column().classes("w-full gap-1").props('data-testid="export-preview"')
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Close", on_click=self.dialog.close).props("flat no-caps")
                self.copy_button = ui.button("Copy to clipboard", icon="content_copy", on_click=self.copy).props(
                    'flat no-caps data-testid="export-copy"'
                )
                self.copy_button.tooltip("Text formats without a package (AAF and zips download only)")
                ui.button("Download", icon="download", on_click=self.download).props(
                    'unelevated no-caps color=primary data-testid="export-download"'
                )
        self._update_copy()

    def _changed(self, _event: Any = None) -> None:
        if not self.ready:
            return
        self._update_copy()
        self.refresh_preview()

    def _update_copy(self) -> None:
        text = self.state["format"] in TEXT_FORMATS and self.state["media_paths"] != "package"
        self.copy_button.set_enabled(text)

    # --- preview --------------------------------------------------------------------------------------

    def _preview(self) -> dict[str, Any]:
        return read(exports.preview, self.user, self.project_id, self.options(), item_limit=PREVIEW_ITEMS)

    def refresh_preview(self) -> None:
        self.preview_box.clear()
        with self.preview_box:
            shown: dict[str, Any] | None = None
            with user_errors():
                shown = self._preview()
            if shown is None:
                ui.label("Change the options above: the export cannot be made as they are.").classes("text-warning")
                return
            self._draw(shown)

    def _draw(self, shown: dict[str, Any]) -> None:
        counts = shown["counts"]
        ui.label(
            f"{shown['label']} · {shown['frame_rate']} fps{' DF' if shown['drop_frame'] else ''} · "
            f"{shown['width']}×{shown['height']} · {shown['start_timecode']} → {shown['end_timecode']} "
            f"({shown['duration']:g} s)"
        ).classes("text-sm").props('data-testid="export-summary"')
        ui.label(
            f"{counts['clips']} clips ({counts['videos']} videos, {counts['stills']} stills, "
            f"{counts['placeholders']} without media) · {counted(counts['gaps'], 'gap')} · "
            f"{counted(counts['files'], 'file')}"
        ).classes("text-xs opacity-70")
        if not counts["clips"]:
            ui.label("Nothing to export yet: add clips to the timeline first.").classes("text-sm opacity-70")
        for track in shown["tracks"]:
            ui.label(f"{track['name']} · {track['kind']}").classes("text-xs font-medium mt-1")
            with ui.column().classes("w-full gap-0 max-h-48 overflow-auto border rounded py-1"):
                for item in track["items"]:
                    self._item_row(item)
                if shown.get("truncated") and track["kind"] == "video":
                    ui.label(f"… the first {PREVIEW_ITEMS} items are shown").classes("text-xs opacity-60")
        if shown["warnings"]:
            with ui.column().classes("w-full gap-0 mt-1").props('data-testid="export-warnings"'):
                for warning in shown["warnings"]:
                    with ui.row().classes("gap-1 no-wrap items-start"):
                        ui.icon("warning", size="xs").classes("text-warning mt-[2px]")
                        ui.label(warning).classes("text-xs")

    def _item_row(self, item: dict[str, Any]) -> None:
        kind = item["type"]
        with ui.row().classes("w-full gap-2 no-wrap items-center text-xs font-mono px-1"):
            ui.icon(ITEM_ICONS.get(kind, "music_note"), size="xs").classes(
                "text-warning" if kind == "placeholder" else "opacity-70"
            )
            if kind == "music":
                ui.label(f"Music · {item['file']}")
                return
            ui.label(f"{item['record_in']} → {item['record_out']}").classes("shrink-0")
            ui.label(f"{item['duration']} fr").classes("w-16 text-right shrink-0")
            name = "gap" if kind == "gap" else item["name"]
            detail = "" if kind != "clip" else f" · {item['media']} · {item['file']}"
            ui.label(name + detail).classes("truncate opacity-60" if kind == "gap" else "truncate")

    # --- writing --------------------------------------------------------------------------------------

    async def _written(self) -> exports.ExportFile | None:
        with user_errors():
            options = self.options()
            notification = ui.notification("Writing the export…", spinner=True, timeout=None)
            try:
                return await read_off_loop(exports.export_project, self.user, self.project_id, options)
            finally:
                notification.dismiss()
        return None

    async def download(self) -> None:
        exported = await self._written()
        if exported is None:
            return
        ui.download.content(exported.content, exported.filename, exported.media_type)
        success(
            f"Exported {exported.filename}"
            + (f" with {counted(len(exported.warnings), 'warning')}" if exported.warnings else "")
        )

    async def copy(self) -> None:
        exported = await self._written()
        if exported is None:
            return
        if not exported.is_text:
            ui.notify("This export is a binary file: download it instead.", type="warning", position="top")
            return
        ui.clipboard.write(exported.content.decode("utf-8"))
        success(f"Copied {exported.filename} to the clipboard")


def open_export_dialog(
    user: User, project_id: int, *, scene_id: int | None = None, clip_ids: list[int] | None = None
) -> ExportDialog | None:
    """Opens the dialog; a project the user may not see shows the usual message instead."""
    with user_errors():
        return ExportDialog(user, project_id, scene_id=scene_id, clip_ids=clip_ids)
    return None
