"""A person's notices and notification preferences over REST: only ever their own (others' ids are 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi import status as http_status
from pydantic import BaseModel

from app.services import notifications
from app.services.notifications import NotificationFilter, Preferences
from data.models import Notification, RowId

from .deps import SessionDep, UserDep

router = APIRouter(tags=["notifications"])


class NotificationPublic(BaseModel):
    id: int
    kind: str  # job_completed | job_failed | batch_finished
    level: str  # info | positive | negative
    title: str
    body: str
    project_id: int | None
    job_id: int | None
    batch_id: int | None
    clip_id: int | None
    link: str | None
    duration_seconds: float | None
    read: bool
    can_retry: bool
    created_at: datetime
    extra: dict[str, Any]

    @classmethod
    def of(cls, notice: Notification) -> NotificationPublic:
        values = {name: getattr(notice, name) for name in cls.model_fields if name != "can_retry"}
        return cls(**values, can_retry=notifications.can_retry(notice))


class NotificationList(BaseModel):
    items: list[NotificationPublic]
    total: int
    unread: int


class CountResult(BaseModel):
    count: int


FiltersDep = Annotated[NotificationFilter, Depends()]


@router.get("/notifications", response_model=NotificationList)
def list_notifications(
    user: UserDep,
    session: SessionDep,
    filters: FiltersDep,
    limit: int = Query(50, ge=1, le=notifications.PAGE_LIMIT),
    offset: int = Query(0, ge=0),
) -> NotificationList:
    found = notifications.list_notifications(session, user, filters, limit=limit, offset=offset)
    return NotificationList(
        items=[NotificationPublic.of(notice) for notice in found.items], total=found.total, unread=found.unread
    )


@router.delete("/notifications", response_model=CountResult)
def clear_notifications(user: UserDep, session: SessionDep, filters: FiltersDep) -> CountResult:
    """Removes every notice the same filters as the list would show (all of them without filters)."""
    return CountResult(count=notifications.clear(session, user, filters))


@router.post("/notifications/read-all", response_model=CountResult)
def read_all(user: UserDep, session: SessionDep) -> CountResult:
    return CountResult(count=notifications.mark_all_read(session, user))


@router.post("/notifications/{notification_id}/read", response_model=NotificationPublic)
def read_one(notification_id: RowId, user: UserDep, session: SessionDep) -> NotificationPublic:
    return NotificationPublic.of(notifications.read_one(session, user, notification_id))


@router.post("/notifications/{notification_id}/retry", response_model=CountResult)
def retry(notification_id: RowId, user: UserDep, session: SessionDep) -> CountResult:
    """The failed job (or a batch's failed jobs) back in the queue; `count` says how many jobs went back."""
    return CountResult(count=notifications.retry(session, user, [notification_id]))


@router.delete("/notifications/{notification_id}", status_code=http_status.HTTP_204_NO_CONTENT)
def delete_notification(notification_id: RowId, user: UserDep, session: SessionDep) -> Response:
    notifications.delete_notification(session, user, notification_id)
    return Response(status_code=http_status.HTTP_204_NO_CONTENT)


@router.get("/me/notification-preferences", response_model=Preferences)
def get_preferences(user: UserDep) -> Preferences:
    return notifications.get_preferences(user)


@router.put("/me/notification-preferences", response_model=Preferences)
def put_preferences(body: Preferences, user: UserDep, session: SessionDep) -> Preferences:
    """The whole set: fields left out take their defaults (every event on, no sound, no desktop notices)."""
    return notifications.set_preferences(session, user, body)
