"""Shared test set-up: a throwaway data directory and database per run, cleaned after every test.

The suite runs on SQLite by default; STORYCANVAS_TEST_DB=postgresql runs it against a
throwaway database created on the PostgreSQL server (127.0.0.1:5432 unless
STORYCANVAS_TEST_PG_URL says otherwise) and dropped at the end. Where no server answers, those
runs skip with the reason, unless STORYCANVAS_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Everything below must be in the environment before the app's modules are imported.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="storycanvas-test-"))
os.environ["STORYCANVAS_DATA_DIR"] = str(_DATA_DIR)
os.environ["STORYCANVAS_SECRET_KEY"] = "test-secret-key-not-for-production"
# The simulated UI makes job and server rows by hand; tests of the dispatcher start their own.
os.environ["STORYCANVAS_RUN_DISPATCHER"] = "0"
os.environ.pop("DATABASE_URL", None)
os.environ.pop("STORYCANVAS_DATABASE_URL", None)

BACKEND = os.environ.get("STORYCANVAS_TEST_DB", "sqlite").lower()
PG_ADMIN_URL = os.environ.get("STORYCANVAS_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
_pg_database: str | None = None
_pg_skip_reason: str | None = None


def _server_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


def create_pg_database() -> str:
    """A fresh database on the test server; returns its SQLAlchemy URL."""
    import psycopg

    name = f"storycanvas_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return _server_url(name)


def drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if BACKEND in ("postgresql", "postgres", "pg"):
    try:
        _pg_database = create_pg_database()
        os.environ["DATABASE_URL"] = _pg_database
    except Exception as error:  # any failure to reach the server means: cannot run here
        _pg_skip_reason = f"PostgreSQL run: no server reachable at {PG_ADMIN_URL} ({type(error).__name__}: {error})"
        if os.environ.get("STORYCANVAS_REQUIRE_POSTGRES") == "1":
            raise RuntimeError(_pg_skip_reason) from error

os.environ["NICEGUI_STORAGE_PATH"] = str(_DATA_DIR / "nicegui-storage")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller of a parallel run imports this module too, and so made a database no test uses: drop it
    (workers drop their own after their tests; IF EXISTS makes a second drop harmless)."""
    if _pg_database:
        with contextlib.suppress(Exception):
            drop_pg_database(_pg_database)


def pytest_report_header(config: pytest.Config) -> str:
    return f"storycanvas: database backend {BACKEND}" + (f" ({_pg_database})" if _pg_database else "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _pg_skip_reason:
        marker = pytest.mark.skip(reason=_pg_skip_reason)
        for item in items:
            item.add_marker(marker)


@pytest.fixture(scope="session", autouse=True)
def _database_schema() -> Iterator[None]:
    """Migrations build the schema, as on a real installation."""
    if _pg_skip_reason:
        yield
        return
    import app.config  # noqa: F401  (importing the settings hands the data layer its database)
    from data import migrate

    migrate.upgrade()
    yield
    from data.engine import dispose_engine

    dispose_engine()
    if _pg_database:
        drop_pg_database(_pg_database)
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    yield
    if _pg_skip_reason:
        return
    from sqlmodel import SQLModel

    import data.models  # noqa: F401
    from app.services import dispatcher_stats, events, login_throttle
    from data.engine import get_engine

    with get_engine().begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())
    shutil.rmtree(_DATA_DIR / "media", ignore_errors=True)
    login_throttle.reset()
    dispatcher_stats.reset()
    for event in (
        events.project_changed,
        events.servers_changed,
        events.jobs_changed,
        events.job_progress,
        events.notifications_changed,
    ):
        event.callbacks.clear()


@pytest.fixture
def db():
    from data.engine import session_scope

    with session_scope() as session:
        yield session


@pytest.fixture
def make_user(db):
    """make_user("alice", admin=False, password=...) → a stored User."""
    from app.services import users

    def make(username: str = "alice", *, admin: bool = False, password: str = "correct-horse-1"):
        data = users.validate_registration(username, f"{username}@example.com", password)
        return users.register(db, data, admin=admin, force=True)

    return make


@pytest.fixture
def make_project(db):
    """make_project(owner, name="Film", **fields) → a stored Project."""
    from app.services import projects

    def make(owner, name: str = "Film", **fields):
        return projects.create_project(db, owner, projects.parse_create(name=name, **fields))

    return make
