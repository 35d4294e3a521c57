"""Forged, foreign, stale and odd tokens answer 401 with words, never 200 and never a 500."""

from __future__ import annotations

import base64
import json
import time

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey

from app.services import security, users
from app.services.security import issue_token


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: object, **extra: object) -> dict:
    now = int(time.time())
    return {"sub": user_id, "type": "access", "ver": 0, "iat": now, "exp": now + 600, **extra}


def _signed(claims: dict) -> str:
    """Signed with the server's own key: only the claims are odd."""
    return jwt.encode({"alg": "HS256"}, claims, security._jwt_key())


def _me(client: TestClient, token: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_alg_none_is_refused(client: TestClient, make_user) -> None:
    user = make_user("ada")
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(str(user.id)))}."
    response = _me(client, unsigned)
    assert response.status_code == 401 and "sign in again" in response.json()["detail"]


def test_a_token_signed_with_another_key_is_refused(client: TestClient, make_user) -> None:
    user = make_user("ada")
    foreign = jwt.encode({"alg": "HS256"}, _claims(str(user.id)), OctKey.import_key(b"k" * 32))
    assert _me(client, foreign).status_code == 401


def test_a_token_of_an_older_token_version_is_refused(client: TestClient, make_user, db) -> None:
    user = make_user("ada")
    old = issue_token(user.id, user.token_version, "access")
    users.change_password(db, db.merge(user), "correct-horse-1", "a-new-password")
    response = _me(client, old)
    assert response.status_code == 401 and "password changed" in response.json()["detail"]
    assert _me(client, issue_token(user.id, 1, "access")).status_code == 200  # the new version works


@pytest.mark.parametrize(
    "subject",
    ["admin", "1 OR 1=1", "", " 1", "1.0", "-1", "0", "٣", "99999999999999999999", str(2**31), 1, None, ["1"]],
)
def test_a_subject_that_is_no_user_number_answers_401(client: TestClient, make_user, subject: object) -> None:
    make_user("ada")
    response = _me(client, _signed(_claims(subject)))
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "The token is invalid or has expired: sign in again."


@pytest.mark.parametrize("version", ["0", None, True, 1.5, -1, 2**40])
def test_a_token_version_that_is_no_number_answers_401(client: TestClient, make_user, version: object) -> None:
    user = make_user("ada")
    assert _me(client, _signed(_claims(str(user.id), ver=version))).status_code == 401


def test_a_refresh_with_an_odd_subject_answers_401(client: TestClient, make_user) -> None:
    make_user("ada")
    token = _signed(_claims("nobody", type="refresh"))
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": token}).status_code == 401


def test_a_missing_version_still_reads_as_version_zero(client: TestClient, make_user) -> None:
    """Tokens issued before versions existed carried none: they stay valid while the version is 0."""
    user = make_user("ada")
    claims = _claims(str(user.id))
    del claims["ver"]
    assert _me(client, _signed(claims)).status_code == 200
