"""The full-screen results viewer: a clip's images or videos one at a time, zoomable, or 2–4 compared.

Zoom, pan, rotation, frame stepping and the A/B wipe run in results_viewer.js; Python hands it plain
view-models (`viewer_item`) and hears only which result is shown and when the viewer closes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from nicegui import ui
from nicegui.events import GenericEventArguments

from app.services import share_links

from .job_format import clock

_CSS = (Path(__file__).with_name("results_viewer.css")).read_text()
_styled_clients: set[Any] = set()


def metadata_rows(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """How a result was made, in the order a person checks it: words, model, numbers, where and when."""
    params = item.get("params") or {}
    rows: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value not in (None, "", []):
            rows.append((label, str(value)))

    add("Prompt", params.get("prompt"))
    add("Negative", params.get("negative_prompt"))
    add("Model", params.get("model") or params.get("checkpoint"))
    loras = params.get("loras") or []
    add("LoRAs", ", ".join(f"{x.get('name')} ×{x.get('strength', 1)}" for x in loras if isinstance(x, dict)))
    add("Seed", params.get("seed"))
    add("Steps", params.get("steps"))
    add("CFG", params.get("cfg"))
    sampler = " / ".join(str(v) for v in (params.get("sampler"), params.get("scheduler")) if v)
    add("Sampler", sampler)
    if item.get("width") and item.get("height"):
        size = f"{item['width']}×{item['height']}"
        if item.get("duration"):
            size += f" · {float(item['duration']):.1f} s"
        add("Size", size)
    add("Server", params.get("server"))
    if params.get("duration_s") is not None:
        add("Took", clock(float(params["duration_s"])))
    created = item.get("created_at")
    if isinstance(created, datetime):
        add("Date", created.strftime("%Y-%m-%d %H:%M"))
    elif created:
        add("Date", created)
    add("Workflow", params.get("workflow"))
    return rows


def viewer_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A gallery.item_public() dict as the viewer shows it (plain JSON: it goes to the browser)."""
    item_id = int(item["id"])
    kind = "Video" if item["kind"] == "video" else "Image"
    seed = (item.get("params") or {}).get("seed")
    return {
        "id": item_id,
        "kind": item["kind"],
        "url": item["url"],
        "poster": item.get("thumbnail_url") or (item["url"] if item["kind"] == "image" else None),
        "download": f"{item['url']}?download=1",
        "share": share_links.share_path(item_id),
        "title": f"{kind} #{item_id}" + (f" · seed {seed}" if seed is not None else ""),
        "meta": [list(row) for row in metadata_rows(item)],
        "fps": float((item.get("params") or {}).get("fps") or 24),
    }


class ResultsViewer(ui.element, component="results_viewer.js"):
    """Keys: ←/→ browse, +/- or wheel zoom, drag pan, 0 fit, R rotate, I details, C compare, W wipe, Esc close;
    on videos space plays, , and . step one frame, [ and ] change the speed."""

    def __init__(
        self,
        items: Sequence[Mapping[str, Any]],
        index: int = 0,
        *,
        on_close: Callable[[], object] | None = None,
        on_index: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__()
        if self.client not in _styled_clients:
            _styled_clients.add(self.client)
            ui.add_css(_CSS)
        self._props["items"] = [viewer_item(item) for item in items]
        self._props["index"] = max(0, min(int(index), len(items) - 1)) if items else 0
        self.classes("w-full h-full")
        if on_close is not None:
            self.on("close", lambda _: on_close())
        if on_index is not None:
            self.on("index", lambda e: on_index(int(e.args["id"])))
        self.on("copied", self._copied)

    @staticmethod
    def _copied(e: GenericEventArguments) -> None:
        ui.notify("Link copied: it opens for people signed in who may see this project.", position="top")


def open_viewer(items: Sequence[Mapping[str, Any]], item_id: int) -> ui.dialog:
    """The viewer in a maximized dialog, starting at `item_id` among `items`."""
    index = next((i for i, item in enumerate(items) if int(item["id"]) == int(item_id)), 0)
    # At page level: the element that asked (a strip tile) may be redrawn away while the viewer is open.
    with ui.context.client.content, ui.dialog().props(
        'maximized transition-show=fade transition-hide=fade aria-label="Result viewer"'
    ) as dialog:
        dialog.props('data-testid="viewer-dialog"')
        ResultsViewer(items, index, on_close=dialog.close)
    dialog.on("hide", lambda: dialog.delete())
    dialog.open()
    return dialog
