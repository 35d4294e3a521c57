"""A server's models by kind, shown under its row when asked for."""

from __future__ import annotations

from nicegui import ui

from app.services.server_catalog import KINDS

KIND_LABELS = {
    "checkpoints": "Checkpoints",
    "loras": "LoRAs",
    "vaes": "VAEs",
    "embeddings": "Embeddings",
    "upscalers": "Upscalers",
}
SHOWN_PER_KIND = 200  # a studio's LoRA folder can hold thousands; the rest is counted, not drawn


def catalog_panel(catalog: dict[str, list[str]], node_type_count: int | None = None) -> None:
    if not any(catalog.values()):
        ui.label(
            "No models known for this server yet: refresh its catalog (the sync button) once it is online."
        ).classes("sc-muted text-xs").props('data-testid="server-catalog-empty"')
        return
    with (
        ui.element("div")
        .classes("w-full grid gap-x-6 gap-y-2 md:grid-cols-2 xl:grid-cols-3")
        .props('data-testid="server-catalog-panel"')
    ):
        for field in KINDS:
            names = catalog.get(field, [])
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(f"{KIND_LABELS[field]} ({len(names)})").classes("text-xs text-weight-medium")
                if not names:
                    ui.label("none").classes("sc-muted text-xs")
                for name in names[:SHOWN_PER_KIND]:
                    ui.label(name).classes("text-xs ellipsis sc-muted").tooltip(name)
                if len(names) > SHOWN_PER_KIND:
                    ui.label(f"… and {len(names) - SHOWN_PER_KIND} more").classes("sc-muted text-xs")
    if node_type_count is not None:
        ui.label(f"{node_type_count} node types available for workflows.").classes("sc-muted text-xs")
