"""Request-scoped dependencies: a database session, and the signed-in user from a bearer token or,
for media that pages load, from the browser's session cookie."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.services import browser_sessions, users
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


def _session_user(session: Session, request: Request) -> User | None:
    """The browser's signed-in user (our session cookie), for media that <img> and <video> tags load."""
    return browser_sessions.user_for(session, request.cookies.get(browser_sessions.COOKIE_NAME))


def media_viewer(
    request: Request,
    session: Annotated[Session, Depends(db_session)],
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    """A bearer token (scripts) or the browser session cookie (pages): media routes accept either."""
    if token:
        return users.user_from_token(session, token, "access")
    user = _session_user(session, request)
    if user is None:
        raise Unauthorized("Sign in first: media needs a signed-in browser or an access token.")
    return user


ViewerDep = Annotated[User, Depends(media_viewer)]
