"""A person's notices: listing with filters and search, read state, removal, and retrying what failed.

Notices are made by the sweep (notification_sweep.py) from finished jobs and batches; which kinds a
person gets, and whether with sound or desktop notices, is in notification_prefs.py. Both are part
of this module's interface, so pages, the API and the dispatcher import only `notifications`.
Notices are personal: nobody, administrators included, sees another person's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from data.errors import Conflict, Invalid, NotFound
from data.models import NOTIFICATION_KINDS, Notification, RowId, User

from . import batches, events, job_views, jobs, unreadable_rows
from .notification_prefs import (
    Preferences,
    get_preferences,
    own_preferences,
    parse_preferences,
    set_preferences,
    update_preferences,
)
from .notification_sweep import batch_summary, sweep

__all__ = [
    "KIND_LABELS",
    "LEVELS",
    "PAGE_LIMIT",
    "NotificationPage",
    "Preferences",
    "ToastNews",
    "batch_summary",
    "can_retry",
    "clear",
    "delete_notification",
    "get_notification",
    "get_preferences",
    "latest_id",
    "list_notifications",
    "mark_all_read",
    "mark_read",
    "newer_than",
    "news_since",
    "own_preferences",
    "parse_preferences",
    "read_one",
    "retry",
    "set_preferences",
    "sweep",
    "unread_count",
    "update_preferences",
]

LEVELS = ("info", "positive", "negative")
KIND_LABELS = {"job_completed": "Job completed", "job_failed": "Job failed", "batch_finished": "Batch finished"}
PAGE_LIMIT = 200


# --- reading and acting ---------------------------------------------------------------------------


@dataclass
class NotificationPage:
    items: list[Notification]
    total: int  # matching the filters
    unread: int  # all of the person's unread notices, whatever the filters


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class NotificationFilter:
    """What the list shows and "clear" removes: the same filters for both (and for the REST query)."""

    kind: str | None = None
    level: str | None = None
    unread: bool | None = None  # True: unread only, False: read only
    q: str | None = None  # searched in title and body, wildcards taken literally
    project_id: RowId | None = None

    def apply(self, query, actor: User):
        if self.kind is not None and self.kind not in NOTIFICATION_KINDS:
            raise Invalid(f"Unknown kind “{self.kind}”: use one of {', '.join(NOTIFICATION_KINDS)}.", field="kind")
        if self.level is not None and self.level not in LEVELS:
            raise Invalid(f"Unknown level “{self.level}”: use one of {', '.join(LEVELS)}.", field="level")
        query = query.where(Notification.user_id == actor.id)
        if self.kind is not None:
            query = query.where(Notification.kind == self.kind)
        if self.level is not None:
            query = query.where(Notification.level == self.level)
        if self.unread is not None:
            query = query.where(Notification.read == (not self.unread))
        if self.project_id is not None:
            query = query.where(Notification.project_id == self.project_id)
        text = (self.q or "").strip()
        if text:
            pattern = f"%{_escape_like(text)}%"
            query = query.where(
                or_(
                    col(Notification.title).ilike(pattern, escape="\\"),
                    col(Notification.body).ilike(pattern, escape="\\"),
                )
            )
        return query


ALL = NotificationFilter()


def list_notifications(
    session: Session,
    actor: User,
    where: NotificationFilter = ALL,
    *,
    limit: int = 50,
    offset: int = 0,
) -> NotificationPage:
    """A person's own notices, newest first; `unread=True` only unread ones, `q` searches title and body."""
    if not 1 <= limit <= PAGE_LIMIT:
        raise Invalid(f"limit must be between 1 and {PAGE_LIMIT}.", field="limit")
    if offset < 0:
        raise Invalid("offset cannot be negative.", field="offset")
    query = where.apply(select(Notification), actor)
    ordered = query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    # a row nobody can read (written past the checks) is left out, not a broken panel
    items = unreadable_rows.load_each(session, ordered.offset(offset).limit(limit), Notification)
    total = session.exec(where.apply(select(func.count()).select_from(Notification), actor)).one()
    return NotificationPage(list(items), int(total), unread_count(session, actor))


def unread_count(session: Session, actor: User) -> int:
    query = select(func.count()).select_from(Notification)
    return int(session.exec(query.where(Notification.user_id == actor.id, Notification.read == False)).one())  # noqa: E712


def latest_id(session: Session, actor: User) -> int:
    """The newest notice's id (0 without any): a tab shows toasts only for what comes after it."""
    found = session.exec(select(func.max(Notification.id)).where(Notification.user_id == actor.id)).one()
    return int(found or 0)


def newer_than(session: Session, actor: User, after_id: int, limit: int = 100) -> list[Notification]:
    """Notices made after `after_id`, oldest first (what a tab has not shown as a toast yet)."""
    query = select(Notification).where(Notification.user_id == actor.id, col(Notification.id) > after_id)
    return unreadable_rows.load_each(session, query.order_by(col(Notification.id)).limit(limit), Notification)


