"""/servers: the ComfyUI fleet — status lights, queue depth, GPU/VRAM; add, edit, test, enable, delete.

Everyone signed in sees the fleet; administrators manage it. A server's row redraws alone when that server
changes (health checks run in the background); the list redraws when servers come or go.
"""

from __future__ import annotations

import asyncio

from nicegui import background_tasks, ui

from app.services import events, server_catalog, server_health, servers
from components.confirm import confirm
from components.feedback import success, user_errors
from components.frame import frame
from components.server_catalog_panel import KIND_LABELS, catalog_panel
from components.server_form import open_server_dialog
from components.server_row import ROW_CSS, RowActions, ServerRow, ServerView, header_row
from components.service_call import call, read
from data.errors import DomainError, NotFound
from data.models import User

EMPTY = "No ComfyUI servers yet: add the address of a machine running ComfyUI (e.g. http://gpu-1:8188)"


def load_views(user: User) -> list[ServerView]:
    counts = read(server_catalog.catalog_counts)
    return [ServerView(server, counts.get(server.id, {})) for server in read(servers.public_servers, user)]


def load_view(user: User, server_id: int) -> ServerView | None:
    try:
        server = read(servers.public_server_of, user, server_id)
    except NotFound:
        return None
    return ServerView(server, read(server_catalog.catalog_counts).get(server_id, {}))


def count_summary(catalog: dict[str, list[str]]) -> str:
    return ", ".join(f"{len(catalog[field])} {KIND_LABELS[field].lower()}" for field in server_catalog.KINDS)


