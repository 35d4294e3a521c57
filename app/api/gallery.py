"""Results of clips over REST: list, select, delete, and the files themselves."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import FileResponse

from app.services import gallery
from app.services.scenes import media_path
from data.errors import NotFound
from data.models import RowId

from .deps import SessionDep, UserDep, ViewerDep

router = APIRouter(tags=["gallery"])


@router.get("/clips/{clip_id}/gallery")
def list_gallery(
    clip_id: RowId,
    user: UserDep,
    session: SessionDep,
    response: Response,
    kind: Literal["image", "video"] | None = None,
    limit: int = Query(gallery.PAGE_LIMIT, ge=1, le=gallery.MAX_PAGE_LIMIT),
    offset: int = Query(0, ge=0, le=2**31 - 1),
) -> list[dict[str, Any]]:
    """Newest first, a page at a time; `X-Total-Count` says how many results the clip has in all."""
    items, total = gallery.gallery_page(session, user, clip_id, kind, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [gallery.item_public(item) for item in items]


@router.post("/gallery/{item_id}/select")
def select_item(item_id: RowId, user: UserDep, session: SessionDep) -> dict[str, Any]:
    return gallery.item_public(gallery.select_item(session, user, item_id))


@router.delete("/gallery/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id: RowId, user: UserDep, session: SessionDep) -> Response:
    gallery.delete_items(session, user, [item_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _file(stored: str | None, what: str, download_name: str | None = None) -> FileResponse:
    path = media_path(stored)
    if path is None or not path.is_file():
        raise NotFound(f"The {what} file is missing from the media folder.")
    # Content-addressed names never change content: let browsers keep them.
    headers = {"Cache-Control": "private, max-age=31536000, immutable"}
    if download_name is None:
        return FileResponse(path, headers=headers)
    return FileResponse(
        path, headers=headers, filename=download_name + path.suffix.lower(), content_disposition_type="attachment"
    )


@router.get("/gallery/{item_id}/file")
def item_file(item_id: RowId, user: ViewerDep, session: SessionDep, download: bool = False) -> FileResponse:
    """`?download=1` asks the browser to save the file (named after the clip and result) instead of showing it."""
    item = gallery.get_item(session, user, item_id)
    name = f"clip{item.clip_id}-{item.kind}{item.id}" if download else None
    return _file(item.file_path, "result", name)


@router.get("/gallery/{item_id}/thumbnail")
def item_thumbnail(item_id: RowId, user: ViewerDep, session: SessionDep) -> FileResponse:
    item = gallery.get_item(session, user, item_id)
    return _file(item.thumbnail_path or item.file_path, "thumbnail")
