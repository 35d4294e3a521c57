"""A clip's results: list, choose the one the cut uses, remove what is not wanted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.services import clips, events, projects, scenes
from data.errors import Invalid
from data.models import GalleryItem, User

KINDS = ("image", "video")


PAGE_LIMIT = 200  # results per REST page unless asked otherwise
MAX_PAGE_LIMIT = 1000


def _items_query(session: Session, actor: User, clip_id: int, kind: str | None) -> Any:
    clips.get_clip(session, actor, clip_id)
    query = select(GalleryItem).where(GalleryItem.clip_id == clip_id)
    if kind is not None:
        if kind not in KINDS:
            raise Invalid(f"Unknown result kind '{kind}': use image or video.", field="kind")
        query = query.where(GalleryItem.kind == kind)
    return query


def gallery_items(session: Session, actor: User, clip_id: int, kind: str | None = None) -> list[GalleryItem]:
    """Newest first, so the latest generation is where the eye lands."""
    query = _items_query(session, actor, clip_id, kind)
    return list(session.exec(query.order_by(col(GalleryItem.created_at).desc(), col(GalleryItem.id).desc())).all())


def gallery_page(
    session: Session, actor: User, clip_id: int, kind: str | None = None, *, limit: int = PAGE_LIMIT, offset: int = 0
) -> tuple[list[GalleryItem], int]:
    """One page of a clip's results, newest first, and how many there are in all (a gallery can hold thousands)."""
    query = _items_query(session, actor, clip_id, kind)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    ordered = query.order_by(col(GalleryItem.created_at).desc(), col(GalleryItem.id).desc())
    return list(session.exec(ordered.offset(offset).limit(limit)).all()), int(total)


def get_item(session: Session, actor: User, item_id: int) -> GalleryItem:
    return projects.get_within(session, actor, GalleryItem, item_id, "Result")


def select_item(session: Session, actor: User, item_id: int) -> GalleryItem:
    """One selected result per kind and clip: the cut (and exports) use it."""
    item = get_item(session, actor, item_id)
    for other in session.exec(
        select(GalleryItem).where(
            GalleryItem.clip_id == item.clip_id,
            GalleryItem.kind == item.kind,
            GalleryItem.selected == True,  # noqa: E712
        )
    ).all():
        other.selected = False
        session.add(other)
    item.selected = True
    session.add(item)
    session.commit()
    session.refresh(item)
    events.emit(events.project_changed, item.project_id)
    return item


def delete_items(session: Session, actor: User, item_ids: list[int]) -> int:
    """Rows and files go; where the selected result went, the newest remaining one of its kind takes its place."""
    items = [get_item(session, actor, item_id) for item_id in dict.fromkeys(item_ids)]
    if not items:
        return 0
    paths = scenes.result_paths(items)
    reselect = {(item.clip_id, item.kind) for item in items if item.selected}
    project_ids = {item.project_id for item in items}
    for item in items:
        session.delete(item)
    session.flush()
    for clip_id, kind in reselect:
        newest = session.exec(
            select(GalleryItem)
            .where(GalleryItem.clip_id == clip_id, GalleryItem.kind == kind)
            .order_by(col(GalleryItem.created_at).desc(), col(GalleryItem.id).desc())
        ).first()
        if newest is not None:
            newest.selected = True
            session.add(newest)
    session.commit()
    scenes.remove_result_files(session, paths)
    for project_id in project_ids:
        events.emit(events.project_changed, project_id)
    return len(items)


def item_public(item: GalleryItem) -> dict[str, Any]:
    """The REST shape: {id, kind, url, thumbnail_url, selected, params} plus size and time."""
    return {
        "id": item.id,
        "clip_id": item.clip_id,
        "kind": item.kind,
        "url": f"/api/v1/gallery/{item.id}/file",
        "thumbnail_url": f"/api/v1/gallery/{item.id}/thumbnail" if item.thumbnail_path else None,
        "selected": item.selected,
        "params": item.params or {},
        "width": item.width,
        "height": item.height,
        "duration": item.duration,
        "job_id": item.job_id,
        "created_at": item.created_at,
    }
