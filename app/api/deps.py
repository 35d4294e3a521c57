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
