"""Studio-wide settings an administrator changes while the app runs, kept in the database.

The environment (STORYCANVAS_OPEN_REGISTRATION) only gives the value a studio starts with: once an
administrator sets it on the Users page or through the API, the stored value wins, in every process.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.config import get_settings
from data.errors import Forbidden
from data.models import StudioSetting, User
from data.models._common import utcnow

OPEN_REGISTRATION = "open_registration"
ADMIN_ONLY = "Only an administrator can change the studio's settings."


@dataclass(frozen=True)
class StudioSettings:
    open_registration: bool


def open_registration(session: Session) -> bool:
    """Whether anyone who opens the sign-in page may create an account (the first account always may)."""
    stored = session.get(StudioSetting, OPEN_REGISTRATION)
    if stored is None or not isinstance(stored.value, bool):
        return get_settings().open_registration
    return stored.value


def current(session: Session) -> StudioSettings:
    return StudioSettings(open_registration=open_registration(session))


def update(session: Session, actor: User, *, open_registration: bool | None = None) -> StudioSettings:
    """Administrators only; a field left out keeps its value."""
    if not actor.is_admin:
        raise Forbidden(ADMIN_ONLY)
    if open_registration is not None:
        _store(session, actor, OPEN_REGISTRATION, bool(open_registration))
    session.commit()
    return current(session)


def _store(session: Session, actor: User, key: str, value: object) -> None:
    row = session.get(StudioSetting, key) or StudioSetting(key=key)
    row.value = value
    row.updated_at = utcnow()
    row.updated_by = actor.id
    session.add(row)
