"""Which notices a person gets and how (sound, desktop notices), stored on User.notification_prefs.

Stored values are read leniently: a field that no longer validates (an older shape, a hand edit)
falls back to its default instead of breaking every page that shows notices.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlmodel import Session

from data.errors import NotFound
from data.models import NOTIFICATION_KINDS, User

from . import events
from .projects import validation_error


def _all_kinds_on() -> dict[str, bool]:
    return dict.fromkeys(NOTIFICATION_KINDS, True)


class Preferences(BaseModel):
    """Which notices a person gets and how: stored on User.notification_prefs, defaults filled in."""

    events: dict[str, bool] = Field(default_factory=_all_kinds_on)
    sound: bool = False
    # Opt-in: the browser must also allow it (Notification.permission), which only the person can grant.
    desktop: bool = False
    # Desktop notices only for work that took at least this long: short jobs are watched anyway.
    desktop_min_seconds: int = Field(default=30, ge=0, le=86_400)

    @field_validator("events")
    @classmethod
    def _known_kinds(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(NOTIFICATION_KINDS))
        if unknown:
            raise ValueError(f"unknown event {unknown[0]!r}: use {', '.join(NOTIFICATION_KINDS)}")
        return {**_all_kinds_on(), **value}

    def wants(self, kind: str) -> bool:
        return self.events.get(kind, True)


def _stored_preferences(stored: dict[str, Any] | None) -> Preferences:
    """What is stored, read leniently: a field that no longer validates falls back to its default."""
    values = dict(stored or {})
    try:
        return Preferences(**values)
    except ValidationError as error:
        bad = {str(problem["loc"][0]) for problem in error.errors() if problem["loc"]}
        kept = {key: value for key, value in values.items() if key not in bad}
        if isinstance(values.get("events"), dict):  # keep the known kinds of a partly bad events map
            kept["events"] = {k: bool(v) for k, v in values["events"].items() if k in NOTIFICATION_KINDS}
        try:
            return Preferences(**kept)
        except ValidationError:
            return Preferences()


def get_preferences(user: User) -> Preferences:
    return _stored_preferences(user.notification_prefs)


def own_preferences(session: Session, actor: User) -> Preferences:
    """The acting person's own preferences, read from their stored row rather than from the user object a tab
    holds (another tab may have changed them since); the defaults when the account is gone."""
    stored = session.get(User, actor.id)
    return get_preferences(stored) if stored is not None else Preferences()


def parse_preferences(values: dict[str, Any]) -> Preferences:
    """A person's new preferences (missing fields take their defaults); Invalid says which field is wrong."""
    try:
        return Preferences(**values)
    except ValidationError as error:
        raise validation_error(error) from error


def set_preferences(session: Session, user: User, preferences: Preferences) -> Preferences:
    """Stores the whole set; every open tab of the person reloads it (sound, desktop) from the event."""
    stored = session.get(User, user.id)
    if stored is None:
        raise NotFound("Your account no longer exists.")
    stored.notification_prefs = preferences.model_dump()  # a new dict: JSON columns track assignment only
    session.add(stored)
    session.commit()
    user.notification_prefs = stored.notification_prefs
    events.emit(events.notifications_changed, stored.id)
    return preferences


def update_preferences(session: Session, user: User, **changes: Any) -> Preferences:
    """Changes some fields and keeps the rest (the account page saves one checkbox at a time)."""
    current = session.get(User, user.id)
    if current is None:
        raise NotFound("Your account no longer exists.")
    merged = get_preferences(current).model_dump()
    if "events" in changes:
        merged["events"] = {**merged["events"], **changes.pop("events")}
    merged.update(changes)
    return set_preferences(session, user, parse_preferences(merged))
