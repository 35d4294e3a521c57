"""/results/{item_id}?sig=…: a shared link to one result, opened in the viewer among its clip's results.

The link's signature says this installation made it; the signed-in user must still be allowed to see
the project, so a forwarded link shows nothing to anyone else.
"""

from __future__ import annotations

from nicegui import ui

from app.services import clips, gallery, share_links
from components.frame import frame
from components.results_viewer import ResultsViewer
from components.service_call import read
from data.errors import DomainError
from data.models import User


def page(user: User, item_id: int, sig: str | None = None) -> None:
    try:
        item = read(share_links.open_shared, user, item_id, sig)
        clip = read(clips.get_clip, user, item.clip_id)
        items = [gallery.item_public(i) for i in read(gallery.gallery_items, user, item.clip_id, item.kind)]
        scene_id, clip_name = clip.scene_id, clips.clip_name(clip)
    except DomainError as error:
        ui.context.client.status_code = 404  # a forwarded link discloses nothing, not even that the result exists
        with frame("Result", user), ui.card().classes("w-[480px] gap-2"):
            ui.label("This result cannot be shown").classes("text-subtitle1")
            ui.label(error.message).classes("text-sm").props('data-testid="result-error"')
            ui.link("Back to your projects", "/projects").classes("text-sm")
        return
    with frame(f"Result #{item_id}", user):
        with ui.row().classes("w-full items-center gap-2"):
            ui.link(f"← {clip_name}", f"/scenes/{scene_id}").classes("text-sm").props('data-testid="result-scene"')
        index = next((i for i, entry in enumerate(items) if entry["id"] == item_id), 0)
        with ui.element("div").classes("w-full").style("height: calc(100vh - 120px)"):
            ResultsViewer(items, index, on_close=lambda: ui.navigate.to(f"/scenes/{scene_id}"))
