"""One server as a dense table row: status light, address, version, GPU and VRAM, load, catalog, last error.

The row's figures are redrawn alone when its server changes (health checks, other tabs); its action buttons
stay, so a spinner on a running test survives the redraw its own test causes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nicegui import ui

from app.services.server_catalog import KINDS
from app.services.servers import ServerPublic

from .job_format import age

ROW_CSS = """
.sc-server-grid { display: grid; align-items: center; column-gap: 12px;
  grid-template-columns: 14px minmax(150px, 1.3fr) 64px minmax(170px, 1.3fr) 48px 56px minmax(150px, 1.2fr)
                         minmax(120px, 1fr) 248px; }
.sc-server-row { border-bottom: 1px solid var(--sc-border); padding: 5px 4px; }
.sc-server-head { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--sc-text-muted);
  padding: 0 4px 4px; }
.sc-server-cells { display: contents; }
.sc-num { font-variant-numeric: tabular-nums; }
"""

HEADINGS = ["", "Server", "Version", "GPU · VRAM", "Queue", "Jobs", "Catalog", "Last error", ""]
STATUS_COLORS = {"online": "positive", "degraded": "warning", "offline": "negative"}
STATUS_WORDS = {
    "online": "Online",
    "degraded": "Degraded: answering slowly or with errors",
    "offline": "Offline",
    "unknown": "Not checked yet",
}
SHORT_KINDS = {"checkpoints": "ckpt", "loras": "LoRA", "vaes": "VAE", "embeddings": "emb", "upscalers": "upscale"}
ERROR_PREVIEW = 70



@dataclass
class ServerView:
    server: ServerPublic
    counts: dict[str, int]


@dataclass
class RowActions:
    """What the page does for a row's buttons; None hides the admin-only ones."""

    test: Callable[[int], Awaitable[None]] | None = None
    refresh_catalog: Callable[[int], Awaitable[None]] | None = None
    set_enabled: Callable[[int, bool], None] | None = None
    edit: Callable[[int], None] | None = None
    delete: Callable[[int], None] | None = None
    toggle_catalog: Callable[[int], None] | None = None


def gigabytes(value: int | None) -> str:
    return "–" if value is None else f"{value / 1024**3:.1f} GB"


def status_light(server: ServerPublic) -> None:
    status = server.status if server.enabled else "disabled"
    color = STATUS_COLORS.get(status, "grey-6")
    words = "Disabled: receives no jobs" if not server.enabled else STATUS_WORDS.get(server.status, server.status)
    light = ui.icon("circle", size="12px", color=color).props('data-testid="server-status"')
    light.props["data-status"] = status
    light.tooltip(words)


def last_seen_text(server: ServerPublic) -> str:
    """An offline server: when it last answered (its GPU figures from then would mislead)."""
    if server.last_seen_at is None:
        return "Offline · never answered a check"
    return f"Offline · last seen {age(server.last_seen_at)}"


def vram_cell(server: ServerPublic) -> None:
    if server.status == "offline":
        with ui.column().classes("gap-0 min-w-0"):
            ui.label(server.gpu_name or "–").classes("ellipsis text-xs sc-muted").props('data-testid="server-gpu"')
            ui.label(last_seen_text(server)).classes("sc-muted text-[11px]").props('data-testid="server-last-seen"')
        return
    with ui.column().classes("gap-0 min-w-0"):
        ui.label(server.gpu_name or "–").classes("ellipsis text-xs").props('data-testid="server-gpu"').tooltip(
            server.gpu_name or "GPU unknown until the server answers a health check"
        )
        if server.vram_total:
            free = server.vram_free or 0
            used = max(0.0, min(1.0, 1 - free / server.vram_total))
            color = "negative" if used > 0.9 else "warning" if used > 0.7 else "primary"
            ui.linear_progress(used, show_value=False, color=color).props(
                'rounded size=5px aria-label="Graphics memory in use"'
            ).tooltip(
                f"{gigabytes(free)} free of {gigabytes(server.vram_total)}"
            )
            ui.label(f"{gigabytes(free)} free / {gigabytes(server.vram_total)}").classes("sc-muted sc-num text-[11px]")


def catalog_cell(view: ServerView) -> None:
    if view.server.catalog_refreshed_at is None:
        ui.label("not read yet").classes("sc-muted text-xs").props('data-testid="server-catalog-counts"')
        return
    parts = [f"{view.counts.get(field, 0)} {SHORT_KINDS[field]}" for field in KINDS if view.counts.get(field)]
    text = " · ".join(parts) or "no models"
    ui.label(text).classes("text-xs sc-num").props('data-testid="server-catalog-counts"').tooltip(
        ", ".join(f"{view.counts.get(field, 0)} {field}" for field in KINDS)
    )


def error_cell(server: ServerPublic) -> None:
    error = server.last_error
    if not error:
        ui.label("").classes("text-xs")
        return
    short = error if len(error) <= ERROR_PREVIEW else error[: ERROR_PREVIEW - 1] + "…"
    ui.label(short).classes("sc-muted text-xs ellipsis-2-lines").props('data-testid="server-error"').tooltip(error)


