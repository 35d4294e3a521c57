"""Password hashing, signed tokens and encryption at rest, all keyed from the installation's secret."""

from __future__ import annotations

import base64
import hashlib
import time
from functools import cache
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from app.config import get_settings
from data.errors import Unauthorized

TokenType = Literal["access", "refresh"]

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against a throwaway hash keeps unknown names as slow as wrong passwords."""
    return _hasher.hash("storycanvas-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _derived_key(purpose: str, secret_key: str | None = None) -> bytes:
    """Every key comes from the one secret; rotating it passes the old and the new one explicitly."""
    secret = get_settings().resolved_secret_key if secret_key is None else secret_key
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def _jwt_key() -> OctKey:
    return OctKey.import_key(_derived_key("jwt"))


def issue_token(user_id: int, token_version: int, token_type: TokenType) -> str:
    settings = get_settings()
    lifetime = settings.access_token_minutes * 60 if token_type == "access" else settings.refresh_token_days * 86400
    now = int(time.time())
    claims = {"sub": str(user_id), "type": token_type, "ver": token_version, "iat": now, "exp": now + lifetime}
    return jwt.encode({"alg": "HS256"}, claims, _jwt_key())


def read_token(token: str, expected_type: TokenType) -> dict[str, Any]:
    """Signature, expiry and token type are all checked: a refresh token is no access token."""
    try:
        decoded = jwt.decode(token, _jwt_key(), algorithms=["HS256"])
        registry = jwt.JWTClaimsRegistry(
            exp={"essential": True},
            sub={"essential": True},
            type={"essential": True, "value": expected_type},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise Unauthorized("The token is invalid or has expired: sign in again.") from error
    claims = decoded.claims
    # Only this server signs tokens, but a leaked key or a future bug must still give 401, never a
    # 500 from int() or an integer the database cannot hold.
    subject, version = claims.get("sub"), claims.get("ver", 0)
    if not _is_user_id(subject) or type(version) is not int or not 0 <= version <= MAX_DATABASE_INT:
        raise Unauthorized("The token is invalid or has expired: sign in again.")
    return claims


MAX_DATABASE_INT = 2**31 - 1  # users.id and token_version are 32-bit integers on PostgreSQL


def _is_user_id(subject: object) -> bool:
    return (
        isinstance(subject, str)
        and subject.isascii()
        and subject.isdigit()
        and len(subject) <= 10
        and 0 < int(subject) <= MAX_DATABASE_INT
    )


def fernet_for(secret_key: str | None = None) -> Fernet:
    """The cipher of stored secrets under a given installation key (default: the current one)."""
    return Fernet(base64.urlsafe_b64encode(_derived_key("fernet", secret_key)))


def _fernet() -> Fernet:
    return fernet_for()


def encrypt_secret(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_secret(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken as error:
        raise Unauthorized("A stored key cannot be read with this installation's secret key.") from error


def mask_secret(value: str) -> str:
    """Enough to recognise a key, never enough to use it."""
    if len(value) <= 8:
        return "•" * len(value)
    return f"{value[:3]}…{value[-4:]}"
