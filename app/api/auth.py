"""Accounts over REST (registration, tokens, the current user and their API keys) and the browser's
sign-in and sign-out routes, which set and clear the session cookie the pages cannot set themselves.
"""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from app.services import browser_sessions, login_throttle, users
from app.services.security import issue_token
from data.engine import session_scope
from data.errors import Forbidden, Unauthorized
from data.models import UserCreate, UserPublic

from .deps import SessionDep, UserDep

router = APIRouter(tags=["auth"])
# Mounted at the root, beside the pages: the cookie they set belongs to the whole site.
browser_router = APIRouter(tags=["browser sign-in"], include_in_schema=False)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"


class RefreshRequest(BaseModel):
    refresh_token: str


class ApiKeyPatch(BaseModel):
    """Send a key to store it, an empty string to remove it; leave a field out to keep it."""

    openai: str | None = Field(default=None, max_length=500)
    openai_base_url: str | None = Field(default=None, max_length=500)
    comfyui: str | None = Field(default=None, max_length=500)
    civitai: str | None = Field(default=None, max_length=500)


class ApiKeyStatus(BaseModel):
    provider: str
    configured: bool
    hint: str
    base_url: str | None = None


def _pair(user_id: int, version: int) -> TokenPair:
    return TokenPair(
        access_token=issue_token(user_id, version, "access"),
        refresh_token=issue_token(user_id, version, "refresh"),
    )


class RegisterRequest(UserCreate):
    """`invitation`: the token of an invitation link (/invite/<token>), needed while registration is closed."""

    invitation: str | None = Field(default=None, max_length=200)


@router.post("/auth/register", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def register(data: RegisterRequest, session: SessionDep) -> UserPublic:
    account = UserCreate.model_validate(data.model_dump(exclude={"invitation"}))
    return UserPublic.model_validate(users.register(session, account, invitation=data.invitation))


@router.post("/auth/token", response_model=TokenPair)
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenPair:
    """Failures of one account (and many from one address) are answered more and more slowly."""
    address = request.client.host if request.client else "unknown"

    def authenticate() -> TokenPair | None:
        with session_scope() as session:
            user = users.authenticate(session, form.username, form.password)
            return _pair(user.id, user.token_version) if user else None  # type: ignore[arg-type]  # a stored row's id is never None

    pair = await login_throttle.attempt(form.username, address, authenticate)
    if pair is None:
        raise Unauthorized("Wrong username or password.")
    return pair


@router.post("/auth/refresh", response_model=TokenPair)
def refresh(body: RefreshRequest, session: SessionDep) -> TokenPair:
    user = users.user_from_token(session, body.refresh_token, "refresh")
    return _pair(user.id, user.token_version)  # type: ignore[arg-type]  # a stored row's id is never None


@router.get("/me", response_model=UserPublic)
def me(user: UserDep) -> UserPublic:
    return UserPublic.model_validate(user)


@router.get("/me/api-keys", response_model=list[ApiKeyStatus])
def get_api_keys(user: UserDep, session: SessionDep) -> list[ApiKeyStatus]:
    return [ApiKeyStatus(**vars(view)) for view in users.list_api_keys(session, user)]


@router.patch("/me/api-keys", response_model=list[ApiKeyStatus])
def patch_api_keys(body: ApiKeyPatch, user: UserDep, session: SessionDep) -> list[ApiKeyStatus]:
    sent = body.model_dump(exclude_unset=True)
    for provider in users.PROVIDERS:
        if provider in sent:
            base_url = sent.get("openai_base_url") if provider == "openai" else None
            users.set_api_key(session, user, provider, sent[provider], base_url)
    session.commit()
    return get_api_keys(user, session)


# --- Browser sign-in and sign-out ---------------------------------------------------------------


def _browser_id(request: Request) -> str | None:
    """NiceGUI's storage id of the browser, from its own signed cookie (absent on a bare API app)."""
    if "session" not in request.scope:
        return None
    value = request.session.get("id")
    return str(value) if value else None


def _fresh_page_storage(request: Request) -> None:
    """A new anonymous NiceGUI storage id: nothing one signed-in person kept there follows the next."""
    if "session" in request.scope:
        request.session.clear()
        request.session["id"] = str(uuid4())


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@browser_router.get("/auth/session")
def open_browser_session(request: Request, session: SessionDep, ticket: str = "", next: str = "") -> Response:
    """Exchanges a sign-in ticket for a new session cookie (never the one the browser brought)."""
    user = browser_sessions.redeem_ticket(session, ticket, _browser_id(request))
    if user is None:
        return _no_store(RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER))
    browser_sessions.revoke(session, request.cookies.get(browser_sessions.COOKIE_NAME))
    token = browser_sessions.create(session, user, request.headers.get("user-agent", ""))
    _fresh_page_storage(request)
    response = RedirectResponse(browser_sessions.safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        browser_sessions.COOKIE_NAME,
        token,
        max_age=int(browser_sessions.ABSOLUTE_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return _no_store(response)


@browser_router.post("/auth/sign-out")
def close_browser_session(request: Request, session: SessionDep) -> Response:
    """Ends the cookie's session and clears the cookie; another site's form cannot ask for it."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("Sign out from StoryCanvas itself: this request came from another site.")
    browser_sessions.revoke(session, request.cookies.get(browser_sessions.COOKIE_NAME))
    _fresh_page_storage(request)
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(
        browser_sessions.COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
    return _no_store(response)
