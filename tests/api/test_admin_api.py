"""/api/v1/admin: accounts, invitations and the registration switch, for administrators only."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from data.engine import session_scope
from data.models import Invitation

ADMIN = "/api/v1/admin"


def _token(client: TestClient, username: str, password: str = "correct-horse-1") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _register(client: TestClient, name: str, **extra: object):
    body = {"username": name, "email": f"{name}@example.com", "password": "long-enough-1", **extra}
    return client.post("/api/v1/auth/register", json=body)


def test_every_admin_route_answers_403_to_members_and_401_without_a_token(
    client: TestClient, api_app: FastAPI, login
) -> None:
    login("root", admin=True)
    member = login("member")
    routes = [
        (method.upper(), path)
        for path, operations in api_app.openapi()["paths"].items()
        if path.startswith(ADMIN + "/")
        for method in operations
    ]
    assert len(routes) == 10, routes
    for method, path in routes:
        url = re.sub(r"{\w+}", "1", path)
        body = {"open_registration": True} if path.endswith("/settings") else {}
        refused = client.request(method, url, headers=member, json=body)
        assert refused.status_code == 403, f"{method} {path}: {refused.status_code} {refused.text}"
        assert "administrator" in refused.json()["detail"]
        assert client.request(method, url, json=body).status_code == 401, f"{method} {path} answers anonymously"


def test_registration_is_closed_by_default_and_the_admin_opens_it(client: TestClient) -> None:
    assert _register(client, "first").json()["is_admin"] is True  # the first account always registers
    closed = _register(client, "second")
    assert closed.status_code == 403 and "Registration is closed" in closed.json()["detail"]
    admin = _token(client, "first", "long-enough-1")
    assert client.get(f"{ADMIN}/settings", headers=admin).json() == {"open_registration": False}
    assert client.put(f"{ADMIN}/settings", headers=admin, json={"open_registration": True}).status_code == 200
    assert client.get(f"{ADMIN}/settings", headers=admin).json() == {"open_registration": True}
    assert _register(client, "second").status_code == 201


def test_an_invitation_registers_once_while_registration_is_closed(client: TestClient, login) -> None:
    admin = login("root", admin=True)
    made = client.post(f"{ADMIN}/invitations", headers=admin, json={"email": "guest@example.com", "is_admin": True})
    assert made.status_code == 201, made.text
    invite = made.json()
    assert invite["status"] == "pending" and invite["link"].startswith("/invite/")
    token = invite["link"].removeprefix("/invite/")
    wrong_address = client.post(
        "/api/v1/auth/register",
        json={"username": "guest", "email": "other@example.com", "password": "long-enough-1", "invitation": token},
    )
    assert wrong_address.status_code == 403 and "guest@example.com" in wrong_address.json()["detail"]
    joined = _register(client, "guest", invitation=token)
    assert joined.status_code == 201 and joined.json()["is_admin"] is True
    again = _register(client, "guest2", invitation=token)
    assert again.status_code == 403 and "already been used" in again.json()["detail"]
    listed = client.get(f"{ADMIN}/invitations", headers=admin).json()
    assert [(i["status"], i["used_by"], i["link"]) for i in listed] == [("used", "guest", None)]


def test_expired_and_revoked_invitations_are_refused_in_words(client: TestClient, login) -> None:
    admin = login("root", admin=True)
    expiring = client.post(f"{ADMIN}/invitations", headers=admin, json={"expires_in_days": 1}).json()
    revoked = client.post(f"{ADMIN}/invitations", headers=admin, json={}).json()
    with session_scope() as session:
        row = session.get(Invitation, expiring["id"])
        row.expires_at = row.created_at - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert client.delete(f"{ADMIN}/invitations/{revoked['id']}", headers=admin).status_code == 204
    late = _register(client, "late", invitation=expiring["link"].removeprefix("/invite/"))
    assert late.status_code == 403 and "expired on" in late.json()["detail"]
    withdrawn = _register(client, "late", invitation=revoked["link"].removeprefix("/invite/"))
    assert withdrawn.status_code == 403 and "withdrawn" in withdrawn.json()["detail"]
    made_up = _register(client, "late", invitation="no-such-token")
    assert made_up.status_code == 403 and "not valid" in made_up.json()["detail"]
    statuses = {i["id"]: i["status"] for i in client.get(f"{ADMIN}/invitations", headers=admin).json()}
    assert statuses == {expiring["id"]: "expired", revoked["id"]: "revoked"}
    assert client.post(f"{ADMIN}/invitations", headers=admin, json={"expires_in_days": 91}).status_code == 422
    assert client.delete(f"{ADMIN}/invitations/9999", headers=admin).status_code == 404


def test_admin_lists_creates_and_resets_accounts(client: TestClient, login) -> None:
    admin = login("root", admin=True)
    created = client.post(f"{ADMIN}/users", headers=admin, json={"username": "newbie", "email": "newbie@example.com"})
    assert created.status_code == 201, created.text
    generated = created.json()["password"]
    assert generated and created.json()["user"]["is_admin"] is False
    newbie_id = created.json()["user"]["id"]
    assert client.post("/api/v1/auth/token", data={"username": "newbie", "password": generated}).status_code == 200
    listed = client.get(f"{ADMIN}/users", headers=admin).json()
    assert [u["username"] for u in listed] == ["newbie", "root"]
    assert set(listed[0]) == {"id", "username", "email", "is_admin", "is_active", "created_at", "last_login_at"}
    assert listed[0]["last_login_at"] is not None and "password" not in str(listed)
    bad = client.post(f"{ADMIN}/users", headers=admin, json={"username": "x", "email": "x@example.com"})
    assert bad.status_code == 422 and bad.json()["field"] == "username"
    taken = client.post(f"{ADMIN}/users", headers=admin, json={"username": "newbie", "email": "n2@example.com"})
    assert taken.status_code == 409
    newbie = _token(client, "newbie", generated)
    reset = client.post(f"{ADMIN}/users/{newbie_id}/reset-password", headers=admin)
    assert reset.status_code == 200 and reset.json()["password"] != generated
    assert client.get("/api/v1/me", headers=newbie).status_code == 401  # the old token ended with the reset
    assert client.post("/api/v1/auth/token", data={"username": "newbie", "password": generated}).status_code == 401
    fresh = {"username": "newbie", "password": reset.json()["password"]}
    assert client.post("/api/v1/auth/token", data=fresh).status_code == 200
    assert client.post(f"{ADMIN}/users/9999/reset-password", headers=admin).status_code == 404


def test_a_disabled_user_is_refused_at_sign_in_and_with_the_token_they_had(client: TestClient, login) -> None:
    admin = login("root", admin=True)
    member = login("member")
    member_id = client.get("/api/v1/me", headers=member).json()["id"]
    refresh = client.post("/api/v1/auth/token", data={"username": "member", "password": "correct-horse-1"}).json()
    disabled = client.patch(f"{ADMIN}/users/{member_id}", headers=admin, json={"is_active": False})
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=member).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": refresh["refresh_token"]}).status_code == 401
    signing_in = client.post("/api/v1/auth/token", data={"username": "member", "password": "correct-horse-1"})
    assert signing_in.status_code == 401
    client.patch(f"{ADMIN}/users/{member_id}", headers=admin, json={"is_active": True})
    assert client.get("/api/v1/me", headers=member).status_code == 401  # enabling again revives no old token
    assert (
        client.post("/api/v1/auth/token", data={"username": "member", "password": "correct-horse-1"}).status_code == 200
    )


def test_the_last_active_admin_cannot_be_demoted_or_disabled(client: TestClient, login) -> None:
    admin = login("root", admin=True)
    member = login("member")
    root_id = client.get("/api/v1/me", headers=admin).json()["id"]
    member_id = client.get("/api/v1/me", headers=member).json()["id"]
    for change in ({"is_admin": False}, {"is_active": False}):
        refused = client.patch(f"{ADMIN}/users/{root_id}", headers=admin, json=change)
        assert refused.status_code == 409 and "last active administrator" in refused.json()["detail"]
    promoted = client.patch(f"{ADMIN}/users/{member_id}", headers=admin, json={"is_admin": True})
    assert promoted.json()["is_admin"] is True
    assert client.get(f"{ADMIN}/users", headers=member).status_code == 200  # the promoted member manages now
    assert client.patch(f"{ADMIN}/users/{root_id}", headers=admin, json={"is_admin": False}).status_code == 200
    assert client.get(f"{ADMIN}/users", headers=admin).status_code == 403  # and the demoted root no longer
    last = client.patch(f"{ADMIN}/users/{member_id}", headers=member, json={"is_admin": False})
    assert last.status_code == 409 and "You are" in last.json()["detail"]
    assert client.patch(f"{ADMIN}/users/9999", headers=member, json={"is_admin": True}).status_code == 404


def test_dispatcher_figures_describe_this_process_s_ticks(client: TestClient, login) -> None:
    from app.services import dispatcher_stats

    admin = login("root", admin=True)
    dispatcher_stats.reset()
    empty = client.get(f"{ADMIN}/dispatcher", headers=admin).json()
    assert empty["ticks"] == 0 and empty["tick_ms_p95"] == 0.0 and empty["worker_id"]
    for milliseconds in [*[1.0] * 95, *[40.0] * 4, 900.0]:
        dispatcher_stats.record_tick(milliseconds)
    figures = client.get(f"{ADMIN}/dispatcher", headers=admin).json()
    assert (figures["ticks"], figures["recent"]) == (100, 100)
    assert (figures["tick_ms_p50"], figures["tick_ms_p95"], figures["tick_ms_max"]) == (1.0, 40.0, 900.0)
