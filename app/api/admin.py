"""Administrators' REST routes under /api/v1/admin: accounts, invitations and studio settings.

Every route answers 403 to a signed-in non-administrator (the router's dependency) and the
services check again, so a page or script calling them directly gets the same rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field

from app.config import get_settings as app_settings
from app.services import dispatcher_stats, invitations, studio_settings, user_admin
from data.models import RowId, User

from .deps import SessionDep, UserDep


def admin_user(user: UserDep) -> User:
    user_admin.require_admin(user)
    return user


AdminDep = Annotated[User, Depends(admin_user)]

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(admin_user)])


class AccountPublic(BaseModel):
    id: int
    username: str
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class AccountCreate(BaseModel):
    """Leave the password out to have one generated; it is returned once, in the answer."""

    username: str = Field(max_length=40)
    email: str = Field(max_length=254)
    password: str | None = Field(default=None, max_length=256)
    is_admin: bool = False


class AccountCreated(BaseModel):
    user: AccountPublic
    password: str | None = Field(default=None, description="The generated password, shown only in this answer.")


class AccountPatch(BaseModel):
    is_admin: bool | None = None
    is_active: bool | None = None


class PasswordReset(BaseModel):
    password: str = Field(description="The new password, shown only in this answer: pass it on to its owner.")


class InvitationCreate(BaseModel):
    email: str | None = Field(default=None, max_length=254, description="Only this address may use the link.")
    is_admin: bool = False
    expires_in_days: int = Field(default=invitations.DEFAULT_DAYS, ge=1, le=invitations.MAX_DAYS)


class InvitationPublic(BaseModel):
    id: int
    email: str | None
    is_admin: bool
    status: str
    created_at: datetime
    expires_at: datetime
    created_by: str | None
    used_at: datetime | None
    used_by: str | None
    link: str | None = Field(description="The path of the link (/invite/…) while it is pending.")


class StudioSettingsBody(BaseModel):
    open_registration: bool


class DispatcherStats(BaseModel):
    """This process's dispatcher: each app process answers for itself (several may share one database)."""

    worker_id: str
    ticks: int = Field(description="Ticks since this process started.")
    recent: int = Field(description="How many of the latest ticks the figures describe.")
    tick_ms_p50: float
    tick_ms_p95: float
    tick_ms_max: float


@router.get("/users", response_model=list[AccountPublic])
def list_users(admin: AdminDep, session: SessionDep) -> list[AccountPublic]:
    return [AccountPublic(**vars(row)) for row in user_admin.list_accounts(session, admin)]


@router.post("/users", response_model=AccountCreated, status_code=status.HTTP_201_CREATED)
def create_user(body: AccountCreate, admin: AdminDep, session: SessionDep) -> AccountCreated:
    row, generated = user_admin.create_account(
        session, admin, body.username, body.email, body.password, is_admin=body.is_admin
    )
    return AccountCreated(user=AccountPublic(**vars(row)), password=generated)


@router.patch("/users/{user_id}", response_model=AccountPublic)
def update_user(user_id: RowId, body: AccountPatch, admin: AdminDep, session: SessionDep) -> AccountPublic:
    row = user_admin.update_account(session, admin, user_id, is_admin=body.is_admin, is_active=body.is_active)
    return AccountPublic(**vars(row))


@router.post("/users/{user_id}/reset-password", response_model=PasswordReset)
def reset_password(user_id: RowId, admin: AdminDep, session: SessionDep) -> PasswordReset:
    return PasswordReset(password=user_admin.reset_password(session, admin, user_id))


@router.get("/invitations", response_model=list[InvitationPublic])
def list_invitations(admin: AdminDep, session: SessionDep) -> list[InvitationPublic]:
    return [InvitationPublic(**vars(v)) for v in invitations.list_invitations(session, admin)]


@router.post("/invitations", response_model=InvitationPublic, status_code=status.HTTP_201_CREATED)
def create_invitation(body: InvitationCreate, admin: AdminDep, session: SessionDep) -> InvitationPublic:
    invitation, _token = invitations.create(
        session, admin, email=body.email, is_admin=body.is_admin, days=body.expires_in_days
    )
    return InvitationPublic(**vars(invitations.view(session, invitation)))


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_invitation(invitation_id: RowId, admin: AdminDep, session: SessionDep) -> Response:
    invitations.revoke(session, admin, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/settings", response_model=StudioSettingsBody)
def get_settings(admin: AdminDep, session: SessionDep) -> StudioSettingsBody:
    return StudioSettingsBody(**vars(studio_settings.current(session)))


@router.put("/settings", response_model=StudioSettingsBody)
def put_settings(body: StudioSettingsBody, admin: AdminDep, session: SessionDep) -> StudioSettingsBody:
    saved = studio_settings.update(session, admin, open_registration=body.open_registration)
    return StudioSettingsBody(**vars(saved))


@router.get("/dispatcher", response_model=DispatcherStats)
def dispatcher(admin: AdminDep) -> DispatcherStats:
    """How long this process's dispatcher ticks take (a tick claims work for every free server slot)."""
    return DispatcherStats(worker_id=app_settings().resolved_worker_id, **vars(dispatcher_stats.summary()))
