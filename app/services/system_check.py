"""`storycanvas check`: can this installation run? Each problem says what to do."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.config import get_settings

_report: list[str] = []


def last_report() -> list[str]:
    return list(_report)


def run_checks() -> list[str]:
    from data import migrate
    from data.engine import get_engine

    _report.clear()
    problems: list[str] = []
    settings = get_settings()
    url = settings.resolved_database_url
    shown_url = url.split("@")[-1] if "@" in url else url
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        _report.append(f"database reachable: {shown_url}")
    except SQLAlchemyError as error:
        problems.append(
            f"database {shown_url} is not reachable ({type(error.__cause__ or error).__name__}: "
            f"{str(error.__cause__ or error).splitlines()[0]}); check DATABASE_URL and the server"
        )
        return problems
    current, head = migrate.current_revision(), migrate.head_revision()
    if current != head:
        problems.append(f"database schema is at {current or 'nothing'}, code expects {head}: run 'storycanvas migrate'")
    else:
        _report.append(f"database schema current: {head}")
    probe = settings.data_dir / f".write-check-{uuid.uuid4().hex}"
    try:
        settings.ensure_data_dir()
        probe.write_text("ok")
        probe.unlink()
        (settings.media_dir).mkdir(parents=True, exist_ok=True)
        _report.append(f"data directory writable: {settings.data_dir}")
    except OSError as error:
        problems.append(
            f"data directory {settings.data_dir} is not writable ({error.strerror}); "
            "set STORYCANVAS_DATA_DIR to a folder this user may write"
        )
    return problems
