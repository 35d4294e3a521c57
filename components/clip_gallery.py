"""A clip's results as a strip of thumbnails: newest first, the chosen one outlined, click to choose, × to delete.

Tiles are plain elements (an <img> with a native tooltip), not Quasar images: a clip may hold dozens of
results, and the strip is redrawn whenever one lands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nicegui import ui

from .job_format import clock

CSS = """
.sc-results { display: flex; flex-wrap: wrap; gap: 6px; }
.sc-result { position: relative; height: 64px; aspect-ratio: 16 / 9; border-radius: 4px; overflow: hidden;
  background: #0d0f12; border: 1px solid #2a2e37; cursor: pointer; }
.sc-result:hover { border-color: #7c9cff; }
.sc-result[data-selected="true"] { border-color: #7c9cff; box-shadow: 0 0 0 1px #7c9cff; }
.sc-result img { width: 100%; height: 100%; object-fit: cover; display: block; pointer-events: none; }
.sc-result-play { position: absolute; left: 50%; top: 50%; transform: translate(-50%, -50%); font-size: 26px;
  color: #fff; opacity: .9; text-shadow: 0 1px 3px rgba(0, 0, 0, .8); pointer-events: none; }
.sc-result-check { position: absolute; left: 3px; top: 3px; font-size: 14px; color: #7c9cff;
  background: rgba(13, 15, 18, .8); border-radius: 50%; pointer-events: none; }
.sc-result-wrap { position: relative; }
.sc-result-delete { position: absolute !important; right: 2px; top: 2px; opacity: 0; background: rgba(13, 15, 18, .75);
  transition: opacity .1s; }
.sc-result-wrap:hover .sc-result-delete, .sc-result-delete:focus-visible { opacity: 1; }
.sc-clip-job-preview { width: 40px; height: 40px; flex: none; object-fit: cover; border-radius: 3px;
  background: #0d0f12; }
.sc-clip-job-error { color: #ff8787; }
.body--light .sc-result { background: #e9ecef; border-color: #d6d9de; }
"""
EMPTY = "No results yet: choose a model and press Generate (or G on the timeline)."


def describe(item: Mapping[str, Any]) -> str:
    """The tooltip: how a result was made (seed, model, server, time taken) and its size."""
    params = item.get("params") or {}
    parts = [f"{'Video' if item['kind'] == 'video' else 'Image'} #{item['id']}"]
    if params.get("seed") is not None:
        parts.append(f"seed {params['seed']}")
    model = params.get("model") or params.get("checkpoint")
    if model:
        parts.append(str(model))
    if params.get("server"):
        parts.append(f"on {params['server']}")
    if params.get("duration_s") is not None:
        parts.append(f"took {clock(float(params['duration_s']))}")
    if item.get("width") and item.get("height"):
        parts.append(f"{item['width']}×{item['height']}")
    if item.get("duration"):
        parts.append(f"{float(item['duration']):.1f} s")
    if item.get("selected"):
        parts.append("selected")
    return " · ".join(parts)


def clip_gallery(
    items: Sequence[Mapping[str, Any]],
    on_select: Callable[[int], None],
    on_delete: Callable[[Mapping[str, Any]], None],
) -> None:
    """`items` are gallery.item_public() dicts, newest first."""
    if not items:
        ui.label(EMPTY).classes("sc-muted text-xs").props('data-testid="results-empty"')
        return
    with ui.element("div").classes("sc-results").props('data-testid="results"'):
        for item in items:
            _tile(item, on_select, on_delete)


def _tile(
    item: Mapping[str, Any], on_select: Callable[[int], None], on_delete: Callable[[Mapping[str, Any]], None]
) -> None:
    item_id = int(item["id"])
    with ui.element("div").classes("sc-result-wrap"):
        tile = ui.element("div").classes("sc-result")
        tile.props(
            f'data-testid="result" data-item-id="{item_id}" data-kind="{item["kind"]}" '
            f'data-selected="{"true" if item.get("selected") else "false"}" role="button" tabindex="0"'
        )
        tile.props["title"] = describe(item)
        tile.props["aria-label"] = describe(item)
        tile.on("click", lambda: on_select(item_id))
        tile.on("keydown.enter", lambda: on_select(item_id))
        with tile:
            source = item.get("thumbnail_url") or (item["url"] if item["kind"] == "image" else None)
            if source:
                image = ui.element("img").props('loading=lazy alt="" draggable=false')
                image.props["src"] = source
            if item["kind"] == "video":
                ui.html('<i class="material-icons sc-result-play">play_circle</i>', sanitize=False)
            if item.get("selected"):
                ui.html('<i class="material-icons sc-result-check">check_circle</i>', sanitize=False)
        ui.button(icon="close", on_click=lambda: on_delete(item)).props(
            f'flat round dense size=xs color=grey-4 data-testid="result-delete-{item_id}" aria-label="Delete result"'
        ).classes("sc-result-delete").tooltip("Delete this result")
