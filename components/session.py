"""The signed-in user of a browser tab, kept in NiceGUI's signed user storage."""

from __future__ import annotations

from nicegui import app

from app.services import users
from app.services.errors import Unauthorized
from data.engine import session_scope
from data.models import User


def sign_in(user: User) -> None:
    app.storage.user.update({"user_id": user.id, "token_version": user.token_version})


def sign_out() -> None:
    app.storage.user.pop("user_id", None)
    app.storage.user.pop("token_version", None)


def current_user() -> User | None:
    """None when nobody is signed in, or the session predates a password change."""
    user_id = app.storage.user.get("user_id")
    if user_id is None:
        return None
    try:
        with session_scope() as session:
            return users.get_active_user(session, int(user_id), app.storage.user.get("token_version"))
    except Unauthorized:
        sign_out()
        return None
