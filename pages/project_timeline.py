"""/projects/{id}/timeline: every scene end to end on one track for overview and navigation, then the analysis."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from app.services import projects
from app.services.editor_settings import update_editor_settings
from app.services.project_track import ProjectTrack, project_track
from app.services.timeline_analysis import analyse_project
from components.analysis_panel import analysis_panel
from components.export_dialog import open_export_dialog
from components.frame import frame, not_found
from components.live_updates import ProjectWatch
from components.project_overview_track import ProjectOverviewTrack
from components.scene_list import format_seconds
from components.service_call import call, read
from data.errors import NotFound
from data.models import User
from data.words import counted

RULER_CHOICES = {"seconds": "Seconds", "timecode": "Timecode", "frames": "Frames"}



def page(user: User, project_id: int) -> None:
    def load() -> tuple[str, ProjectTrack, dict[str, Any]]:
        project = read(projects.get_project, user, project_id)
        return project.name, read(project_track, user, project_id), read(analyse_project, user, project_id)

    try:
        name, track, report = load()
    except NotFound as error:
        with frame("Not found", user):
            not_found(error.message)
        return

    overview: ProjectOverviewTrack  # built below; the handlers run only after that

    def reload() -> None:
        nonlocal track, report
        try:
            _, track, report = load()
        except NotFound:
            ui.navigate.to("/projects")
            return
        summary.refresh()
        ruler.set_value(track.ruler)
        overview.show(track)
        panel.refresh()

    def set_ruler(value: str) -> None:
        if value == track.ruler:  # the select echoing a change made elsewhere (see reload)
            return
        call(update_editor_settings, user, project_id, ruler=value)
        reload()

    crumbs = [("Projects", "/projects"), (name, f"/projects/{project_id}")]
    with frame("Timeline", user, breadcrumbs=crumbs):
        with ui.row().classes("w-full items-center gap-2 no-wrap"):
            ui.label("Project timeline").classes("text-h6")

            @ui.refreshable
            def summary() -> None:
                total, target = track.seconds(track.total_frames), track.seconds(track.target_frames)
                ui.label(
                    f"{counted(len(track.scenes), 'scene')} · {counted(track.clip_count, 'clip')} · "
                    f"{format_seconds(total)} of {format_seconds(target)} target"
                ).classes("sc-muted").props('data-testid="timeline-summary"')

            summary()
            ui.space()
            ui.label("Ruler").classes("sc-muted text-xs")
            ruler = (
                ui.select(RULER_CHOICES, value=track.ruler, on_change=lambda e: set_ruler(e.value))
                .props('dense options-dense borderless data-testid="ruler-units"')
                .classes("w-28")
            )
            ui.button(icon="zoom_out", on_click=lambda: overview.zoom_out()).props(
                'flat dense size=sm aria-label="Zoom out"'
            ).tooltip("Zoom out")
            ui.button(icon="fit_screen", on_click=lambda: overview.set_zoom(1.0)).props(
                'flat dense size=sm aria-label="Whole project"'
            ).tooltip("Whole project")
            ui.button(icon="zoom_in", on_click=lambda: overview.zoom_in()).props(
                'flat dense size=sm aria-label="Zoom in"'
            ).tooltip("Zoom in")
            ui.separator().props("vertical")
            ui.button("Export", icon="ios_share", on_click=lambda: open_export_dialog(user, project_id)).props(
                'flat dense no-caps data-testid="export-open"'
            ).tooltip("Export the whole cut for an editor")
            ui.link("Dashboard", f"/projects/{project_id}").classes("text-xs")
            ui.link("Settings", f"/projects/{project_id}/settings").classes("text-xs")

        overview = ProjectOverviewTrack(track)

        @ui.refreshable
        def panel() -> None:
            analysis_panel(report, project_id)

        panel()

        ProjectWatch(project_id, reload)  # edits elsewhere (another tab, the API) redraw track and analysis
