"""Accounts: registration, sign-in, password changes and each user's third-party keys."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from data.errors import Conflict, Forbidden, Invalid, Unauthorized
from data.models import ApiCredential, User, UserCreate
from data.models._common import utcnow

from . import invitations, studio_settings
from .security import decrypt_secret, encrypt_secret, hash_password, mask_secret, read_token, verify_password

PROVIDERS = ("openai", "comfyui", "civitai")
REGISTRATION_CLOSED = "Registration is closed on this server: ask an administrator for an account or an invitation."


def validate_registration(username: str, email: str, password: str) -> UserCreate:
    """Turns form input into a UserCreate, or an Invalid naming every bad field (a form shows each beside its field)."""
    try:
        return UserCreate(username=username.strip(), email=email.strip(), password=password)
    except ValidationError as error:
        fields: dict[str, str] = {}
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else None
            if field is not None:
                fields.setdefault(field, _registration_message(field, problem["msg"]))
        raise Invalid(" ".join(fields.values()) or str(error), fields=fields) from error


def _registration_message(field: str | None, detail: str) -> str:
    if field == "username":
        return "Username: 3–40 letters, digits, dots, dashes or underscores, starting with a letter or digit."
    if field == "password":
        return "Password: at least 8 characters."
    if field == "email":
        return "Email: enter a valid address, like name@studio.com."
    return detail


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def register(
    session: Session, data: UserCreate, *, admin: bool | None = None, force: bool = False, invitation: str | None = None
) -> User:
    """The first account becomes admin; later ones need open registration, an invitation link, or an admin."""
    first = count_users(session) == 0
    invite = None
    if invitation and not first:
        invite = invitations.open_invitation(session, invitation)
        invitations.check_email(invite, str(data.email))
        admin = invite.is_admin
    elif not first and not force and not studio_settings.open_registration(session):
        raise Forbidden(REGISTRATION_CLOSED)
    username_taken = session.exec(select(User).where(func.lower(User.username) == data.username.lower())).first()
    if username_taken:
        raise Conflict("That username is taken: choose another.", field="username")
    if session.exec(select(User).where(func.lower(User.email) == str(data.email).lower())).first():
        raise Conflict("An account with that email exists: sign in instead.", field="email")
    user = User(
        username=data.username,
        email=str(data.email).lower(),
        password_hash=hash_password(data.password),
        is_admin=first if admin is None else admin,
    )
    session.add(user)
    if invite is not None:
        session.flush()
        invitations.claim(session, invite, user)
    session.commit()
    session.refresh(user)
    return user


def authenticate(session: Session, login: str, password: str) -> User | None:
    """None for a wrong name and a wrong password alike, in about the same time."""
    login = login.strip().lower()
    user = session.exec(select(User).where(or_(func.lower(User.username) == login, col(User.email) == login))).first()
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        return None
    user.last_login_at = utcnow()
    session.add(user)
    session.commit()
    return user


def get_active_user(session: Session, user_id: int, token_version: int | None = None) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Your account is no longer available: sign in again.")
    if token_version is not None and token_version != user.token_version:
        raise Unauthorized("Your session ended because the password changed: sign in again.")
    return user


def user_from_token(session: Session, token: str, token_type: str = "access") -> User:
    claims = read_token(token, token_type)  # type: ignore[arg-type]  # read_token checks the type at run time and refuses any other
    return get_active_user(session, int(claims["sub"]), int(claims.get("ver", 0)))


def change_password(session: Session, user: User, current: str, new: str) -> User:
    """Ends every other session and token: they carry the old token version."""
    if not verify_password(user.password_hash, current):
        raise Invalid("The current password is wrong.", field="current_password")
    if len(new) < 8:
        raise Invalid("The new password needs at least 8 characters.", field="new_password")
    user.password_hash = hash_password(new)
    user.token_version += 1
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def set_theme(session: Session, user: User, theme: str) -> User:
    """A person sets only their own theme: the acting user's stored row changes, whatever object was handed in.

    The user given may come from another session (a page's signed-in user); only its id is trusted, so no
    stale field of it is written back."""
    if theme not in ("dark", "light"):
        raise Invalid("Theme must be dark or light.", field="theme")
    stored = session.get(User, user.id)
    if stored is None:
        raise Unauthorized("Your account is no longer available: sign in again.")
    stored.theme = theme
    session.add(stored)
    session.commit()
    return stored


@dataclass(frozen=True)
class ApiKeyView:
    provider: str
    configured: bool
    hint: str
    base_url: str | None


def list_api_keys(session: Session, user: User) -> list[ApiKeyView]:
    stored = {c.provider: c for c in session.exec(select(ApiCredential).where(ApiCredential.user_id == user.id))}
    return [
        ApiKeyView(p, p in stored, stored[p].hint if p in stored else "", stored[p].base_url if p in stored else None)
        for p in PROVIDERS
    ]


def set_api_key(session: Session, user: User, provider: str, key: str | None, base_url: str | None = None) -> None:
    """An empty key removes the stored one; keys are only ever stored encrypted."""
    if provider not in PROVIDERS:
        raise Invalid(f"Unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}.", field=provider)
    if base_url and not base_url.startswith(("http://", "https://")):
        raise Invalid("The base URL must start with http:// or https://.", field=f"{provider}_base_url")
    existing = session.exec(
        select(ApiCredential).where(ApiCredential.user_id == user.id, ApiCredential.provider == provider)
    ).first()
    if not key:
        if existing:
            session.delete(existing)
        return
    key = key.strip()
    if existing is None:
        existing = ApiCredential(user_id=user.id, provider=provider, encrypted_key="")  # type: ignore[arg-type]  # a stored row's id is never None
    existing.encrypted_key = encrypt_secret(key)
    existing.hint = mask_secret(key)
    existing.base_url = base_url or None
    existing.updated_at = utcnow()
    session.add(existing)


def save_api_key(
    session: Session, user: User, provider: str, key: str | None, base_url: str | None = None
) -> list[ApiKeyView]:
    """`set_api_key` for one provider, committed: a person's own keys, never another account's.

    Answers the keys as the account page shows them afterwards."""
    set_api_key(session, user, provider, key, base_url)
    session.commit()
    return list_api_keys(session, user)


def get_api_key(session: Session, user: User, provider: str) -> str | None:
    """The decrypted key, for integrations only; never shown or returned by the API."""
    stored = session.exec(
        select(ApiCredential).where(ApiCredential.user_id == user.id, ApiCredential.provider == provider)
    ).first()
    return decrypt_secret(stored.encrypted_key) if stored else None
