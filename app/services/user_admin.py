"""An administrator's rules for other people's accounts: create, disable, reset, promote.

The studio never loses its last active administrator: a change that would leave no active
administrator is refused, whoever asks. Disabling an account or resetting its password bumps its
token version, so every API token and browser session it had stops working (and stays stopped
after the account is enabled again).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from data.errors import Conflict, Forbidden, NotFound
from data.models import User

from . import users
from .security import hash_password

ADMIN_ONLY = "Only an administrator can manage accounts."


@dataclass(frozen=True)
class AccountRow:
    id: int
    username: str
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def row(user: User) -> AccountRow:
    return AccountRow(
        id=user.id,  # type: ignore[arg-type]  # a stored row's id is never None
        username=user.username,
        email=user.email,
        is_admin=user.is_admin,
        is_active=user.is_active,
        created_at=_aware(user.created_at),  # type: ignore[arg-type]  # created_at always has a value, so _aware gives one back
        last_login_at=_aware(user.last_login_at),
    )


def require_admin(actor: User) -> None:
    if not actor.is_admin or not actor.is_active:
        raise Forbidden(ADMIN_ONLY)


def stored_actor(session: Session, actor: User) -> User:
    """The acting account as stored now, not as it was when the page opened: a demotion or a disabled
    account counts at the next action. An account that no longer exists acts as nobody."""
    stored = session.get(User, actor.id)
    if stored is None:
        raise Forbidden(ADMIN_ONLY)
    return stored


def generate_password() -> str:
    """16 URL-safe characters (96 bits): typed once by the person, then changed on their Account page."""
    return secrets.token_urlsafe(12)


def list_accounts(session: Session, actor: User) -> list[AccountRow]:
    require_admin(actor)
    return [row(u) for u in session.exec(select(User).order_by(func.lower(User.username)))]


def create_account(
    session: Session, actor: User, username: str, email: str, password: str | None = None, *, is_admin: bool = False
) -> tuple[AccountRow, str | None]:
    """An account made by an administrator, whatever the registration setting.

    Without a password one is generated and returned (the only time it is readable); with one, None.
    """
    require_admin(actor)
    generated = None if password else generate_password()
    data = users.validate_registration(username, email, password or generated or "")
    user = users.register(session, data, admin=is_admin, force=True)
    return row(user), generated


def _account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such account: it may have been removed.")
    return user


def update_account(
    session: Session, actor: User, user_id: int, *, is_admin: bool | None = None, is_active: bool | None = None
) -> AccountRow:
    """Promote, demote, disable or enable; refused when it would leave no active administrator."""
    require_admin(actor)
    target = _account(session, user_id)
    will_admin = target.is_admin if is_admin is None else is_admin
    will_active = target.is_active if is_active is None else is_active
    if target.is_admin and target.is_active and not (will_admin and will_active):
        # Lock the administrators' rows (PostgreSQL) so two admins demoting each other cannot both pass.
        others = session.exec(
            select(User.id).where(col(User.is_admin), col(User.is_active), col(User.id) != target.id).with_for_update()
        ).all()
        if not others:
            who = "You are" if target.id == actor.id else f"{target.username} is"
            raise Conflict(
                f"{who} the studio's last active administrator: make another account an administrator first.",
                field="is_admin" if not will_admin else "is_active",
            )
    if is_active is False and target.is_active:
        target.token_version += 1  # its tokens and browser sessions end now, and stay ended if re-enabled
    target.is_admin = will_admin
    target.is_active = will_active
    session.add(target)
    session.commit()
    session.refresh(target)
    return row(target)


def reset_password(session: Session, actor: User, user_id: int) -> str:
    """Sets a generated password and returns it once; every session and token of the account ends."""
    require_admin(actor)
    target = _account(session, user_id)
    password = generate_password()
    target.password_hash = hash_password(password)
    target.token_version += 1
    session.add(target)
    session.commit()
    return password
