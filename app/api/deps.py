"""Request-scoped dependencies: a database session, and the signed-in user from a bearer token or,
for media that pages load, from the browser's session cookie."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.config import get_settings
from app.services import browser_sessions, users
from data.engine import get_engine
from data.errors import Unauthorized
from data.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


_admission: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _admission_gate() -> asyncio.Semaphore:
    """As many requests at once hold a session as there are worker threads; the rest wait on the loop."""
    loop = asyncio.get_running_loop()
    gate = _admission.get(loop)
    if gate is None:
        gate = _admission[loop] = asyncio.Semaphore(get_settings().worker_threads)
    return gate


async def db_session() -> AsyncIterator[Session]:
    """A session for the worker threads that run the route, opened and closed on the event loop.

    A route's session keeps its connection from its first query (often in the user dependency)
    until the route is done, and between the two the route waits for a free worker thread. If
    every thread were then waiting for a connection, nothing would give one back. So requests
    are admitted only as many at a time as the pool can always serve (waiting costs the loop
    nothing), and the session is closed on the loop, not in a thread that would have to be free.
    """
    async with _admission_gate():
        session = Session(get_engine(), expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()


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
