"""Signed-in browsers: server-side sessions behind a cookie of our own, and where sign-in may lead.

Rules kept here:
- Sign-in always makes a new random token (only its SHA-256 is stored), so a cookie planted in a
  browser before sign-in never becomes a signed-in cookie (session fixation).
- The page that checks the password cannot set a cookie (it talks over a websocket); it asks for
  a one-time ticket, short-lived and bound to that browser, which an HTTP route exchanges for the
  cookie.
- A session ends at sign-out, after 14 days unused, 30 days after sign-in, or when the user's
  token version moves (password change, account disabled, password reset by an administrator).
- After sign-in the browser goes only to a path of this site (open redirect).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urljoin, urlsplit

from sqlalchemy import delete
from sqlmodel import Session, col, select

from data.errors import Unauthorized
from data.models import User
from data.models._common import utcnow
from data.models.users import BrowserSession

from . import users

COOKIE_NAME = "storycanvas_session"
IDLE_LIFETIME = timedelta(days=14)
ABSOLUTE_LIFETIME = timedelta(days=30)
# last_seen_at is written at most this often, so media requests do not each write a row.
TOUCH_INTERVAL = timedelta(minutes=1)
TICKET_SECONDS = 60.0
DEFAULT_NEXT = "/projects"
USER_AGENT_LENGTH = 300


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create(session: Session, user: User, user_agent: str = "") -> str:
    """A new session for a user who has just proved who they are; returns the cookie's token."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        BrowserSession(
            token_hash=_hash(token),
            user_id=user.id,  # type: ignore[arg-type]  # a stored row's id is never None
            token_version=user.token_version,
            created_at=now,
            last_seen_at=now,
            expires_at=now + IDLE_LIFETIME,
            user_agent=(user_agent or "")[:USER_AGENT_LENGTH],
        )
    )
    session.execute(delete(BrowserSession).where(col(BrowserSession.expires_at) < now))
    session.commit()
    return token


def user_for(session: Session, token: str | None) -> User | None:
    """The signed-in user of a cookie, or None for a missing, unknown, expired or ended session.

    A session in use has its idle expiry moved forward, never past 30 days after sign-in.
    """
    if not token:
        return None
    row = session.exec(select(BrowserSession).where(BrowserSession.token_hash == _hash(token))).first()
    if row is None:
        return None
    now = utcnow()
    try:
        if _aware(row.expires_at) <= now:
            raise Unauthorized("Your session has expired: sign in again.")
        user = users.get_active_user(session, row.user_id, row.token_version)
    except Unauthorized:
        session.delete(row)
        session.commit()
        return None
    if now - _aware(row.last_seen_at) >= TOUCH_INTERVAL:
        row.last_seen_at = now
        row.expires_at = min(now + IDLE_LIFETIME, _aware(row.created_at) + ABSOLUTE_LIFETIME)
        session.add(row)
        session.commit()
    return user


def revoke(session: Session, token: str | None) -> None:
    """Sign-out: the cookie's session ends here, whatever the browser keeps."""
    if token:
        session.execute(delete(BrowserSession).where(col(BrowserSession.token_hash) == _hash(token)))
        session.commit()


def revoke_all(session: Session, user_id: int) -> int:
    """Ends every browser session of a user; returns how many there were."""
    result = session.execute(delete(BrowserSession).where(col(BrowserSession.user_id) == user_id))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # a DELETE's result is a CursorResult, which has rowcount


def count_for(session: Session, user_id: int) -> int:
    return len(session.exec(select(BrowserSession.id).where(BrowserSession.user_id == user_id)).all())


def change_password(session: Session, user: User, current: str, new: str) -> User:
    """A new password ends every API token and every browser session of the user, this one included.

    The browser that changed it signs in again with a ticket (see `issue_ticket`). `user` may be the copy a
    page holds from an earlier session: it is merged into this one, and the page's copy is left as it was.
    """
    updated = users.change_password(session, session.merge(user), current, new)
    revoke_all(session, updated.id)  # type: ignore[arg-type]  # a stored row's id is never None
    return updated


# --- One-time sign-in tickets -------------------------------------------------------------------
# Kept in memory: NiceGUI serves every page and route of an installation from one process, and
# a ticket lives for a minute, so a restart costs at most one repeated sign-in.


@dataclass(frozen=True)
class _Ticket:
    user_id: int
    token_version: int
    browser: str | None
    expires: float


_tickets: dict[str, _Ticket] = {}
_tickets_lock = threading.Lock()


def issue_ticket(user: User, browser: str | None) -> str:
    """A one-time, one-minute ticket that only the browser with this NiceGUI storage id can redeem.

    Binding the ticket to the browser means a ticket link sent to someone else signs nobody in.
    """
    ticket = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _tickets_lock:
        for key in [key for key, held in _tickets.items() if held.expires <= now]:
            del _tickets[key]
        _tickets[_hash(ticket)] = _Ticket(
            user.id,  # type: ignore[arg-type]  # a stored row's id is never None
            user.token_version,
            _hash(browser) if browser else None,
            now + TICKET_SECONDS,
        )
    return ticket


def redeem_ticket(session: Session, ticket: str | None, browser: str | None) -> User | None:
    """The user a ticket was issued for, once; None when unknown, used, expired or another browser's."""
    if not ticket:
        return None
    with _tickets_lock:
        held = _tickets.pop(_hash(ticket), None)
    if held is None or held.expires <= time.monotonic():
        return None
    if held.browser is not None and (not browser or not secrets.compare_digest(held.browser, _hash(browser))):
        return None
    try:
        return users.get_active_user(session, held.user_id, held.token_version)
    except Unauthorized:
        return None


def forget_tickets() -> None:
    """Tests start from none."""
    with _tickets_lock:
        _tickets.clear()


# --- Where sign-in may lead ---------------------------------------------------------------------

_ORIGIN = "http://storycanvas.invalid"


def _forbidden_character(character: str) -> bool:
    """Backslashes (browsers read them as slashes), control and format characters, line separators."""
    category = unicodedata.category(character)
    return character == "\\" or category[0] == "C" or category in ("Zl", "Zp")


def safe_next(target: str | None, default: str = DEFAULT_NEXT) -> str:
    """`target` when it is a path of this site, else `default`.

    A path here has one leading slash, no backslash, no control character (browsers drop tabs and
    newlines, so `/<TAB>/evil.example` would become `//evil.example`), no dot or empty segment, and
    names no scheme or host, before or after resolving. Anything else is replaced, never repaired.
    """
    if not target or len(target) > 2000:
        return default
    if any(_forbidden_character(character) for character in target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    # Dot segments (also as %2e) and empty segments would let the resolved path start with `//`.
    segments = parts.path.split("/")[1:]
    if any(unquote(segment) in (".", "..") for segment in segments) or "" in segments[:-1]:
        return default
    resolved = urlsplit(urljoin(_ORIGIN + "/", target))
    if f"{resolved.scheme}://{resolved.netloc}" != _ORIGIN or resolved.path.startswith("//"):
        return default
    return target
