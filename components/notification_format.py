"""How notices read on screen, shared by the toasts and the panel: icons, colours, grouped wording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.services import notifications
from data.models import Notification

KIND_ICONS = {"job_completed": "check_circle", "job_failed": "error", "batch_finished": "layers"}
LEVEL_COLORS = {"positive": "positive", "negative": "negative", "info": "primary"}
# Whole class strings, chosen by level: a class list is parsed, so it is never built from stored values.
LEVEL_TEXT_CLASSES = {level: f"text-{color}" for level, color in LEVEL_COLORS.items()}


@dataclass(frozen=True)
class NoticeView:
    """The little a toast needs of a notice, read while its session is open."""

    id: int
    kind: str
    level: str
    title: str
    body: str
    link: str | None
    clip_id: int | None
    can_retry: bool
    duration_seconds: float | None
    thumbnail: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, notice: Notification) -> NoticeView:
        item_ids = (notice.extra or {}).get("item_ids") or []
        return cls(
            id=notice.id,  # type: ignore[arg-type]  # a stored row's id is never None
            kind=notice.kind,
            level=notice.level,
            title=notice.title,
            body=notice.body,
            link=notice.link,
            clip_id=notice.clip_id,
            can_retry=notifications.can_retry(notice),
            duration_seconds=notice.duration_seconds,
            thumbnail=f"/api/v1/gallery/{item_ids[-1]}/thumbnail" if item_ids else None,
            extra=dict(notice.extra or {}),
        )


def group_key(view: NoticeView) -> str:
    """Toasts of one key merge into one: results together, failures together, each batch on its own."""
    return f"batch-{view.id}" if view.kind == "batch_finished" else view.kind


def _places(views: list[NoticeView]) -> str:
    names = list(dict.fromkeys(str(v.extra.get("clip_label") or v.extra.get("project_name") or "") for v in views))
    names = [name for name in names if name]
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def group_title(views: list[NoticeView]) -> str:
    """One notice keeps its own title; several say how many ("4 results ready", "2 jobs failed")."""
    if len(views) == 1:
        return views[0].title
    if views[0].kind == "job_completed":
        return f"{len(views)} results ready"
    if views[0].kind == "job_failed":
        return f"{len(views)} jobs failed"
    return f"{len(views)} batches finished"


def group_body(views: list[NoticeView]) -> str:
    if len(views) == 1:
        return views[0].body
    places = _places(views)
    if views[0].kind == "job_failed":
        latest_error = views[-1].body
        return f"{places}: {latest_error}" if places else latest_error
    return places


def group_link(views: list[NoticeView]) -> str | None:
    """Where Open leads: the one place they share, else None (the panel shows them all)."""
    links = {view.link for view in views}
    return links.pop() if len(links) == 1 else None
