"""/projects/{id}: a project's figures and recent activity; later issues add scenes and the timeline."""

from __future__ import annotations

from nicegui import ui
from nicegui.events import KeyEventArguments

from app.services import projects
from components.a11y import name_dialog
from components.batch_dialog import BatchDialog
from components.confirm import confirm
from components.export_dialog import open_export_dialog
from components.feedback import success
from components.frame import frame, not_found
from components.live_updates import ProjectWatch
from components.project_form import open_project_dialog
from components.scene_list import SceneList
from components.service_call import call, read
from data.errors import NotFound
from data.models import Project, User


def open_batch_dialog(user: User, project_id: int) -> None:
    """The batch dialog with the clips that have no result yet ticked, named for screen readers."""
    name_dialog(BatchDialog(user, project_id, preselect="without_result").dialog, "Generate as a batch")

def page(user: User, project_id: int) -> None:
    try:
        project = read(projects.get_project, user, project_id)
    except NotFound as error:
        with frame("Not found", user):
            not_found(error.message)
        return

    def reload_project() -> Project | None:
        try:
            return read(projects.get_project, user, project_id)
        except NotFound:
            return None

    def on_saved(saved: Project) -> None:
        success(f"Saved “{saved.name}”")
        header.refresh()
        activity.refresh()

    def toggle_archive() -> None:
        current = reload_project()
        if current is None:
            return
        if call(projects.set_archived, user, [project_id], not current.archived):
            success("Archived" if not current.archived else "Restored")
            header.refresh()
            activity.refresh()

    def duplicate() -> None:
        copy = call(projects.duplicate_project, user, project_id)
        if copy:
            ui.navigate.to(f"/projects/{copy.id}")

    def delete() -> None:
        summary = call(projects.deletion_summary, user, [project_id])
        if summary is None:
            return
        described = summary.describe()

        def run() -> None:
            call(projects.delete_project, user, project_id)
            ui.navigate.to("/projects")

        confirm(f"Delete “{project.name}”?", f"This removes {described}. It cannot be undone.", "Delete", run)

    with frame(project.name, user, breadcrumbs=[("Projects", "/projects")]) as title:

        @ui.refreshable
        def header() -> None:
            current = reload_project()
            if current is None:
                not_found("This project was deleted.")
                return
            title.set(current.name)
            with ui.row().classes("w-full items-start gap-4"):
                with ui.column().classes("gap-1 grow"):
                    with ui.row().classes("items-center gap-2"):
                        ui.label(current.name).classes("text-h5").props('data-testid="project-title"')
                        if current.archived:
                            ui.badge("archived", color="grey-7").props('data-testid="archived-badge"')
                    ui.label(current.description or "No description yet.").classes("sc-muted")
                    with ui.row().classes("gap-1"):
                        for tag in current.tags or []:
                            ui.badge(tag, color="blue-grey-8").classes("sc-tag")
                with ui.row().classes("gap-1"):
                    ui.button(
                        "Generate all",
                        icon="auto_awesome_motion",
                        on_click=lambda: open_batch_dialog(user, project_id),
                    ).props('flat dense data-testid="generate-all"').tooltip(
                        "Generate every clip without a result as one batch, choose others too (G)"
                    )
                    ui.button(
                        "Export",
                        icon="ios_share",
                        on_click=lambda: open_export_dialog(user, project_id),
                    ).props('flat dense data-testid="export-open"').tooltip(
                        "Final Cut Pro, Premiere, Resolve, AAF, OpenTimelineIO or JSON (E)"
                    )
                    ui.button(
                        "Timeline",
                        icon="view_timeline",
                        on_click=lambda: ui.navigate.to(f"/projects/{project_id}/timeline"),
                    ).props('flat dense data-testid="project-timeline-link"').tooltip(
                        "All scenes end to end, with the timeline analysis"
                    )
                    ui.button(
                        "Settings", icon="settings", on_click=lambda: ui.navigate.to(f"/projects/{project_id}/settings")
                    ).props('flat dense data-testid="project-settings-link"').tooltip(
                        "Frame rate, resolution, editor settings"
                    )
                    ui.button("Edit", icon="edit", on_click=lambda: open_project_dialog(user, current, on_saved)).props(
                        'flat dense data-testid="edit-project"'
                    ).tooltip("Edit the title, description, format and tags")
                    ui.button(
                        "Restore" if current.archived else "Archive",
                        icon="unarchive" if current.archived else "archive",
                        on_click=toggle_archive,
                    ).props('flat dense data-testid="archive-project"')
                    ui.button("Duplicate", icon="content_copy", on_click=duplicate).props("flat dense")
                    ui.button("Delete…", icon="delete", on_click=delete).props("flat dense color=negative")
            stats = _stats(current)
            with ui.row().classes("w-full gap-3 items-stretch"):
                _stat("Scenes", str(stats.scenes), "stat-scenes")
                _stat("Clips", str(stats.clips), "stat-clips")
                _stat("Generated", str(stats.generated_items), "stat-generated")
                with ui.card().classes("sc-stat p-3 gap-1"):
                    ui.label("Completion").classes("sc-muted text-xs")
                    ui.label(f"{stats.completion_percent:g}%").classes("text-h6").props('data-testid="stat-completion"')
                    ui.linear_progress(stats.completion_percent / 100, show_value=False).props(
                        'rounded aria-label="Clips with a result"'
                    )
                    ui.label(f"{stats.clips_with_selection} of {stats.clips} clips have a chosen result").classes(
                        "sc-muted text-xs"
                    )
                minutes, seconds = divmod(int(current.target_duration), 60)
                _stat(
                    "Format",
                    f"{current.width}×{current.height} · {current.fps:g} fps",
                    "stat-format",
                    f"target {minutes}:{seconds:02d}",
                )

        def _stats(current: Project) -> projects.ProjectStats:
            return read(projects.project_stats, user, current.id)  # type: ignore[arg-type]  # a stored row's id is never None

        header()
        scene_list = SceneList(
            user, project_id, lambda scene_id: ui.navigate.to(f"/scenes/{scene_id}"), on_change=lambda: changed()
        )

        ui.label("Recent activity").classes("text-subtitle1 mt-2")

        @ui.refreshable
        def activity() -> None:
            try:
                entries = read(projects.recent_activity, user, project_id)
            except NotFound:
                return
            with ui.column().classes("w-full gap-0").props('data-testid="activity"'):
                if not entries:
                    ui.label("Nothing yet.").classes("sc-muted")
                for entry in entries:
                    with ui.row().classes("w-full gap-3 py-1 border-b border-gray-800"):
                        ui.label(f"{entry.created_at:%Y-%m-%d %H:%M}").classes("sc-muted text-xs w-32")
                        ui.label(entry.message)

        activity()

        def changed() -> None:
            header.refresh()
            scene_list.refresh()
            activity.refresh()

        ProjectWatch(project_id, changed)

        shortcuts = {
            "g": lambda: open_batch_dialog(user, project_id),
            "e": lambda: open_export_dialog(user, project_id),
        }

        def on_key(e: KeyEventArguments) -> None:
            action = shortcuts.get(str(e.key).lower())
            if action is None or not e.action.keydown or e.action.repeat or any(e.modifiers):
                return
            # Not while a dialog is open: its own fields and buttons own the keyboard then.
            if not any(isinstance(el, ui.dialog) and el.value for el in ui.context.client.layout.descendants()):
                action()

        ui.keyboard(on_key, ignore=["input", "select", "button", "textarea"])


def _stat(title: str, value: str, testid: str, note: str = "") -> None:
    with ui.card().classes("sc-stat p-3 gap-1"):
        ui.label(title).classes("sc-muted text-xs")
        ui.label(value).classes("text-h6").props["data-testid"] = testid
        if note:
            ui.label(note).classes("sc-muted text-xs")
