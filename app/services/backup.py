"""One archive holds a whole installation: every table as JSON lines plus the media folder.

Rows are written as JSON instead of a database dump so the same archive restores on SQLite and
on PostgreSQL, and the same code serves both; only how a consistent snapshot is opened differs.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, DateTime, Table, and_, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import SQLModel

import data.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app import __version__
from app.config import get_settings
from data import migrate
from data.engine import get_engine

from .errors import Invalid

FORMAT_VERSION = 1
_BATCH = 1000
_WHAT_TO_DO = "choose an archive written by 'storycanvas backup'"


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a backup")


def _is_datetime(column: Column[Any]) -> bool:
    """UTCDateTime is a TypeDecorator, so look through it to the type it stores as."""
    return isinstance(getattr(column.type, "impl_instance", column.type), DateTime)


def _begin_snapshot(connection: Connection) -> None:
    """One transaction that sees the database as of a single instant, however much the app writes meanwhile.

    PostgreSQL needs REPEATABLE READ for that; SQLite (in WAL mode) gives a snapshot to any read
    transaction, but its Python driver never opens one for SELECTs, so it is begun by hand.
    """
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="REPEATABLE READ").begin()
    else:
        connection.exec_driver_sql("BEGIN")


def _dump_tables(staging: Path) -> tuple[str | None, dict[str, int]]:
    """The schema revision is read inside the snapshot too, so it always describes the rows beside it."""
    counts: dict[str, int] = {}
    with get_engine().connect() as connection:
        _begin_snapshot(connection)
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision is None:
            raise Invalid("the database has no schema yet, so there is nothing to back up: run 'storycanvas migrate'")
        for table in _tables():
            counts[table.name] = 0
            with (staging / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
                for row in connection.execute(table.select().order_by(*table.primary_key.columns)).mappings():
                    out.write(json.dumps(dict(row), default=_json_default, ensure_ascii=False) + "\n")
                    counts[table.name] += 1
        connection.rollback()
    return revision, counts


def _media_files(media_dir: Path) -> Iterator[Path]:
    if media_dir.is_dir():
        for folder, _dirs, files in os.walk(media_dir):
            for name in sorted(files):
                yield Path(folder) / name


def _add_media(tar: tarfile.TarFile, media_dir: Path) -> None:
    """The running app may delete files while we copy; a file gone before we open it is simply left out."""
    for path in _media_files(media_dir):
        try:
            info = tar.gettarinfo(str(path), str(PurePosixPath("media", *path.relative_to(media_dir).parts)))
            if info.isfile():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
        except FileNotFoundError:
            continue


def create_backup(archive: Path | None = None) -> Path:
    settings = get_settings()
    if archive is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        archive = settings.data_dir / "backups" / f"storycanvas-backup-{stamp}.tar.gz"
    archive = archive.resolve()
    archive.parent.mkdir(parents=True, exist_ok=True)
    # Staged and written beside the target: the final rename is atomic there, and no small /tmp fills up.
    with tempfile.TemporaryDirectory(prefix=f".{archive.name}.", dir=archive.parent) as staging_name:
        staging = Path(staging_name)
        revision, counts = _dump_tables(staging)
        manifest = {
            "format": FORMAT_VERSION,
            "app_version": __version__,
            "revision": revision,
            "created_at": datetime.now(UTC).isoformat(),
            "dialect": get_engine().dialect.name,
            "tables": counts,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        partial = staging / "archive.partial"
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(staging / "manifest.json", "manifest.json")
            for table in _tables():
                tar.add(staging / f"{table.name}.jsonl", f"database/{table.name}.jsonl")
            _add_media(tar, settings.media_dir)
        os.replace(partial, archive)
    return archive


def _check_members(tar: tarfile.TarFile, archive: Path) -> None:
    for member in tar.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise Invalid(f"{archive} contains the unsafe path '{member.name}' and was not restored; {_WHAT_TO_DO}")
        if not (member.isfile() or member.isdir()):
            raise Invalid(f"{archive} contains the link or device '{member.name}' and was not restored; {_WHAT_TO_DO}")


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        handle = tar.extractfile("manifest.json")
        manifest = json.load(handle) if handle else None
    except (KeyError, ValueError) as error:
        raise Invalid(f"{archive} has no readable manifest.json, so it is not a backup; {_WHAT_TO_DO}") from error
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or found != FORMAT_VERSION or not isinstance(manifest.get("tables"), dict):
        raise Invalid(f"{archive} has backup format {found!r}, this version reads {FORMAT_VERSION}; {_WHAT_TO_DO}")
    head = migrate.head_revision()
    if manifest.get("revision") != head:
        raise Invalid(
            f"{archive} was made by a different version of StoryCanvas (schema {manifest.get('revision')}, "
            f"this one is {head}); run it with the matching version, restore there, then upgrade"
        )
    return manifest


def _rows(path: Path, table: Table) -> Iterator[list[dict[str, Any]]]:
    """Batches of rows with each value turned back into the type its column expects."""
    datetimes = {column.name for column in table.columns if _is_datetime(column)}
    known = {column.name for column in table.columns}
    batch: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for line in filter(str.strip, lines):
            row = {key: value for key, value in json.loads(line).items() if key in known}
            for name in datetimes & row.keys():
                if row[name] is not None:
                    row[name] = datetime.fromisoformat(row[name])
            batch.append(row)
            if len(batch) >= _BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _insert_table(connection: Connection, table: Table, path: Path) -> int:
    """A row may point at a later row of its own table (a job depending on a job), so those links are set last."""
    if not path.exists():
        return 0
    self_refs = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    keys = list(table.primary_key.columns)
    links: list[tuple[dict[str, Any], dict[str, Any]]] = []
    count = 0
    for batch in _rows(path, table):
        for row in batch:
            pending = {name: row[name] for name in self_refs if row.get(name) is not None}
            if pending:
                links.append(({key.name: row[key.name] for key in keys}, pending))
                row.update(dict.fromkeys(pending))
        connection.execute(table.insert(), batch)
        count += len(batch)
    for where, values in links:
        connection.execute(table.update().where(and_(*(key == where[key.name] for key in keys))).values(values))
    return count


def _reset_sequences(connection: Connection) -> None:
    """Rows came in with their ids, which PostgreSQL's sequences never saw; move them past the largest."""
    if connection.dialect.name != "postgresql":
        return
    for table in _tables():
        if "id" in table.columns and table.columns["id"].primary_key:
            quoted = connection.dialect.identifier_preparer.quote(table.name)
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence(:name, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {quoted}"
                ),
                {"name": table.name},
            )


