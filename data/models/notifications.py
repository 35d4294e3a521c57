"""What a person was told about their work, kept so the notification panel can show it again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from ._common import json_column, utcnow

NOTIFICATION_KINDS = ("job_completed", "job_failed", "batch_finished")


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    project_id: int | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=30)  # one of NOTIFICATION_KINDS
    level: str = Field(default="info", max_length=10)  # info | positive | negative
    title: str = Field(max_length=300)
    body: str = Field(default="", max_length=2000)
    job_id: int | None = Field(default=None, foreign_key="generation_jobs.id", ondelete="SET NULL")
    batch_id: int | None = Field(default=None, foreign_key="batches.id", ondelete="SET NULL")
    clip_id: int | None = Field(default=None, foreign_key="clips.id", ondelete="SET NULL")
    # Where "Open" leads (a clip's scene, a batch, a result).
    link: str | None = Field(default=None, max_length=500)
    # How long the work took, so desktop notices can be kept for long jobs only.
    duration_seconds: float | None = None
    read: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