@dataclass(frozen=True)
class ToastNews:
    """What a tab shows after the person's notices changed."""

    fresh: list[Notification]  # oldest first
    unread: int
    preferences: Preferences


def news_since(session: Session, actor: User, after_id: int, limit: int = 100) -> ToastNews:
    """The acting person's own notices newer than `after_id`, their unread count and their preferences, read
    together so the toasts, the bell's count and the sound agree. Nobody else's notices are in it."""
    return ToastNews(
        fresh=newer_than(session, actor, after_id, limit=limit),
        unread=unread_count(session, actor),
        preferences=own_preferences(session, actor),
    )


def get_notification(session: Session, actor: User, notification_id: int) -> Notification:
    """Another person's notice is NotFound, even for administrators: notices are personal."""
    found = session.get(Notification, notification_id, populate_existing=True)
    if found is None or found.user_id != actor.id:
        raise NotFound(f"Notification {notification_id} does not exist or is not yours.")
    return found


def mark_read(session: Session, actor: User, notification_ids: Iterable[int]) -> int:
    """Marks the person's own notices read (others' ids are ignored); returns how many changed."""
    ids = sorted(set(notification_ids))
    if not ids:
        return 0
    return _mark_read(session, actor, col(Notification.id).in_(ids))


def read_one(session: Session, actor: User, notification_id: int) -> Notification:
    notice = get_notification(session, actor, notification_id)
    mark_read(session, actor, [notification_id])
    session.refresh(notice)
    return notice


def mark_all_read(session: Session, actor: User) -> int:
    return _mark_read(session, actor)


def _mark_read(session: Session, actor: User, *conditions: Any) -> int:
    """One UPDATE limited to the person's own unread notices; tabs hear of it only when something changed."""
    result = session.exec(
        update(Notification)
        .where(col(Notification.user_id) == actor.id, col(Notification.read) == False, *conditions)  # noqa: E712
        .values(read=True)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    changed = result.rowcount or 0
    if changed:
        events.emit(events.notifications_changed, actor.id)
    return changed


def delete_notification(session: Session, actor: User, notification_id: int) -> None:
    """Removes one notice from the history; the job or batch it told about stays."""
    notice = get_notification(session, actor, notification_id)
    session.delete(notice)
    session.commit()
    events.emit(events.notifications_changed, actor.id)


def clear(session: Session, actor: User, where: NotificationFilter = ALL) -> int:
    """Removes the person's notices that match the filters (all of them without filters)."""
    ids = list(session.exec(where.apply(select(Notification.id), actor)).all())
    count = 0
    for chunk in job_views.id_slices(ids):
        result = session.exec(
            sql_delete(Notification)
            .where(col(Notification.id).in_(chunk), col(Notification.user_id) == actor.id)
            .execution_options(synchronize_session=False)
        )
        count += result.rowcount or 0
    session.commit()
    if count:
        events.emit(events.notifications_changed, actor.id)
    return count


# --- retrying what a notice told about ------------------------------------------------------------


def can_retry(notice: Notification) -> bool:
    """Whether the notice offers Retry: a failed job, or a batch with failures."""
    if notice.kind == "job_failed":  # not a graph the server refused: it would be refused again
        return notice.job_id is not None and bool((notice.extra or {}).get("can_retry", True))
    if notice.kind == "batch_finished":
        return notice.batch_id is not None and bool((notice.extra or {}).get("failed"))
    return False


def _retry_batch(session: Session, actor: User, batch_id: int) -> int:
    """The batch's failed jobs back in the queue; the batch service also makes its summary due again."""
    count = batches.retry_failed(session, actor, batch_id)
    if not count:
        raise Conflict(f"Batch {batch_id} has no failed jobs any more: nothing to retry.")
    return count


def retry(session: Session, actor: User, notification_ids: Sequence[int]) -> int:
    """Puts the failed work of these notices back in the queue and marks them read; returns the job count.

    Work that is no longer failed (retried elsewhere meanwhile, deleted) is skipped; when nothing at
    all could be retried, Conflict says why."""
    notices = [get_notification(session, actor, notification_id) for notification_id in notification_ids]
    count = 0
    reasons: list[str] = []
    for notice in notices:
        if not can_retry(notice):
            reasons.append(f"“{notice.title}” has nothing to retry.")
            continue
        try:
            if notice.kind == "job_failed":
                jobs.retry_job(session, actor, notice.job_id)  # type: ignore[arg-type]  # can_retry above: a failed-job notice names its job
                count += 1
            else:
                count += _retry_batch(session, actor, notice.batch_id)  # type: ignore[arg-type]  # can_retry above: a batch notice names its batch
        except (Conflict, NotFound) as error:
            reasons.append(error.message)
    mark_read(session, actor, [notice.id for notice in notices if notice.id is not None])
    if not count:
        raise Conflict(" ".join(reasons) or "Nothing to retry.")
    return count
