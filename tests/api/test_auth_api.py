import time

from fastapi.testclient import TestClient

from app.services import login_throttle
from app.services.security import issue_token


def test_register_returns_201_with_the_user_and_first_user_is_admin(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/register", json={"username": "ada", "email": "ada@example.com", "password": "long-enough"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "ada" and body["email"] == "ada@example.com" and body["is_admin"] is True
    assert "password" not in response.text and "password_hash" not in body
    token = client.post("/api/v1/auth/token", data={"username": "ada", "password": "long-enough"}).json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    opened = client.put("/api/v1/admin/settings", headers=admin, json={"open_registration": True})
    assert opened.status_code == 200  # closed by default after the first account
    second = client.post(
        "/api/v1/auth/register", json={"username": "bob", "email": "bob@example.com", "password": "long-enough"}
    )
    assert second.json()["is_admin"] is False


def test_register_rejects_bad_fields_with_422_and_duplicates_with_409(client: TestClient) -> None:
    bad = client.post("/api/v1/auth/register", json={"username": "x", "email": "nope", "password": "short"})
    assert bad.status_code == 422
    fields = {error["loc"][-1] for error in bad.json()["detail"]}
    assert fields == {"username", "email", "password"}
    ok = {"username": "ada", "email": "ada@example.com", "password": "long-enough"}
    assert client.post("/api/v1/auth/register", json=ok).status_code == 201
    token = client.post("/api/v1/auth/token", data={"username": "ada", "password": "long-enough"}).json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    client.put("/api/v1/admin/settings", headers=admin, json={"open_registration": True})
    again = client.post("/api/v1/auth/register", json={**ok, "email": "other@example.com"})
    assert again.status_code == 409 and again.json()["field"] == "username"


def test_token_issues_access_and_refresh_tokens_for_the_password_form(client: TestClient, make_user) -> None:
    make_user("ada")
    response = client.post("/api/v1/auth/token", data={"username": "ada", "password": "correct-horse-1"})
    assert response.status_code == 200
    pair = response.json()
    assert pair["token_type"] == "bearer" and pair["access_token"] and pair["refresh_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == "ada"


def test_wrong_password_and_unknown_name_get_the_same_answer(client: TestClient, make_user) -> None:
    make_user("ada")
    wrong = client.post("/api/v1/auth/token", data={"username": "ada", "password": "nope-nope"})
    unknown = client.post("/api/v1/auth/token", data={"username": "ghost", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_repeated_failures_from_one_address_are_slowed_down(client: TestClient, make_user) -> None:
    from data.engine import session_scope

    make_user("ada")
    for attempt in range(4):
        if attempt == 3:
            # Turns are spaced from the start of the previous attempt: the 4th may start at once
            # (three failures are free), the 5th not before half a second after it started.
            started = time.monotonic()
        client.post("/api/v1/auth/token", data={"username": "ada", "password": "wrong-wrong"})
    with session_scope() as session:
        assert login_throttle.failures(session, login_throttle.account_scope("ada")) == 4
        assert login_throttle.failures(session, login_throttle.address_scope("testclient")) == 4
    client.post("/api/v1/auth/token", data={"username": "ada", "password": "wrong-wrong"})
    assert time.monotonic() - started >= 0.5


def test_refresh_token_is_not_accepted_as_access_token_and_vice_versa(client: TestClient, make_user) -> None:
    make_user("ada")
    pair = client.post("/api/v1/auth/token", data={"username": "ada", "password": "correct-horse-1"}).json()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"}).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": pair["access_token"]}).status_code == 401
    renewed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200
    headers = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_expired_and_tampered_tokens_are_refused(client: TestClient, make_user, monkeypatch) -> None:
    user = make_user("ada")
    token = issue_token(user.id, user.token_version, "access")
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[::-1]}"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    monkeypatch.setattr(time, "time", lambda: 1_000_000.0)
    expired = issue_token(user.id, user.token_version, "access")
    monkeypatch.undo()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_password_change_ends_existing_tokens(client: TestClient, make_user, db) -> None:
    from app.services import users

    user = make_user("ada")
    pair = client.post("/api/v1/auth/token", data={"username": "ada", "password": "correct-horse-1"}).json()
    users.change_password(db, db.merge(user), "correct-horse-1", "a-new-password")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"}).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_api_keys_are_stored_encrypted_and_never_returned_in_full(client: TestClient, login, db) -> None:
    from data.models import ApiCredential

    headers = login("ada")
    secret = "sk-live-0123456789abcdef"
    response = client.patch(
        "/api/v1/me/api-keys",
        headers=headers,
        json={"openai": secret, "openai_base_url": "https://llm.example.com/v1", "civitai": "civ-key-987654"},
    )
    assert response.status_code == 200
    assert secret not in response.text and "civ-key-987654" not in response.text
    statuses = {s["provider"]: s for s in response.json()}
    assert statuses["openai"]["configured"] and statuses["openai"]["hint"] == "sk-…cdef"
    assert statuses["openai"]["base_url"] == "https://llm.example.com/v1"
    assert statuses["comfyui"]["configured"] is False
    stored = db.exec(__import__("sqlmodel").select(ApiCredential)).all()
    assert stored and all(secret not in row.encrypted_key for row in stored)
    removed = client.patch("/api/v1/me/api-keys", headers=headers, json={"openai": ""})
    assert {s["provider"]: s["configured"] for s in removed.json()}["openai"] is False


def test_no_token_answers_401(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/projects").status_code == 401
