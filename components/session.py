"""The signed-in user of a browser tab: a server-side session named by our own HttpOnly cookie.

NiceGUI pages talk over a websocket and cannot set cookies, so signing in and out goes through
HTTP routes (app/api/auth.py): the page asks for a one-time ticket and navigates to the route
that turns it into a new session cookie.
"""

from __future__ import annotations

from urllib.parse import urlencode

from nicegui import ui
from starlette.requests import Request

from app.services import browser_sessions
from data.models import User

from .service_call import read

SIGN_IN_ROUTE = "/auth/session"
SIGN_OUT_ROUTE = "/auth/sign-out"

# A form POST (not a link): a page elsewhere cannot sign someone out by linking here, since the
# SameSite=Lax cookie does not travel with another site's POST. Constant source, no data in it.
_SIGN_OUT_SCRIPT = (
    "const form = document.createElement('form');"
    "form.method = 'post'; form.action = '/auth/sign-out';"
    "document.body.appendChild(form); form.submit();"
)


def _request() -> Request | None:
    try:
        return ui.context.client.request
    except (RuntimeError, AttributeError):  # outside a page, or a client without its HTTP request
        return None


def browser_id(request: Request | None) -> str | None:
    """NiceGUI's storage id of this browser (its own signed cookie): tickets are bound to it."""
    if request is None or "session" not in request.scope:
        return None
    value = request.session.get("id")
    return str(value) if value else None


def sign_in(user: User, next_path: str | None = None) -> None:
    """Sends this browser to the route that gives it a new session cookie, then on to `next_path`."""
    ticket = browser_sessions.issue_ticket(user, browser_id(_request()))
    query = urlencode({"ticket": ticket, "next": browser_sessions.safe_next(next_path)})
    ui.navigate.to(f"{SIGN_IN_ROUTE}?{query}")


def sign_out() -> None:
    """Ends the session at once (even if the browser never finishes the navigation), then clears the cookie."""
    request = _request()
    if request is not None:
        read(browser_sessions.revoke, request.cookies.get(browser_sessions.COOKIE_NAME))
    ui.run_javascript(_SIGN_OUT_SCRIPT)


def user_for_request(request: Request | None) -> User | None:
    """The signed-in user of the browser behind an HTTP request (a page's, or a plain one such as an upload)."""
    if request is None:
        return None
    token = request.cookies.get(browser_sessions.COOKIE_NAME)
    if not token:
        return None
    return read(browser_sessions.user_for, token)


def current_user() -> User | None:
    """None when nobody is signed in, or the session ended (sign-out, expiry, password change)."""
    return user_for_request(_request())
