"""Request-scoped dependencies: a database session and the signed-in user from a bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.services import users
from app.services.errors import Unauthorized
from data.engine import session_scope
from data.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def db_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


def current_user(
    session: Annotated[Session, Depends(db_session)],
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if not token:
        raise Unauthorized("Sign in first: send an access token as 'Authorization: Bearer …'.")
    return users.user_from_token(session, token, "access")


SessionDep = Annotated[Session, Depends(db_session)]
UserDep = Annotated[User, Depends(current_user)]


def _session_user(session: Session) -> User | None:
    """The browser's signed-in user (NiceGUI's signed storage), for media that <img> and <video> tags load."""
    from nicegui import app as nicegui_app

    try:
        stored = nicegui_app.storage.user
    except (RuntimeError, AssertionError):  # no NiceGUI request context: a plain API app
        return None
    user_id = stored.get("user_id")
    if user_id is None:
        return None
    try:
        return users.get_active_user(session, int(user_id), stored.get("token_version"))
    except Unauthorized:
        return None


def media_viewer(
    session: Annotated[Session, Depends(db_session)],
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    """A bearer token (scripts) or the browser session cookie (pages): media routes accept either."""
    if token:
        return users.user_from_token(session, token, "access")
    user = _session_user(session)
    if user is None:
        raise Unauthorized("Sign in first: media needs a signed-in browser or an access token.")
    return user


ViewerDep = Annotated[User, Depends(media_viewer)]