def _replace_rows(archive: Path, database: Path, manifest: dict[str, Any]) -> dict[str, int]:
    """All or nothing: rows that do not fit roll the whole transaction back, leaving the old data in place."""
    counts: dict[str, int] = {}
    try:
        with get_engine().begin() as connection:
            for table in reversed(_tables()):
                connection.execute(table.delete())
            for table in _tables():
                counts[table.name] = _insert_table(connection, table, database / f"{table.name}.jsonl")
                expected = manifest["tables"].get(table.name, 0)
                if counts[table.name] != expected:
                    raise Invalid(
                        f"{archive} is incomplete: it holds {counts[table.name]} rows of {table.name}, its manifest "
                        f"says {expected}; nothing was changed, {_WHAT_TO_DO}"
                    )
            _reset_sequences(connection)
    except (IntegrityError, DataError, ValueError, TypeError) as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise Invalid(f"{archive} holds rows this database rejects ({reason}); nothing was changed") from error
    return counts


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def restore_backup(archive: Path) -> str:
    if not archive.is_file():
        raise Invalid(f"{archive} does not exist or is not a file; give the path of a backup archive")
    settings = get_settings()
    settings.ensure_data_dir()
    # Unpacked next to the media folder so the final swap is two renames on one file system.
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=settings.data_dir))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                _check_members(tar, archive)
                manifest = _read_manifest(tar, archive)
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise Invalid(f"{archive} is not a readable tar.gz archive ({error}); {_WHAT_TO_DO}") from error
        migrate.upgrade()
        counts = _replace_rows(archive, staging / "database", manifest)
        restored_media = staging / "media"
        restored_media.mkdir(exist_ok=True)
        media_count = sum(1 for _ in _media_files(restored_media))
        if settings.media_dir.exists():
            settings.media_dir.rename(staging / "old-media")
        restored_media.rename(settings.media_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ", ".join(
        _plural(n, word)
        for n, word in ((counts["users"], "user"), (counts["projects"], "project"), (media_count, "media file"))
    )
