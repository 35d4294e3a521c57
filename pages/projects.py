"""/projects: every project of the user, as a grid or a list, with search, tags, sorting and bulk actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi.responses import RedirectResponse
from nicegui import app, ui

from app.services import projects
from app.services.unreadable_rows import UnreadableRow, shown_name
from components.confirm import confirm
from components.feedback import success
from components.frame import frame
from components.live_updates import ProjectWatch
from components.project_card import ProjectActions, project_card, project_row
from components.project_form import open_project_dialog
from components.project_import import open_project_import
from components.row_guard import guarded, unreadable_row
from components.service_call import call, read
from data.models import Project, User
from data.words import counted


def index(user: User) -> RedirectResponse:
    return RedirectResponse("/projects", status_code=303)


@dataclass
class ListState:
    text: str = ""
    tag: str | None = None
    sort: str = "updated"
    archived: str = "active"
    view: str = "grid"
    selected: set[int] = field(default_factory=set)


def page(user: User) -> None:
    prefs = app.storage.user.setdefault("projects_view", {})
    state = ListState(view=prefs.get("view", "grid"), sort=prefs.get("sort", "updated"))

    def remember() -> None:
        prefs.update(view=state.view, sort=state.sort)

    def open_project(project: Project) -> None:
        ui.navigate.to(f"/projects/{project.id}")

    def after_save(project: Project) -> None:
        success(f"Saved “{project.name}”")
        listing.refresh()

    def edit(project: Project) -> None:
        open_project_dialog(user, project, after_save)

    def duplicate(project: Project) -> None:
        copy = call(projects.duplicate_project, user, project.id)  # type: ignore[arg-type]  # a stored row's id is never None
        if copy:
            success(f"Duplicated as “{copy.name}”")
            listing.refresh()

    def set_archived(ids: list[int], archived: bool) -> None:
        count = call(projects.set_archived, user, ids, archived)
        if count:
            state.selected -= set(ids)
            verb = "Archived" if archived else "Restored"
            success(f"{verb} {counted(count, 'project')}")
            listing.refresh()

    def archive(project: Project) -> None:
        set_archived([project.id], not project.archived)  # type: ignore[list-item]  # a stored row's id is never None

    def delete(ids: list[int]) -> None:
        summary = call(projects.deletion_summary, user, ids)
        first = call(projects.get_project, user, ids[0]) if summary else None
        if summary is None or first is None:
            return
        described = summary.describe()
        title = f"Delete “{first.name}”?" if len(ids) == 1 else f"Delete {len(ids)} projects?"

        def run() -> None:
            count = call(projects.delete_projects, user, ids)
            if count:
                state.selected -= set(ids)
                success(f"Deleted {counted(count, 'project')}")
                listing.refresh()

        confirm(title, f"This removes {described}. It cannot be undone.", "Delete", run)

    def delete_unreadable(project_id: int) -> None:
        """A project that cannot be shown cannot be summarised either: the confirmation says so."""

        def run() -> None:
            if call(projects.delete_projects, user, [project_id]):
                state.selected.discard(project_id)
                success(f"Deleted project {project_id}")
                listing.refresh()

        confirm(
            f"Delete project {project_id}?",
            "This removes the project that could not be shown, with its scenes, clips and generated results. "
            "It cannot be undone.",
            "Delete",
            run,
        )

    def show(project: Project, card: bool) -> None:
        """One project on its own: one that fails to build is an error card, the others still show."""
        build = project_card if card else project_row
        guarded(
            lambda: build(project, project.id in state.selected, actions),
            lambda reason: unreadable_row(
                "project",
                project.id,  # type: ignore[arg-type]  # a stored row's id is never None
                reason,
                name=shown_name(project.name),
                on_delete=lambda: delete_unreadable(project.id),  # type: ignore[arg-type]  # a stored row's id is never None
                card=card,
            ),
            f"project {project.id}",
        )

    def show_unreadable(row: UnreadableRow, card: bool) -> None:
        unreadable_row(
            "project", row.id, row.reason, name=row.name, on_delete=lambda: delete_unreadable(row.id), card=card
        )

    def toggle(project: Project, value: bool) -> None:
        (state.selected.add if value else state.selected.discard)(project.id)  # type: ignore[arg-type]  # a stored row's id is never None
        bulk_bar.refresh()

    actions = ProjectActions(
        open=open_project,
        edit=edit,
        duplicate=duplicate,
        archive=archive,
        delete=lambda p: delete([p.id]),  # type: ignore[list-item]  # a stored row's id is never None
        toggle_selected=toggle,
    )

    def show_archived() -> None:
        state.archived = "archived"
        listing.refresh()

    def new_project() -> None:
        open_project_dialog(user, None, lambda p: ui.navigate.to(f"/projects/{p.id}"))

    def remember_and_refresh() -> None:
        remember()
        listing.refresh()

    def clear_selection() -> None:
        state.selected.clear()
        listing.refresh()

    with frame("Projects", user):
        with ui.row().classes("w-full items-center gap-2"):
            ui.button("New project", icon="add", on_click=new_project).props(
                'unelevated data-testid="new-project"'
            ).tooltip("New project (N)")
            ui.button("Import", icon="file_upload", on_click=lambda: open_project_import(user)).props(
                'flat dense no-caps data-testid="import-project"'
            ).tooltip("A project exported as StoryCanvas JSON")
            search = (
                ui.input(placeholder="Search name or description")
                .props('outlined dense clearable debounce=250 data-testid="search"')
                .classes("w-64")
                .bind_value(state, "text")
                .on_value_change(lambda: listing.refresh())
            )
            with search.add_slot("prepend"):
                ui.icon("search", size="xs")
            tag_select = (
                ui.select([], label="Tag", clearable=True)
                .props("outlined dense")
                .classes("w-40")
                .bind_value(state, "tag")
            )
            tag_select.on_value_change(lambda: listing.refresh())
            ui.select({"active": "Active", "archived": "Archived", "all": "All"}, label="Show").props(
                "outlined dense"
            ).classes("w-32").bind_value(state, "archived").on_value_change(lambda: listing.refresh())
            ui.select({"updated": "Last updated", "created": "Newest", "name": "Name"}, label="Sort").props(
                "outlined dense"
            ).classes("w-36").bind_value(state, "sort").on_value_change(remember_and_refresh)
            ui.space()
            ui.toggle({"grid": "Grid", "list": "List"}).props("dense no-caps").bind_value(
                state, "view"
            ).on_value_change(remember_and_refresh)

        @ui.refreshable
        def bulk_bar() -> None:
            if not state.selected:
                return
            ids = sorted(state.selected)
            with ui.row().classes("w-full items-center gap-2 px-2 py-1 rounded bg-blue-grey-9 text-white"):
                ui.label(f"{len(ids)} selected").props('data-testid="selection-count"')
                ui.button("Archive", icon="archive", on_click=lambda: set_archived(ids, True)).props("flat dense")
                ui.button("Restore", icon="unarchive", on_click=lambda: set_archived(ids, False)).props("flat dense")
                ui.button("Delete…", icon="delete", on_click=lambda: delete(ids)).props(
                    'flat dense color=red-3 data-testid="bulk-delete"'
                )
                ui.space()
                ui.button("Clear", on_click=clear_selection).props("flat dense")

        bulk_bar()

        @ui.refreshable
        def listing() -> None:
            found = read(
                projects.list_projects,
                user,
                text=state.text or "",
                tag=state.tag,
                sort=state.sort,  # type: ignore[arg-type]  # the sort select offers only the Literal's values
                archived=state.archived,  # type: ignore[arg-type]  # the archived select offers only the Literal's values
            )
            tags = read(projects.all_tags, user)
            tag_select.set_options(tags, value=state.tag if state.tag in tags else None)
            state.selected &= {p.id for p in found}
            bulk_bar.refresh()
            if not found and not found.unreadable:
                archived_count = 0
                if state.archived == "active" and not state.text and not state.tag:
                    archived_count = len(read(projects.list_projects, user, archived="archived"))
                _empty_state(state, new_project, archived_count, show_archived)
                return
            card = state.view == "grid"
            with ui.row().classes("w-full gap-3") if card else ui.column().classes("w-full gap-1"):
                for project in found:
                    show(project, card)
                for row in found.unreadable:
                    show_unreadable(row, card)

        listing()
        ProjectWatch(None, listing.refresh)
        ui.keyboard(
            lambda e: new_project() if e.action.keydown and e.key == "n" and not e.modifiers.ctrl else None,
            ignore=["input", "select", "button", "textarea"],
        )


def _empty_state(
    state: ListState, new_project: Callable[[], None], archived_count: int, show_archived: Callable[[], None]
) -> None:
    with ui.column().classes("sc-empty w-full items-center py-12 gap-2").props('data-testid="empty-state"'):
        ui.icon("movie_filter", size="40px").classes("sc-muted")
        if archived_count:
            ui.label(f"No active projects — {archived_count} archived.").classes("text-subtitle1")
            with ui.row().classes("gap-2"):
                ui.button("Show archived", icon="inventory_2", on_click=show_archived).props("outline")
                ui.button("New project", icon="add", on_click=new_project).props("unelevated")
        elif state.text or state.tag or state.archived != "active":
            ui.label("No project matches these filters.").classes("text-subtitle1")
            ui.label("Clear the search or tag, or show all projects.").classes("sc-muted")
        else:
            ui.label("No projects yet.").classes("text-subtitle1")
            ui.label("Create one to start: name it, pick the frame rate and resolution of the film.").classes(
                "sc-muted"
            )
            ui.button("New project", icon="add", on_click=new_project).props("unelevated")
