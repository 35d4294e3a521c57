"""`storycanvas rotate-secret-key`: every stored secret survives a new key, everyone is signed out, and a
value the old key cannot read stops the rotation with nothing changed (or is cleared when asked)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import InvalidToken
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

import data.models  # noqa: F401  (every table on the metadata)
from app import api
from app.cli import main
from app.config import get_settings, reset_settings
from app.services import browser_sessions, invitations, secret_rotation, servers, users
from app.services.secret_rotation import ENCRYPTED_COLUMNS
from app.services.security import decrypt_secret, fernet_for, issue_token
from data.engine import get_engine, session_scope
from data.models import ApiCredential, ComfyServer, Invitation, User
from data.models.users import BrowserSession

OLD_KEY = "old-installation-key-0123456789-abcdefghijklmnop"
NEW_KEY = "new-installation-key-9876543210-zyxwvutsrqponmlk"
PASSWORD = "correct-horse-1"


@pytest.fixture
def key_from_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The installation's key read from <data dir>/secret_key, as when STORYCANVAS_SECRET_KEY is not set."""
    monkeypatch.delenv("STORYCANVAS_SECRET_KEY")
    reset_settings()
    key_file = get_settings().data_dir / "secret_key"
    key_file.write_text(OLD_KEY)
    key_file.chmod(0o600)
    yield key_file
    key_file.unlink(missing_ok=True)
    monkeypatch.undo()
    reset_settings()


@pytest.fixture
def key_from_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STORYCANVAS_SECRET_KEY", OLD_KEY)
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


@pytest.fixture
def client() -> TestClient:
    application = FastAPI()
    api.mount(application)
    return TestClient(application)


@dataclass
class Stored:
    admin_id: int
    invitation_id: int
    invite_token: str
    server_id: int
    cookie_token: str
    access_token: str


def _store_secrets(client: TestClient) -> Stored:
    """An API key, a server with both keys, an invitation, a browser session and an API token, all under OLD_KEY."""
    with session_scope() as session:
        admin = users.register(
            session, users.validate_registration("admin", "admin@example.com", PASSWORD), admin=True, force=True
        )
        users.set_api_key(session, admin, "openai", "sk-openai-admin-secret-1234")
        session.commit()
        server = servers.create_server(
            session,
            admin,
            servers.parse_create(
                name="GPU one", url="http://127.0.0.1:8188", api_key="comfy-key-5678", runpod_api_key="rp-key-9012"
            ),
        )
        invitation, invite_token = invitations.create(session, admin, email="new@example.com")
        cookie_token = browser_sessions.create(session, admin)
        stored = Stored(admin.id, invitation.id, invite_token, server.id, cookie_token, "")  # type: ignore[arg-type]
    response = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 200, response.text
    stored.access_token = response.json()["access_token"]
    assert client.get("/api/v1/me", headers=_bearer(stored.access_token)).status_code == 200
    return stored


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _snapshot() -> dict[str, Any]:
    """Every value a rotation may change, read straight from the tables."""
    with get_engine().connect() as connection:
        values: dict[str, Any] = {}
        for column in ENCRYPTED_COLUMNS:
            table = column.table
            rows = connection.execute(select(table.c.id, table.c[column.column]).order_by(table.c.id)).all()
            values[column.name] = [tuple(row) for row in rows]
        users_table = User.__table__  # type: ignore[attr-defined]
        values["users.token_version"] = [
            tuple(row) for row in connection.execute(select(users_table.c.id, users_table.c.token_version))
        ]
        sessions = BrowserSession.__table__  # type: ignore[attr-defined]
        values["browser_sessions"] = connection.execute(select(func.count()).select_from(sessions)).scalar_one()
    return values


def _assert_secrets_read_back(stored: Stored) -> None:
    """With the installation's current key, every stored secret is the plaintext it was."""
    with session_scope() as session:
        admin = session.get(User, stored.admin_id)
        assert users.get_api_key(session, admin, "openai") == "sk-openai-admin-secret-1234"
        server = session.get(ComfyServer, stored.server_id)
        assert decrypt_secret(server.encrypted_api_key) == "comfy-key-5678"
        assert servers.runpod_key(server) == "rp-key-9012"
        invitation = session.get(Invitation, stored.invitation_id)
        assert invitations.view(session, invitation).link == invitations.INVITE_PATH + stored.invite_token


def _staged_key_files(key_file: Path) -> list[Path]:
    return sorted(key_file.parent.glob("secret_key.*"))


