"""Reusable creative material: characters, style templates and uploaded media."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from ._common import big_int_column, json_column, utcnow


class Character(SQLModel, table=True):
    """Global when project_id is empty, otherwise scoped to one project."""

    __tablename__ = "characters"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="")
    prompt: str = Field(default="")
    negative_prompt: str = Field(default="")
    reference_image_path: str | None = Field(default=None, max_length=1000)
    face_asset_id: int | None = Field(default=None, foreign_key="media_assets.id", ondelete="SET NULL")
    usage_count: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class StyleTemplate(SQLModel, table=True):
    __tablename__ = "style_templates"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="")
    prompt_prefix: str = Field(default="")
    prompt_suffix: str = Field(default="")
    negative_prompt: str = Field(default="")
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    usage_count: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ClipCharacterLink(SQLModel, table=True):
    __tablename__ = "clip_characters"

    clip_id: int = Field(foreign_key="clips.id", ondelete="CASCADE", primary_key=True)
    character_id: int = Field(foreign_key="characters.id", ondelete="CASCADE", primary_key=True, index=True)


class ClipStyleLink(SQLModel, table=True):
    __tablename__ = "clip_styles"

    clip_id: int = Field(foreign_key="clips.id", ondelete="CASCADE", primary_key=True)
    style_id: int = Field(foreign_key="style_templates.id", ondelete="CASCADE", primary_key=True, index=True)


class MediaAsset(SQLModel, table=True):
    """An uploaded file (music, face reference), validated and analysed once."""

    __tablename__ = "media_assets"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)  # music | face | image
    file_path: str = Field(max_length=1000)
    original_name: str = Field(default="", max_length=255)
    mime_type: str = Field(default="", max_length=100)
    size_bytes: int = Field(default=0, sa_column=big_int_column(nullable=False))
    duration: float | None = None
    analysis: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow)