class ServerRow:
    def __init__(self, view: ServerView, actions: RowActions) -> None:
        self.server_id = view.server.id
        self.view = view
        self.actions = actions
        self._syncing = False
        self.switch: ui.switch | None = None
        self.container = ui.column().classes("w-full gap-0 sc-server-row").props('data-testid="server-row"')
        self.container.props["data-server-id"] = str(self.server_id)
        with self.container:
            with ui.element("div").classes("sc-server-grid w-full"):
                self.cells = ui.element("div").classes("sc-server-cells")
                self._actions_cell()
            self.result = ui.row().classes("w-full gap-2 items-center pl-6")
            self.catalog_panel = ui.column().classes("w-full gap-1 pl-6 pt-1")
            self.catalog_panel.set_visibility(False)
        self.result.set_visibility(False)
        self.render(view)

    def render(self, view: ServerView) -> None:
        """Redraw the figures (not the buttons) from a fresh view of the server."""
        self.view = view
        server = view.server
        self.cells.clear()
        with self.cells:
            status_light(server)
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(server.name).classes("text-sm ellipsis").props('data-testid="server-name"')
                ui.label(server.url + (f" · {server.runpod_endpoint_id}" if server.runpod_endpoint_id else "")).classes(
                    "sc-muted text-xs ellipsis"
                ).tooltip(server.url)
            ui.label(server.comfy_version or "–").classes("text-xs sc-num").props('data-testid="server-version"')
            vram_cell(server)
            ui.label(str(server.queue_depth)).classes("text-xs sc-num").props('data-testid="server-queue"').tooltip(
                "Prompts running or waiting on the server (ours and others')"
            )
            ui.label(f"{server.active_jobs} / {server.max_jobs}").classes("text-xs sc-num").props(
                'data-testid="server-jobs"'
            ).tooltip("Our jobs on it / most at once")
            catalog_cell(view)
            error_cell(server)
        if self.switch is not None and self.switch.value != server.enabled:
            self._syncing = True
            self.switch.set_value(server.enabled)
            self._syncing = False

    def _actions_cell(self) -> None:
        actions = self.actions
        with ui.row().classes("gap-1 items-center justify-end no-wrap"):
            if actions.test is not None:
                self.test_button = ui.button("Test", icon="network_check", on_click=self._test).props(
                    'flat dense size=sm data-testid="server-test"'
                )
            if actions.refresh_catalog is not None:
                self.refresh_button = (
                    ui.button(icon="sync", on_click=self._refresh)
                    .props('flat dense round size=sm data-testid="server-refresh-catalog"')
                    .props('aria-label="Read the models again"')
                    .tooltip("Read the server's models again")
                )
            if actions.toggle_catalog is not None:
                ui.button(icon="inventory_2", on_click=lambda: actions.toggle_catalog(self.server_id)).props(
                    'flat dense round size=sm aria-label="Models on this server" data-testid="server-catalog"'
                ).tooltip("Models on this server")
            if actions.set_enabled is not None:
                self.switch = (
                    ui.switch(value=self.view.server.enabled, on_change=self._enabled_changed)
                    .props('dense size=sm aria-label="Enabled: receives jobs" data-testid="server-enabled"')
                    .tooltip("Enabled: receives jobs")
                )
            if actions.edit is not None:
                ui.button(icon="edit", on_click=lambda: actions.edit(self.server_id)).props(
                    'flat dense round size=sm aria-label="Edit" data-testid="server-edit"'
                ).tooltip("Edit")
            if actions.delete is not None:
                ui.button(icon="delete", on_click=lambda: actions.delete(self.server_id)).props(
                    'flat dense round size=sm color=negative aria-label="Delete" data-testid="server-delete"'
                ).tooltip("Delete")

    def _enabled_changed(self, event: object) -> None:
        if self._syncing or self.actions.set_enabled is None or self.switch is None:
            return
        self.actions.set_enabled(self.server_id, bool(self.switch.value))

    async def _test(self) -> None:
        assert self.actions.test is not None
        self.test_button.props("loading")
        try:
            await self.actions.test(self.server_id)
        finally:
            self.test_button.props(remove="loading")

    async def _refresh(self) -> None:
        assert self.actions.refresh_catalog is not None
        self.refresh_button.props("loading")
        try:
            await self.actions.refresh_catalog(self.server_id)
        finally:
            self.refresh_button.props(remove="loading")

    def show_result(self, ok: bool, message: str) -> None:
        """A test's outcome under the row, until the next test."""
        self.result.clear()
        with self.result:
            ui.icon("check_circle" if ok else "error", size="16px", color="positive" if ok else "negative")
            ui.label(message).classes("text-xs text-positive" if ok else "text-xs text-negative").props(
                'data-testid="server-test-result"'
            )
            ui.button(icon="close", on_click=lambda: self.result.set_visibility(False)).props(
                'flat dense round size=xs aria-label="Hide the result"'
            )
        self.result.set_visibility(True)


def header_row() -> None:
    with ui.element("div").classes("sc-server-grid sc-server-head w-full"):
        for heading in HEADINGS:
            ui.label(heading)