class ServersPage:
    def __init__(self, user: User) -> None:
        self.user = user
        self.rows: dict[int, ServerRow] = {}
        self.client = ui.context.client
        ui.add_css(ROW_CSS)
        with ui.row().classes("w-full items-center gap-2"):
            ui.label("ComfyUI servers").classes("text-h6")
            self.summary = ui.label("").classes("sc-muted text-xs").props('data-testid="servers-summary"')
            ui.space()
            if user.is_admin:
                ui.button("Add server", icon="add", on_click=self.add).props(
                    'unelevated dense data-testid="add-server"'
                )
        if not user.is_admin:
            ui.label("Only administrators can add or change servers; you can see their state and models.").classes(
                "sc-muted text-xs"
            )
        self.listing = ui.column().classes("w-full gap-0 sc-scroll-x")  # a wide table scrolls in its own box
        # Dialogs live here, not inside a row: a row redrawn under an open dialog would take the dialog with it.
        self.overlay = ui.element("div")
        self._pending: set[int] = set()
        self.redraw()
        events.servers_changed.subscribe(self.changed)

    def actions(self) -> RowActions:
        if not self.user.is_admin:
            return RowActions(toggle_catalog=self.toggle_catalog)
        return RowActions(
            test=self.test,
            refresh_catalog=self.refresh_catalog,
            set_enabled=self.set_enabled,
            edit=self.edit,
            delete=self.delete,
            toggle_catalog=self.toggle_catalog,
        )

    def redraw(self) -> None:
        views = load_views(self.user)
        self.rows.clear()
        self.listing.clear()
        with self.listing:
            if not views:
                with ui.column().classes("w-full items-center py-12 gap-2 sc-empty"):
                    ui.icon("dns", size="40px").classes("sc-muted")
                    ui.label(EMPTY).classes("sc-muted").props('data-testid="servers-empty"')
                    if self.user.is_admin:
                        ui.button("Add server", icon="add", on_click=self.add).props("flat dense")
            else:
                header_row()
                actions = self.actions()
                for view in views:
                    self.rows[view.server.id] = ServerRow(view, actions)
        self.summarise(views)

    def summarise(self, views: list[ServerView] | None = None) -> None:
        views = views if views is not None else [row.view for row in self.rows.values()]
        online = sum(1 for v in views if v.server.enabled and v.server.status in ("online", "degraded"))
        noun = "server" if len(views) == 1 else "servers"
        self.summary.set_text(f"{len(views)} {noun} · {online} online" if views else "")

    def changed(self, server_id: int) -> None:
        """Collect changes and redraw after the emitter's handler is done (it may sit inside a row)."""
        if self.client.is_deleted:
            return
        if not self._pending:
            background_tasks.create(self._apply_changes(), name="servers page refresh")
        self._pending.add(server_id)

    async def _apply_changes(self) -> None:
        await asyncio.sleep(0.05)  # a health check with its catalog emits a few times in a row: redraw once
        changed, self._pending = self._pending, set()
        if self.client.is_deleted:
            return
        with self.client:
            views = {server_id: load_view(self.user, server_id) for server_id in changed}
            if any(view is None or server_id not in self.rows for server_id, view in views.items()):
                self.redraw()  # servers came or went
                return
            for server_id, view in views.items():
                self.rows[server_id].render(view)  # type: ignore[arg-type]  # a None view made the loop above redraw and return
            self.summarise()

    def add(self) -> None:
        self.overlay.clear()
        with self.overlay:
            open_server_dialog(self.user, None, self.saved)

    def edit(self, server_id: int) -> None:
        view = load_view(self.user, server_id)
        if view is None:
            ui.notify("That server was deleted meanwhile.", type="warning")
            return self.redraw()
        self.overlay.clear()
        with self.overlay:
            open_server_dialog(self.user, view.server, self.saved)
        return None

    def saved(self, server_id: int, created: bool) -> None:
        success("Server added; checking it now" if created else "Server saved")
        # The first health check lights the row up (and reads the catalog) without holding the dialog.
        background_tasks.create(server_health.check_health(server_id), name=f"health check of server {server_id}")

    async def test(self, server_id: int) -> None:
        with user_errors():
            result = await server_health.test_server(self.user, server_id)
            row = self.rows.get(server_id)
            if row is None:
                return
            row.show_result(result.ok, result.message)

    async def refresh_catalog(self, server_id: int) -> None:
        with user_errors():
            catalog = await server_catalog.refresh_catalog(server_id, self.user)
            success(f"Catalog read: {count_summary(catalog)}")
            row = self.rows.get(server_id)
            if row is not None and row.catalog_panel.visible:
                self._fill_catalog(row)

    def set_enabled(self, server_id: int, enabled: bool) -> None:
        with user_errors():
            read(servers.set_enabled, self.user, server_id, enabled)
            success("Enabled: the server receives jobs" if enabled else "Disabled: no new jobs go to this server")

    def delete(self, server_id: int) -> None:
        view = load_view(self.user, server_id)
        if view is None:
            return self.redraw()
        going_back = read(servers.jobs_to_requeue, server_id)
        name = view.server.name
        if going_back:
            jobs = "1 job" if going_back == 1 else f"{going_back} jobs"
            fate = f"{jobs} running or waiting on it go back to the queue and will run on another server."
        else:
            fate = "No jobs are running on it."
        message = f"“{name}” ({view.server.url}) leaves the fleet with its list of models.\n{fate}"

        def go() -> None:
            requeued = call(servers.delete_server, self.user, server_id)
            if requeued is not None:
                success(f"Deleted “{name}”" + (f"; {requeued} jobs are queued again" if requeued else ""))

        self.overlay.clear()
        with self.overlay:
            confirm(f"Delete server “{name}”?", message, "Delete server", go)
        return None

    def toggle_catalog(self, server_id: int) -> None:
        row = self.rows.get(server_id)
        if row is None:
            return
        if row.catalog_panel.visible:
            row.catalog_panel.set_visibility(False)
            return
        self._fill_catalog(row)
        row.catalog_panel.set_visibility(True)

    def _fill_catalog(self, row: ServerRow) -> None:
        try:
            catalog = read(server_catalog.server_catalog, self.user, row.server_id)
            node_types = read(server_catalog.node_type_count, self.user, row.server_id)
        except DomainError as error:  # a warning, not a failure: the server went away meanwhile
            ui.notify(error.message, type="warning")
            return
        row.catalog_panel.clear()
        with row.catalog_panel:
            catalog_panel(catalog, node_types)


def page(user: User) -> None:
    with frame("Servers", user):
        ServersPage(user)
