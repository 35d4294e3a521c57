"""The `storycanvas` command, run as an operator would: in-process through main() and, for the
entry point itself, as `python -m app` in a fresh data directory (and database) of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from app.cli import main
from app.config import reset_settings
from app.services import media_store, users
from data.engine import dispose_engine, session_scope
from data.models import User
from tests.conftest import create_pg_database, drop_pg_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def fresh_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process switched to an empty data directory (and an empty database on PostgreSQL runs)."""
    pg_url = create_pg_database() if os.environ.get("DATABASE_URL") else None
    monkeypatch.setenv("STORYCANVAS_DATA_DIR", str(tmp_path / "data"))
    if pg_url:
        monkeypatch.setenv("DATABASE_URL", pg_url)
    dispose_engine()
    reset_settings()
    yield tmp_path / "data"
    dispose_engine()
    monkeypatch.undo()
    reset_settings()
    if pg_url:
        drop_pg_database(pg_url)


@pytest.fixture
def run_cli(tmp_path: Path) -> Iterator[Runner]:
    """Runs `python -m app ARGS` against its own data directory and, on PostgreSQL runs, its own database."""
    pg_url = create_pg_database() if os.environ.get("DATABASE_URL") else None
    env = {key: value for key, value in os.environ.items() if key != "NICEGUI_STORAGE_PATH"}
    env["STORYCANVAS_DATA_DIR"] = str(tmp_path / "cli-data")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    if pg_url:
        env["DATABASE_URL"] = pg_url

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            env={**env, **extra_env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    yield run
    if pg_url:
        drop_pg_database(pg_url)


def test_check_fails_on_a_fresh_install_until_migrate_then_passes(run_cli: Runner) -> None:
    before = run_cli("check")
    assert before.returncode != 0
    assert "run 'storycanvas migrate'" in before.stderr
    assert "Traceback" not in before.stderr

    migrated = run_cli("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database schema" in migrated.stdout

    after = run_cli("check")
    assert after.returncode == 0, after.stderr
    assert "all checks passed" in after.stdout
    assert "database schema current" in after.stdout


def test_check_with_an_unreachable_database_explains_without_a_traceback(run_cli: Runner) -> None:
    result = run_cli("check", DATABASE_URL="postgresql://127.0.0.1:1/nothing")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "127.0.0.1:1/nothing is not reachable" in result.stderr
    assert "check DATABASE_URL" in result.stderr


def test_create_user_makes_an_administrator_who_can_sign_in(fresh_install, capsys) -> None:
    code = main(["create-user", "operator", "Ops@Example.com", "--admin", "--password", "long-enough-secret"])

    assert code == 0
    assert "created administrator operator" in capsys.readouterr().out
    with session_scope() as session:
        user = users.authenticate(session, "operator", "long-enough-secret")
        assert user is not None and user.is_admin and user.email == "ops@example.com"
        assert users.authenticate(session, "operator", "wrong-password") is None

    again = main(["create-user", "operator", "other@example.com", "--password", "long-enough-secret"])
    assert again == 1
    assert "username is taken" in capsys.readouterr().err


def test_backup_then_restore_round_trip_through_the_cli(fresh_install, tmp_path, capsys) -> None:
    assert main(["migrate"]) == 0
    assert main(["create-user", "keeper", "keeper@example.com", "--password", "long-enough-secret"]) == 0
    media = media_store.project_media_dir(1) / "poster.png"
    media.parent.mkdir(parents=True)
    media.write_bytes(b"poster")
    archive = tmp_path / "site.tar.gz"
    capsys.readouterr()

    assert main(["backup", str(archive)]) == 0
    assert f"backup written to {archive}" in capsys.readouterr().out

    assert main(["create-user", "intruder", "intruder@example.com", "--password", "long-enough-secret"]) == 0
    media.unlink()

    assert main(["restore", str(archive), "--yes"]) == 0
    assert "restored 1 user, 0 projects, 1 media file" in capsys.readouterr().out
    with session_scope() as session:
        assert [user.username for user in session.exec(select(User))] == ["keeper"]
        assert users.authenticate(session, "keeper", "long-enough-secret") is not None
    assert media.read_bytes() == b"poster"

    assert main(["restore", str(tmp_path / "missing.tar.gz"), "--yes"]) == 1
    assert "error: " in capsys.readouterr().err
