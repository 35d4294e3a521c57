"""A project in the projects grid or list, with its quick-actions menu and a selection box."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nicegui import ui

from data.models import Project


@dataclass
class ProjectActions:
    open: Callable[[Project], None]
    edit: Callable[[Project], None]
    duplicate: Callable[[Project], None]
    archive: Callable[[Project], None]
    delete: Callable[[Project], None]
    toggle_selected: Callable[[Project, bool], None]


def _menu(project: Project, actions: ProjectActions) -> None:
    button = ui.button(icon="more_vert").props('flat dense round size=sm data-testid="project-menu"')
    button.props["aria-label"] = f"Actions for {project.name}"  # a dict item: the name is a value, never parsed
    with button.on("click.stop", lambda: None), ui.menu():
        ui.menu_item("Open", lambda: actions.open(project)).props("dense")
        ui.menu_item("Settings…", lambda: actions.edit(project)).props("dense")
        ui.menu_item("Duplicate", lambda: actions.duplicate(project)).props("dense")
        ui.menu_item("Restore" if project.archived else "Archive", lambda: actions.archive(project)).props("dense")
        ui.separator()
        ui.menu_item("Delete…", lambda: actions.delete(project)).props("dense").classes("text-negative")


def _meta(project: Project) -> str:
    minutes, seconds = divmod(int(project.target_duration), 60)
    return f"{project.width}×{project.height} · {project.fps:g} fps · {minutes}:{seconds:02d}"


def _identify(element: ui.element, project: Project) -> None:
    element.props["data-testid"] = "project-card"
    element.props["data-project-id"] = str(project.id)


def project_card(project: Project, selected: bool, actions: ProjectActions) -> None:
    card = ui.card().classes("sc-card cursor-pointer w-64 gap-1 p-3").classes("sc-selected" if selected else None)
    _identify(card, project)
    with card.on("click", lambda: actions.open(project)):
        with ui.row().classes("w-full items-center no-wrap gap-1"):
            box = ui.checkbox(value=selected, on_change=lambda e: actions.toggle_selected(project, e.value))
            box.props("dense")
            box.props["aria-label"] = f"Select {project.name}"  # a value: the name is user text
            box.on("click.stop", lambda: None)
            ui.label(project.name).classes("text-subtitle1 grow ellipsis").props('data-testid="project-name"').tooltip(
                project.name
            )
            _menu(project, actions)
        ui.label(project.description or "No description").classes("sc-muted ellipsis-2-lines text-xs h-8 break-words")
        ui.label(_meta(project)).classes("text-xs")
        with ui.row().classes("gap-1 items-center"):
            if project.archived:
                ui.badge("archived", color="grey-7").classes("sc-tag")
            for tag in project.tags or []:
                ui.badge(tag, color="blue-grey-8").classes("sc-tag")
        ui.label(f"Updated {project.updated_at:%Y-%m-%d %H:%M}").classes("sc-muted text-xs")


def project_row(project: Project, selected: bool, actions: ProjectActions) -> None:
    row = ui.row().classes("sc-card w-full items-center no-wrap gap-3 px-2 py-1 rounded cursor-pointer")
    row.classes("sc-selected" if selected else None)
    _identify(row, project)
    row.on("click", lambda: actions.open(project))
    with row:
        box = ui.checkbox(value=selected, on_change=lambda e: actions.toggle_selected(project, e.value)).props("dense")
        box.props["aria-label"] = f"Select {project.name}"  # a value: the name is user text
        box.on("click.stop", lambda: None)
        ui.label(project.name).classes("w-64 ellipsis font-medium").props('data-testid="project-name"')
        ui.label(_meta(project)).classes("w-56 text-xs")
        with ui.row().classes("gap-1 grow"):
            if project.archived:
                ui.badge("archived", color="grey-7").classes("sc-tag")
            for tag in project.tags or []:
                ui.badge(tag, color="blue-grey-8").classes("sc-tag")
        ui.label(f"{project.updated_at:%Y-%m-%d %H:%M}").classes("sc-muted text-xs w-32")
        _menu(project, actions)
