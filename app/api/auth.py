"""Accounts over REST: registration, token issue and refresh, the current user and their API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from app.services import login_throttle, users
from app.services.errors import Unauthorized
from app.services.security import issue_token
from data.engine import session_scope
from data.models import UserCreate, UserPublic

from .deps import SessionDep, UserDep

router = APIRouter(tags=["auth"])


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
    """Failures from one address are answered more and more slowly."""
    address = request.client.host if request.client else "unknown"
    await login_throttle.wait_before_attempt(address)

    def authenticate() -> TokenPair | None:
        with session_scope() as session:
            user = users.authenticate(session, form.username, form.password)
            return _pair(user.id, user.token_version) if user else None  # type: ignore[arg-type]

    pair = await run_in_threadpool(authenticate)
    if pair is None:
        login_throttle.record_failure(address)
        raise Unauthorized("Wrong username or password.")
    login_throttle.record_success(address)
    return pair


@router.post("/auth/refresh", response_model=TokenPair)
def refresh(body: RefreshRequest, session: SessionDep) -> TokenPair:
    user = users.user_from_token(session, body.refresh_token, "refresh")
    return _pair(user.id, user.token_version)  # type: ignore[arg-type]


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