def test_rotation_from_the_key_file_keeps_every_secret_and_signs_everyone_out(
    key_from_file: Path, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _store_secrets(client)
    _assert_secrets_read_back(stored)
    with session_scope() as session:
        version_before = session.get(User, stored.admin_id).token_version

    assert main(["rotate-secret-key", "--yes"]) == 0
    out = capsys.readouterr().out

    new_key = key_from_file.read_text()
    assert new_key != OLD_KEY and len(new_key) >= 32
    assert stat.S_IMODE(key_from_file.stat().st_mode) == 0o600
    assert _staged_key_files(key_from_file) == []
    assert new_key not in out  # written to the file, never shown
    assert "re-encrypted 1 value in api_credentials.encrypted_key" in out
    assert "re-encrypted 1 value in comfy_servers.encrypted_api_key" in out
    assert "re-encrypted 1 value in comfy_servers.encrypted_runpod_key" in out
    assert "re-encrypted 1 value in invitations.token_encrypted" in out
    assert "ended 1 browser session" in out
    assert "signed out 1 user" in out

    # The app reads the key file on every use: the values decrypt with the new key alone.
    _assert_secrets_read_back(stored)
    with session_scope() as session:
        rotated = session.get(ComfyServer, stored.server_id).encrypted_api_key
    with pytest.raises(InvalidToken):  # the old key reads none of them any more
        fernet_for(OLD_KEY).decrypt(rotated.encode())

    assert client.get("/api/v1/me", headers=_bearer(stored.access_token)).status_code == 401
    # Even a token signed with the new key but carrying the version from before is refused.
    replayed = issue_token(stored.admin_id, version_before, "access")
    assert client.get("/api/v1/me", headers=_bearer(replayed)).status_code == 401
    with session_scope() as session:
        assert browser_sessions.user_for(session, stored.cookie_token) is None
        assert session.scalar(select(func.count()).select_from(BrowserSession)) == 0
    # Signing in again works, under the new key.
    response = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 200
    assert client.get("/api/v1/me", headers=_bearer(response.json()["access_token"])).status_code == 200


def test_rotation_with_a_key_from_the_environment_prints_the_new_key_once_and_writes_no_file(
    key_from_env: None, client: TestClient, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = _store_secrets(client)
    key_file = get_settings().data_dir / "secret_key"
    assert not key_file.exists()

    assert main(["rotate-secret-key", "--yes"]) == 0
    out = capsys.readouterr().out

    assert not key_file.exists()
    printed = [line.strip() for line in out.splitlines() if line.startswith("    ")]
    assert len(printed) == 1 and out.count(printed[0]) == 1
    new_key = printed[0]
    assert "Set STORYCANVAS_SECRET_KEY to it" in out
    assert client.get("/api/v1/me", headers=_bearer(stored.access_token)).status_code == 401

    monkeypatch.setenv("STORYCANVAS_SECRET_KEY", new_key)  # what the operator does next
    reset_settings()
    _assert_secrets_read_back(stored)


def test_a_given_new_key_is_used_and_not_echoed(
    key_from_env: None, client: TestClient, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = _store_secrets(client)
    assert main(["rotate-secret-key", "--yes", "--new-key", NEW_KEY]) == 0
    out = capsys.readouterr().out
    assert NEW_KEY not in out
    assert "set STORYCANVAS_SECRET_KEY to the key given with --new-key" in out

    monkeypatch.setenv("STORYCANVAS_SECRET_KEY", NEW_KEY)
    reset_settings()
    _assert_secrets_read_back(stored)


def test_an_unreadable_value_stops_the_rotation_with_nothing_changed(
    key_from_file: Path, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _store_secrets(client)
    foreign = fernet_for("a key from another installation, 0123456789").encrypt(b"lost").decode()
    with session_scope() as session:
        server = session.get(ComfyServer, stored.server_id)
        server.encrypted_runpod_key = foreign
        session.add(server)
        session.commit()
    before = _snapshot()

    assert main(["rotate-secret-key", "--yes"]) == 1
    captured = capsys.readouterr()

    assert f"comfy_servers.encrypted_runpod_key row {stored.server_id} (server 'GPU one', RunPod key)" in captured.err
    assert "nothing was changed" in captured.err
    assert "--drop-unreadable" in captured.err
    assert "Traceback" not in captured.err
    assert _snapshot() == before
    assert key_from_file.read_text() == OLD_KEY
    assert _staged_key_files(key_from_file) == []
    assert client.get("/api/v1/me", headers=_bearer(stored.access_token)).status_code == 200


def test_drop_unreadable_clears_those_values_lists_them_and_rotates_the_rest(
    key_from_file: Path, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _store_secrets(client)
    foreign = fernet_for("a key from another installation, 0123456789")
    with session_scope() as session:
        bob = users.register(
            session, users.validate_registration("bob", "bob@example.com", PASSWORD), admin=False, force=True
        )
        session.add(ApiCredential(user_id=bob.id, provider="civitai", encrypted_key=foreign.encrypt(b"x").decode()))
        lost_invitation, _ = invitations.create(session, session.get(User, stored.admin_id))
        lost_invitation.token_encrypted = foreign.encrypt(b"y").decode()
        session.add(lost_invitation)
        session.commit()
        bob_id, lost_id = bob.id, lost_invitation.id

    assert main(["rotate-secret-key", "--yes", "--drop-unreadable"]) == 0
    out = capsys.readouterr().out

    assert "cleared unreadable api_credentials.encrypted_key row" in out
    assert f"(user {bob_id}'s 'civitai' key)" in out
    assert f"cleared unreadable invitations.token_encrypted row {lost_id} (invitation for anyone)" in out
    assert "re-encrypted 1 value in api_credentials.encrypted_key" in out
    assert "re-encrypted 1 value in invitations.token_encrypted" in out
    assert "signed out 2 users" in out
    assert key_from_file.read_text() != OLD_KEY

    _assert_secrets_read_back(stored)
    with session_scope() as session:
        bob = session.get(User, bob_id)
        assert users.get_api_key(session, bob, "civitai") is None
        lost = session.get(Invitation, lost_id)
        assert lost.token_encrypted == ""
        assert invitations.view(session, lost).status == "pending"  # the link itself still works


def test_a_failure_part_way_rolls_back_every_re_encryption(
    key_from_file: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = _store_secrets(client)
    with session_scope() as session:
        server = session.get(ComfyServer, stored.server_id)
        server.encrypted_api_key = fernet_for("another installation's key, 0123456789").encrypt(b"z").decode()
        session.add(server)
        session.commit()
    before = _snapshot()

    def fail(*_args: object) -> None:  # after the readable values were rewritten in the transaction
        raise OSError("disk gone")

    monkeypatch.setattr(secret_rotation, "_clear", fail)
    with pytest.raises(OSError, match="disk gone"):
        secret_rotation.rotate_secret_key(drop_unreadable=True)

    assert _snapshot() == before
    assert key_from_file.read_text() == OLD_KEY
    assert _staged_key_files(key_from_file) == []


def test_refusing_the_confirmation_or_a_weak_key_changes_nothing(
    key_from_file: Path, client: TestClient, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_secrets(client)
    before = _snapshot()
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return "no"

    monkeypatch.setattr("builtins.input", answer)
    assert main(["rotate-secret-key"]) == 1
    assert "Stop the app first" in prompts[0]
    assert "nothing changed" in capsys.readouterr().out

    assert main(["rotate-secret-key", "--yes", "--new-key", "short"]) == 1
    assert "at least 32" in capsys.readouterr().err
    assert main(["rotate-secret-key", "--yes", "--new-key", OLD_KEY]) == 1
    assert "is the current key" in capsys.readouterr().err
    assert _snapshot() == before
    assert key_from_file.read_text() == OLD_KEY


def test_every_encrypted_column_of_the_schema_is_rotated() -> None:
    """A new column holding encrypt_secret's output must join ENCRYPTED_COLUMNS, or a rotation would lose it."""
    in_schema = {
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if "encrypt" in column.name
    }
    assert in_schema == {column.name for column in ENCRYPTED_COLUMNS}


def test_the_help_says_to_stop_the_app_first(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["rotate-secret-key", "--help"])
    assert "app stopped" in capsys.readouterr().out.replace("\n", " ")


def test_no_other_writer_can_change_a_secret_between_its_read_and_its_rewrite(
    key_from_file: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the app was left running, its write waits for the rotation instead of being overwritten by it."""
    stored = _store_secrets(client)
    read_all = secret_rotation._read_all
    refused: list[Exception] = []

    def read_then_try_a_write(connection: Any, old: Any) -> Any:
        result = read_all(connection, old)
        servers_table = ComfyServer.__table__  # type: ignore[attr-defined]
        with get_engine().connect() as other:
            if other.dialect.name == "sqlite":
                other.exec_driver_sql("PRAGMA busy_timeout=200")
            else:
                other.exec_driver_sql("SET lock_timeout = '200ms'")
            try:
                other.execute(
                    servers_table.update()
                    .where(servers_table.c.id == stored.server_id)
                    .values(encrypted_api_key="written meanwhile")
                )
                other.commit()
            except OperationalError as error:
                refused.append(error)
                other.rollback()
        return result

    monkeypatch.setattr(secret_rotation, "_read_all", read_then_try_a_write)
    secret_rotation.rotate_secret_key()

    assert len(refused) == 1
    _assert_secrets_read_back(stored)
