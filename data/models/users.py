"""Accounts, their browser sessions and their encrypted API credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import EmailStr
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from ._common import json_column, utcnow

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,39}$"


class UserBase(SQLModel):
    username: str = Field(max_length=40, min_length=3, regex=USERNAME_PATTERN)
    email: str = Field(max_length=254)


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, unique=True, index=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    is_admin: bool = Field(default=False)
    is_active: bool = Field(default=True)
    # Bumped on password change so older sessions and tokens stop working.
    token_version: int = Field(default=0)
    theme: str = Field(default="dark", max_length=10)
    # Which events notify, sound, desktop notices: see app/services/notifications.Preferences.
    notification_prefs: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class UserCreate(SQLModel):
    username: str = Field(min_length=3, max_length=40, regex=USERNAME_PATTERN)
    email: EmailStr
    password: str = Field(min_length=8, max_length=256)


class UserPublic(SQLModel):
    id: int
    username: str
    email: str
    is_admin: bool
    created_at: datetime


class ApiCredential(SQLModel, table=True):
    """A third-party key, encrypted with a key derived from the installation's secret."""

    __tablename__ = "api_credentials"
    __table_args__ = (UniqueConstraint("user_id", "provider", name="uq_api_credentials_user_provider"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    provider: str = Field(max_length=20)  # openai | comfyui | civitai
    encrypted_key: str
    base_url: str | None = Field(default=None, max_length=500)
    hint: str = Field(default="", max_length=20)
    updated_at: datetime = Field(default_factory=utcnow)


class BrowserSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the database only its SHA-256.

    A stolen database therefore yields no usable cookie, and sign-in always makes a new row,
    so a cookie planted before sign-in never becomes a signed-in one.
    """

    __tablename__ = "browser_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    # The user's token version at sign-in: a later bump (password change, disable, reset) ends it.
    token_version: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    user_agent: str = Field(default="", max_length=300)


class LoginFailure(SQLModel, table=True):
    """Failed sign-ins of one account or one address, shared by every app process on the database.

    `next_attempt_at` is the earliest moment the next attempt may be checked: each attempt past
    the free ones reserves the following slot, so parallel guesses queue instead of racing.
    """

    __tablename__ = "login_failures"

    scope: str = Field(primary_key=True, max_length=300)  # "account:<name>" or "address:<ip>"
    failures: int = Field(default=0)
    first_failure_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime = Field(default_factory=utcnow)
