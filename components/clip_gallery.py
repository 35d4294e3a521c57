"""A clip's results: Images / Videos tabs, newest first, the chosen one outlined, click to choose.

Tiles are plain elements (an <img loading=lazy> with a native tooltip), not Quasar images: a clip may hold
hundreds of results and the strip is redrawn whenever one lands, so it shows a page of them at a time.
Ctrl/Shift-click (or the tile's check mark) collects several for one delete. The panel under the strip
describes the hovered or focused result and holds its actions; each tile's ⋮ opens the same actions.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nicegui import app, ui
from nicegui.client import Client

from app.services import gallery, generation, replay, server_catalog, share_links
from data.models import User
from data.words import counted

from . import browser_script
from .confirm import confirm
from .feedback import success, user_errors
from .generate_panel import no_models_text
from .job_format import clock
from .results_viewer import metadata_rows, open_viewer
from .service_call import read

CSS = """
.sc-results { display: flex; flex-wrap: wrap; gap: 6px; }
.sc-result { position: relative; height: 64px; aspect-ratio: 16 / 9; border-radius: 4px; overflow: hidden;
  background: var(--sc-sunken); border: 1px solid var(--sc-border); cursor: pointer; }
.sc-result:hover, .sc-result:focus-visible { border-color: var(--sc-accent); }
.sc-result[data-selected="true"] { border-color: var(--sc-accent); box-shadow: 0 0 0 1px var(--sc-accent); }
.sc-result[data-checked="true"] { border-color: #ffb86b; box-shadow: 0 0 0 2px #ffb86b; }
.sc-result img { width: 100%; height: 100%; object-fit: cover; display: block; pointer-events: none; }
.sc-result-play { position: absolute; left: 50%; top: 50%; transform: translate(-50%, -50%); font-size: 26px;
  color: #fff; opacity: .9; text-shadow: 0 1px 3px rgba(0, 0, 0, .8); pointer-events: none; }
.sc-result-check { position: absolute; left: 3px; top: 3px; font-size: 14px; color: var(--sc-accent);
  background: var(--sc-sunken); border-radius: 50%; pointer-events: none; }
.sc-result-wrap { position: relative; }
.sc-result-btn { position: absolute; top: 2px; width: 20px; height: 20px; padding: 0; border: 0; border-radius: 50%;
  font-family: "Material Icons"; font-feature-settings: "liga"; overflow: hidden; white-space: nowrap;
  font-size: 14px; line-height: 20px; color: #ced4da; cursor: pointer; opacity: 0;
  background: rgba(13, 15, 18, .75); transition: opacity .1s; }
.sc-result-btn:hover { color: #fff; background: rgba(40, 44, 52, .95); }
.sc-result-delete { right: 2px; }
.sc-result-more { right: 24px; }
.sc-result-pick { left: 2px; top: auto; bottom: 2px; }
.sc-result-wrap:hover .sc-result-delete, .sc-result-wrap:hover .sc-result-more, .sc-result-wrap:hover .sc-result-pick,
.sc-result-delete:focus-visible, .sc-result-more:focus-visible, .sc-result-pick:focus-visible,
.sc-result-pick[data-checked="true"] { opacity: 1; }
.sc-results-tab[aria-selected="true"] { color: var(--sc-accent); border-bottom: 2px solid var(--sc-accent);
  border-radius: 0; }
.sc-results-meta { display: grid; grid-template-columns: auto minmax(0, 1fr) auto minmax(0, 1fr); gap: 0 10px;
  font-size: 12px; line-height: 1.45; }
.sc-results-meta .k { color: var(--sc-text-muted); }
.sc-results-meta .v { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.sc-results-panel { border: 1px solid var(--sc-border); border-radius: 6px; padding: 6px 8px; min-height: 48px; }
.sc-clip-job-preview { width: 40px; height: 40px; flex: none; object-fit: cover; border-radius: 3px;
  background: var(--sc-sunken); }
.sc-clip-job-error { color: var(--sc-danger-text); }
"""
EMPTY = "No results yet: choose a model and press Generate (or G on the timeline)."
EMPTY_KIND = {
    "image": "No images yet: choose a model and press Generate.",
    "video": "No videos yet: open an image's ⋮ menu and choose “Use as init image”, or generate in video mode.",
}
# A plain click waits for a possible second one; modified clicks and double clicks go at once.
_CLICK_JS = """(e) => {
  const t = e.currentTarget; clearTimeout(t.__scClick);
  const args = {ctrlKey: e.ctrlKey, metaKey: e.metaKey, shiftKey: e.shiftKey, detail: e.detail};
  if (e.detail >= 2 || e.ctrlKey || e.metaKey || e.shiftKey) { emit(args); return; }
  t.__scClick = setTimeout(() => emit(args), 220);
}"""
# Where a tile's small buttons sit (whole class strings: a class list is parsed, never built).
BUTTON_PLACES = {"pick": "sc-result-pick", "more": "sc-result-more", "delete": "sc-result-delete"}
PAGE = 40  # tiles drawn at once; "Show more" draws the next page
STORAGE_KEY = "generate"  # shared with clip_generation: the last model the user chose


@dataclass
class GalleryActions:
    """What the strip needs beyond select/delete: who acts, and what to redraw after results or jobs change."""

    user: User
    changed: Callable[[], None]
    queued: Callable[[], None]


@dataclass
class _State:
    """Per browser tab: survives the redraws that follow every landed result."""

    tab: dict[int, str] = field(default_factory=dict)
    checked: dict[int, set[int]] = field(default_factory=dict)
    shown: dict[int, int] = field(default_factory=dict)


_states: weakref.WeakKeyDictionary[Client, _State] = weakref.WeakKeyDictionary()


def _state() -> _State:
    client = ui.context.client
    state = _states.get(client)
    if state is None:
        state = _states[client] = _State()
    return state


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
    actions: GalleryActions | None = None,
    *,
    counts: Mapping[str, int] | None = None,
    on_more: Callable[[], None] | None = None,
) -> None:
    """`items` are gallery.item_public() dicts of one clip, newest first: all of them, or (with `counts`, the
    totals per kind) the first `shown_limit()` of each kind, with `on_more` loading the next page."""
    if not items:
        ui.label(EMPTY).classes("sc-muted text-xs").props('data-testid="results-empty"')
        return
    _Gallery(items, on_select, on_delete, actions, counts, on_more).build()


def shown_limit(clip_id: int) -> int:
    """How many results of each kind this tab shows for the clip (pages it asked for with Show more)."""
    return _state().shown.get(clip_id, PAGE)


class _Gallery:
    def __init__(
        self,
        items: Sequence[Mapping[str, Any]],
        on_select: Callable[[int], None],
        on_delete: Callable[[Mapping[str, Any]], None],
        actions: GalleryActions | None,
        counts: Mapping[str, int] | None = None,
        on_more: Callable[[], None] | None = None,
    ) -> None:
        self.items = list(items)
        self.on_more = on_more
        self.on_select = on_select
        self.on_delete = on_delete
        self.actions = actions
        self.clip_id = int(items[0]["clip_id"]) if items and items[0].get("clip_id") is not None else 0
        self.state = _state()
        self.by_kind = {kind: [i for i in self.items if i["kind"] == kind] for kind in gallery.KINDS}
        # A clip may hold thousands of results: the caller loads a page of each kind and says how many in all.
        self.counts = {kind: (counts or {}).get(kind, len(self.by_kind[kind])) for kind in gallery.KINDS}
        self.tab = self.state.tab.get(self.clip_id) or (
            "image" if self.by_kind["image"] or not self.by_kind["video"] else "video"
        )
        known = {int(i["id"]) for i in self.items}
        self.checked = self.state.checked.setdefault(self.clip_id, set())
        self.checked &= known
        self.focused: Mapping[str, Any] | None = None
        self.panel: ui.element | None = None
        self.menu: ui.menu | None = None

    # --- layout ------------------------------------------------------------------------------------

    def build(self) -> None:
        with ui.column().classes("w-full gap-1").props('data-testid="results-gallery"') as self.root:
            self._draw()

    def _redraw(self) -> None:
        self.root.clear()
        with self.root:
            self._draw()

    def _draw(self) -> None:
        shown = self.by_kind[self.tab]
        with ui.row().classes("w-full items-center gap-1 no-wrap"):
            with ui.row().classes("items-center gap-1 no-wrap").props('role="tablist" aria-label="Results"'):
                for kind, label in (("image", "Images"), ("video", "Videos")):
                    tab = ui.button(f"{label} · {self.counts[kind]}", on_click=lambda k=kind: self._set_tab(k))
                    tab.props("flat dense no-caps size=sm").classes("sc-results-tab")
                    tab.props.update(
                        {
                            "data-testid": f"results-tab-{kind}",
                            "role": "tab",
                            "aria-selected": "true" if kind == self.tab else "false",
                        }
                    )
            ui.space()
            if self.checked:
                ui.label(f"{len(self.checked)} checked").classes("text-xs sc-muted").props(
                    'data-testid="results-checked-count"'
                )
                ui.button("Clear", on_click=self._clear_checks).props("flat dense no-caps size=sm")
                ui.button(f"Delete {len(self.checked)}…", on_click=self._delete_checked).props(
                    'flat dense no-caps size=sm color=negative data-testid="results-delete-checked"'
                )
        if not shown:
            ui.label(EMPTY_KIND[self.tab]).classes("sc-muted text-xs").props('data-testid="results-empty"')
        else:
            limit = self.state.shown.get(self.clip_id, PAGE)
            with ui.element("div").classes("sc-results").props('data-testid="results"'):
                for item in shown[:limit]:
                    self._tile(item)
            total = max(self.counts[self.tab], len(shown))
            if total > limit:
                ui.button(
                    f"Show {min(PAGE, total - limit)} more of {total - limit}", on_click=self._more
                ).props('flat dense no-caps size=sm data-testid="results-more"')
        if self.actions is not None and shown:
            self.panel = ui.element("div").classes("sc-results-panel w-full").props('data-testid="results-panel"')
            self._show_panel(next((i for i in shown if i.get("selected")), shown[0]))

    def _tile(self, item: Mapping[str, Any]) -> None:
        item_id = int(item["id"])
        checked = item_id in self.checked
        with ui.element("div").classes("sc-result-wrap"):
            tile = ui.element("div").classes("sc-result").props('data-testid="result" role="button" tabindex="0"')
            tile.props.update(
                {
                    "data-item-id": str(item_id),
                    "data-kind": str(item["kind"]),
                    "data-selected": "true" if item.get("selected") else "false",
                    "data-checked": "true" if checked else "false",
                    "title": describe(item),
                    "aria-label": describe(item),
                }
            )
            tile.on("click", lambda e: self._click(item, e.args), js_handler=_CLICK_JS)
            tile.on("keydown.enter", lambda: self.on_select(item_id))
            if self.actions is not None:
                tile.on("mouseenter", lambda: self._show_panel(item))
                tile.on("focus", lambda: self._show_panel(item))
            with tile:
                source = item.get("thumbnail_url") or (item["url"] if item["kind"] == "image" else None)
                if source:
                    image = ui.element("img").props('loading=lazy decoding=async alt="" draggable=false')
                    image.props["src"] = source
                if item["kind"] == "video":
                    ui.html('<i class="material-icons sc-result-play">play_circle</i>', sanitize=False)
                if item.get("selected"):
                    ui.html('<i class="material-icons sc-result-check">check_circle</i>', sanitize=False)
            _icon_button(
                "check_box" if checked else "check_box_outline_blank",
                f"result-check-{item_id}",
                "Check for deleting several (or Ctrl-click the result)",
                "pick",
                lambda: self._toggle(item_id),
            ).props["data-checked"] = "true" if checked else "false"
            if self.actions is not None:
                more = f"result-more-{item_id}"
                _icon_button("more_vert", more, "Actions", "more", lambda: self._menu_for(item))
            delete = f"result-delete-{item_id}"
            _icon_button("close", delete, "Delete this result", "delete", lambda: self.on_delete(item))

    def _show_panel(self, item: Mapping[str, Any]) -> None:
        """The hovered/focused result's details and actions: one small redraw, not the strip."""
        panel = self.panel
        if panel is None or panel.is_deleted or (self.focused is not None and self.focused["id"] == item["id"]):
            return
        self.focused = item
        panel.clear()
        with panel, ui.row().classes("w-full items-start gap-2 no-wrap"):
            meta = ui.element("div").classes("sc-results-meta grow min-w-0")
            meta.props.update({"data-testid": "results-meta", "data-item-id": str(item["id"])})
            with meta:
                ui.label(describe(item).split(" · ")[0]).classes("k")
                ui.label("selected for the cut" if item.get("selected") else "").classes("v")
                for key, value in metadata_rows(item):
                    ui.label(key).classes("k")
                    ui.label(value).classes("v").props["title"] = value
            with ui.button(icon="more_horiz").props(
                'flat dense round size=sm data-testid="results-actions" aria-label="Actions"'
            ):
                self.menu = ui.menu().props("dense")
                with self.menu:
                    self._menu_items(item)

    def _menu_items(self, item: Mapping[str, Any]) -> None:
        item_id = int(item["id"])
        ui.menu_item("Open in viewer", on_click=lambda: self._open(item_id))
        if item["kind"] == "image":
            ui.menu_item("Use as init image for a video", on_click=lambda: self._use_as_init(item_id))
        ui.menu_item("Replay with same settings", on_click=lambda: self._replay(item_id, new_seed=False))
        ui.menu_item("Vary seed", on_click=lambda: self._replay(item_id, new_seed=True))
        ui.menu_item("Download", on_click=lambda: ui.navigate.to(f"{item['url']}?download=1"))
        ui.menu_item("Copy link", on_click=lambda: self._copy_link(item_id))
        ui.separator()
        ui.menu_item("Delete…", on_click=lambda: self.on_delete(item))

    # --- actions ------------------------------------------------------------------------------------

    def _click(self, item: Mapping[str, Any], args: Any) -> None:
        """A plain click chooses the result for the cut; with Ctrl/⌘/Shift it only checks it; a double click opens it.

        Choosing redraws the strip, so a dblclick listener would never hear the second click: the browser
        holds a plain click for a moment (_CLICK_JS) and sends either the choice or the double click.
        """
        modifiers = args if isinstance(args, dict) else {}
        if int(modifiers.get("detail") or 1) >= 2:
            self._open(int(item["id"]))
        elif any(modifiers.get(key) for key in ("ctrlKey", "metaKey", "shiftKey")):
            self._toggle(int(item["id"]))
        else:
            self.on_select(int(item["id"]))

    def _set_tab(self, kind: str) -> None:
        self.state.tab[self.clip_id] = self.tab = kind
        self.focused = None
        self._redraw()

    def _more(self) -> None:
        self.state.shown[self.clip_id] = self.state.shown.get(self.clip_id, PAGE) + PAGE
        if self.on_more is not None:
            self.on_more()  # the caller loads the next page and draws the strip again
        else:
            self._redraw()

    def _toggle(self, item_id: int) -> None:
        self.checked.symmetric_difference_update({item_id})
        self.focused = None
        self._redraw()

    def _clear_checks(self) -> None:
        self.checked.clear()
        self._redraw()

    def _delete_checked(self) -> None:
        chosen = [i for i in self.items if int(i["id"]) in self.checked]
        if not chosen:
            return
        images = sum(1 for i in chosen if i["kind"] == "image")
        videos = len(chosen) - images
        what = " and ".join(
            counted(n, kind) for n, kind in ((images, "image"), (videos, "video")) if n
        )
        message = f"This removes {what} and their files; they cannot be brought back."
        if any(i.get("selected") for i in chosen):
            message += (
                "\nOne of them is the clip's chosen result: the newest remaining one of its kind takes its place."
            )
        ids = [int(i["id"]) for i in chosen]

        def go() -> None:
            with user_errors():
                count = read(gallery.delete_items, self._user(), ids)
                self.checked.clear()
                success(f"Deleted {counted(count, 'result')}")
            self._changed()

        confirm(f"Delete {len(chosen)} results?", message, f"Delete {len(chosen)}", go)

    def _open(self, item_id: int) -> None:
        item = next((i for i in self.items if int(i["id"]) == item_id), None)
        if item is not None:
            open_viewer(self.by_kind[item["kind"]], item_id)

    def _menu_for(self, item: Mapping[str, Any]) -> None:
        self.focused = None
        self._show_panel(item)
        if self.menu is not None:
            self.menu.open()

    async def _copy_link(self, item_id: int) -> None:
        """The server signs the path; only the browser knows the address it was opened under (behind a proxy
        too), so it is asked first and the whole link goes back as a JSON argument."""
        path = share_links.share_path(item_id)
        origin = await ui.run_javascript("location.origin")
        browser_script.call("navigator.clipboard.writeText", f"{origin}{path}")
        ui.notify("Link copied: it opens for people signed in who may see this project.", position="top")

    def _replay(self, item_id: int, *, new_seed: bool) -> None:
        with user_errors():
            read(replay.replay_item, self._user(), item_id, new_seed=new_seed)
            success("Queued with a new seed" if new_seed else "Queued with the same settings")
            self._queued()

    def _use_as_init(self, item_id: int) -> None:
        remembered = app.storage.user.get(STORAGE_KEY) or {}
        checkpoint = remembered.get("checkpoint")
        if checkpoint:
            self._queue_video(item_id, checkpoint)
            return
        models = list(read(server_catalog.fleet_models, "checkpoint"))
        if not models:
            ui.notify(no_models_text(), type="warning")
            return
        with ui.dialog() as dialog, ui.card().classes("w-[420px] gap-2"):
            ui.label("Animate this image").classes("text-h6")
            ui.label("Which model makes the video?").classes("text-xs sc-muted")
            pick = ui.select(models, value=models[0]).props('outlined dense data-testid="init-model"').classes("w-full")

            def go() -> None:
                dialog.close()
                app.storage.user[STORAGE_KEY] = {**remembered, "checkpoint": pick.value}
                self._queue_video(item_id, str(pick.value))

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Queue video", on_click=go).props('unelevated color=primary data-testid="init-go"')
        dialog.open()

    def _queue_video(self, item_id: int, checkpoint: str) -> None:
        item = next(i for i in self.items if int(i["id"]) == item_id)
        queued = None
        with user_errors():
            request = generation.parse_request(mode="video", checkpoint=checkpoint, init_item_id=item_id)
            queued = read(generation.create_generation, self._user(), int(item["clip_id"]), request)
        if queued is None:
            return
        success(f"Queued a video from image #{item_id}")
        self._queued()

    def _user(self) -> User:
        assert self.actions is not None, "actions need GalleryActions"
        return self.actions.user

    def _changed(self) -> None:
        if self.actions is not None:
            self.actions.changed()

    def _queued(self) -> None:
        if self.actions is not None:
            self.actions.queued()


def _icon_button(icon: str, testid: str, label: str, place: str, on_click: Callable[[], None]) -> ui.element:
    """A native button with a Material icon: a strip of hundreds costs far less than Quasar buttons."""
    button = ui.element("button").classes("sc-result-btn material-icons").classes(BUTTON_PLACES[place])
    button._text = icon
    button.props("type=button")
    button.props.update({"data-testid": testid, "aria-label": label, "title": label})
    button.on("click", lambda: on_click())
    return button
