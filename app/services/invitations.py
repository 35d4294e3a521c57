"""Invitation links: how a person joins a studio whose self-registration is closed.

A link is single use, expires after a lifetime the administrator chooses, may be meant for one
email address, and may make its user an administrator. The database holds the token's SHA-256
(for lookup) and the token encrypted with the installation's key (so the link can be copied again);
a used, expired or revoked link says which, in words, to whoever opens it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from data.errors import Forbidden, Invalid, NotFound, Unauthorized
from data.models import Invitation, User
from data.models._common import utcnow

from .security import decrypt_secret, encrypt_secret

ADMIN_ONLY = "Only an administrator can invite people."
DEFAULT_DAYS = 7
MAX_DAYS = 90
INVITE_PATH = "/invite/"

_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)

NOT_VALID = "This invitation link is not valid: check that you copied all of it, or ask an administrator for a new one."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class InvitationView:
    id: int
    email: str | None
    is_admin: bool
    status: str  # pending | used | expired | revoked
    created_at: datetime
    expires_at: datetime
    created_by: str | None
    used_at: datetime | None
    used_by: str | None
    # "/invite/<token>" while pending and readable with this installation's key; None otherwise.
    link: str | None


def status_of(invitation: Invitation, now: datetime | None = None) -> str:
    now = now or utcnow()
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.used_at is not None:
        return "used"
    if _aware(invitation.expires_at) <= now:
        return "expired"
    return "pending"


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(ADMIN_ONLY)


def _link(invitation: Invitation) -> str | None:
    if not invitation.token_encrypted:
        return None
    try:
        return INVITE_PATH + decrypt_secret(invitation.token_encrypted)
    except Unauthorized:  # the secret key was rotated: the link cannot be rebuilt, make a new one
        return None


def create(
    session: Session, actor: User, *, email: str | None = None, is_admin: bool = False, days: int = DEFAULT_DAYS
) -> tuple[Invitation, str]:
    """A new pending invitation and its token (the only time the caller gets it in the clear)."""
    _require_admin(actor)
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"An invitation lasts 1 to {MAX_DAYS} days.", field="expires_in_days")
    email = (email or "").strip().lower() or None
    if email is not None:
        try:
            _EMAIL.validate_python(email)
        except ValidationError as error:
            raise Invalid(
                "Email: enter a valid address, like name@studio.com, or leave it empty.", field="email"
            ) from error
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        token_hash=_hash(token),
        token_encrypted=encrypt_secret(token),
        email=email,
        is_admin=is_admin,
        created_by=actor.id,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(invitation)
    session.commit()
    session.refresh(invitation)
    return invitation, token


def view(session: Session, invitation: Invitation, now: datetime | None = None) -> InvitationView:
    status = status_of(invitation, now)
    names = _usernames(session, {invitation.created_by, invitation.used_by})
    return _view(invitation, status, names)


def _view(invitation: Invitation, status: str, names: dict[int, str]) -> InvitationView:
    return InvitationView(
        id=invitation.id,  # type: ignore[arg-type]  # a stored row's id is never None
        email=invitation.email,
        is_admin=invitation.is_admin,
        status=status,
        created_at=_aware(invitation.created_at),
        expires_at=_aware(invitation.expires_at),
        created_by=names.get(invitation.created_by) if invitation.created_by else None,
        used_at=_aware(invitation.used_at) if invitation.used_at else None,
        used_by=names.get(invitation.used_by) if invitation.used_by else None,
        link=_link(invitation) if status == "pending" else None,
    )


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(User.id, User.username).where(col(User.id).in_(wanted))).all()
    return {row[0]: row[1] for row in rows}  # type: ignore[misc]  # a stored row's id is never None


def list_invitations(session: Session, actor: User) -> list[InvitationView]:
    """Newest first: pending ones with their link, then the history of used, expired and revoked ones."""
    _require_admin(actor)
    rows = session.exec(select(Invitation).order_by(col(Invitation.created_at).desc(), col(Invitation.id).desc()))
    invitations = list(rows)
    names = _usernames(session, {i.created_by for i in invitations} | {i.used_by for i in invitations})
    now = utcnow()
    return [_view(i, status_of(i, now), names) for i in invitations]


def revoke(session: Session, actor: User, invitation_id: int) -> InvitationView:
    """A revoked link stops working at once; revoking twice, or a used link, changes nothing."""
    _require_admin(actor)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("No such invitation: it may have been deleted.")
    if invitation.revoked_at is None and invitation.used_at is None:
        invitation.revoked_at = utcnow()
        session.add(invitation)
        session.commit()
    return view(session, invitation)


def open_invitation(session: Session, token: str) -> Invitation:
    """The pending invitation a token names, or Forbidden saying in words why the link is dead."""
    invitation = session.exec(select(Invitation).where(Invitation.token_hash == _hash(token or ""))).first()
    if invitation is None:
        raise Forbidden(NOT_VALID, field="invitation")
    status = status_of(invitation)
    if status == "revoked":
        raise Forbidden(
            "This invitation was withdrawn by an administrator: ask them for a new one.", field="invitation"
        )
    if status == "used":
        raise Forbidden(
            "This invitation has already been used to create an account: sign in with that account, "
            "or ask an administrator for a new link.",
            field="invitation",
        )
    if status == "expired":
        expired = _aware(invitation.expires_at).strftime("%d %b %Y %H:%M UTC")
        raise Forbidden(
            f"This invitation expired on {expired}: ask an administrator for a new one.", field="invitation"
        )
    return invitation


def check_email(invitation: Invitation, email: str) -> None:
    if invitation.email and invitation.email.lower() != email.strip().lower():
        raise Forbidden(
            f"This invitation is for {invitation.email}: register with that address, "
            "or ask an administrator for an invitation for yours.",
            field="email",
        )


def claim(session: Session, invitation: Invitation, user: User) -> None:
    """Marks the link used by this (flushed, uncommitted) user, once, even when two people race for it.

    The conditional UPDATE is the single-use guarantee: of two registrations with one link, only one
    changes the row; the other rolls back its new account.
    """
    now = utcnow()
    result = session.execute(
        update(Invitation)
        .where(
            col(Invitation.id) == invitation.id,
            col(Invitation.used_at).is_(None),
            col(Invitation.revoked_at).is_(None),
            col(Invitation.expires_at) > now,
        )
        .values(used_at=now, used_by=user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult, which has rowcount
        session.rollback()
        raise Forbidden(
            "This invitation was used or withdrawn a moment ago: ask an administrator for a new one.",
            field="invitation",
        )
