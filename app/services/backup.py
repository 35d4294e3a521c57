"""One archive holds a whole installation: every table as JSON lines plus the media folder.

Rows are written as JSON instead of a database dump so the same archive restores on SQLite and
on PostgreSQL, and the same code serves both; only how a consistent snapshot is opened differs.
A backup runs beside the working app: rows are read in one snapshot, media files through hard
links taken around it (backup_media), and the manifest lists what was left out and why.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, DateTime, Table, and_, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlmodel import SQLModel

import data.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app import __version__
from app.config import get_settings
from data import migrate
from data.engine import get_engine
from data.errors import Invalid
from data.words import counted

from . import backup_media
from .backup_media import MediaSnapshot, media_relative

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

    PostgreSQL needs REPEATABLE READ for that (read only: it never conflicts with the app's writes);
    SQLite in WAL mode gives a snapshot to any read transaction, fixed at its first read, but its
    Python driver never opens one for SELECTs, so it is begun by hand. The app keeps writing (WAL
    grows and is checkpointed once the transaction ends); nothing it does can break this read.
    """
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True).begin()
    else:
        connection.exec_driver_sql("BEGIN")


def _path_columns(table: Table) -> list[str]:
    """Columns that hold a media file's path; the naming is the schema's convention (file_path, preview_path…)."""
    return [column.name for column in table.columns if column.name.endswith("_path")]


def _dump_tables(staging: Path, media: MediaSnapshot) -> tuple[str | None, dict[str, int], set[str]]:
    """Rows of one instant as JSON lines, with the media paths they refer to.

    The schema revision is read inside the snapshot too, so it always describes the rows beside it.
    That first read fixes the snapshot; the media folder is walked again right after it, so a file
    whose row is in the snapshot is caught even if it was written while the first walk ran.
    """
    counts: dict[str, int] = {}
    referenced: set[str] = set()
    with get_engine().connect() as connection:
        _begin_snapshot(connection)
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision is None:
            raise Invalid("the database has no schema yet, so there is nothing to back up: run 'storycanvas migrate'")
        if revision != migrate.head_revision():
            # Its tables differ from the ones this version would read, and restore would refuse the archive.
            raise Invalid(
                f"the database schema ({revision}) is not the one this version of StoryCanvas uses "
                f"({migrate.head_revision()}): run 'storycanvas migrate' first, or back up with the version "
                "that made it"
            )
        media.capture(after_snapshot=True)
        for table in _tables():
            counts[table.name] = 0
            paths = _path_columns(table)
            with (staging / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
                for row in connection.execute(table.select().order_by(*table.primary_key.columns)).mappings():
                    out.write(json.dumps(dict(row), default=_json_default, ensure_ascii=False) + "\n")
                    counts[table.name] += 1
                    for name in paths:
                        stored = row[name]
                        relative = media_relative(stored, media.root) if isinstance(stored, str) and stored else None
                        if relative is not None:
                            referenced.add(relative)
        connection.rollback()
    return revision, counts, referenced


@dataclass
class BackupReport:
    """What a backup holds and what it left out, as written to its manifest."""

    archive: Path
    snapshot_at: str
    dialect: str
    tables: dict[str, int]
    media_files: int
    media_bytes: int
    skipped: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def media_manifest(self) -> dict[str, Any]:
        return {
            "files": self.media_files,
            "bytes": self.media_bytes,
            "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped.items()],
            "missing": [{"path": path, "reason": backup_media.MISSING} for path in self.missing],
        }


def _default_archive(folder: Path) -> Path:
    """A dated name that no earlier backup of the same second has taken."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    archive = folder / f"storycanvas-backup-{stamp}.tar.gz"
    number = 1
    while archive.exists():
        number += 1
        archive = folder / f"storycanvas-backup-{stamp}-{number}.tar.gz"
    return archive


def create_backup(archive: Path | None = None) -> BackupReport:
    """Rows of one moment and the media files of that moment in one archive, written while the app runs.

    Safe to run at any time: the database is read in one snapshot, media files through hard links
    taken around it (see backup_media), and the archive appears under its name only when whole.
    """
    settings = get_settings()
    media_dir = settings.media_dir
    archive = (archive or _default_archive(settings.data_dir / "backups")).resolve()
    if archive.is_relative_to(media_dir.resolve()):
        raise Invalid(f"{archive} is inside the media folder it would back up; write the archive somewhere else")
    links = backup_media.open_links_folder(settings.data_dir, media_dir)
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
        # Staged and written beside the target: the final rename is atomic there, and no small /tmp fills up.
        with tempfile.TemporaryDirectory(prefix=f".{archive.name}.", dir=archive.parent) as staging_name:
            return _write_archive(archive, Path(staging_name), MediaSnapshot(media_dir, links))
    except OSError as error:
        where = error.filename or archive
        raise Invalid(
            f"the backup could not be written ({error.strerror or error}: {where}); nothing was kept, "
            "free some space or choose another place for the archive"
        ) from error
    except DBAPIError as error:
        reason = str(error.orig or error).splitlines()[0]
        raise Invalid(f"the database could not be read ({reason}); check that it is reachable and try again") from error
    finally:
        if links is not None:
            shutil.rmtree(links, ignore_errors=True)


def _write_archive(archive: Path, staging: Path, media: MediaSnapshot) -> BackupReport:
    media.capture(after_snapshot=False)
    snapshot_at = datetime.now(UTC).isoformat()
    revision, counts, referenced = _dump_tables(staging, media)
    files, skipped, missing = media.choose(referenced)
    partial = staging / "archive.partial"
    media_bytes = 0
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        for table in _tables():
            tar.add(staging / f"{table.name}.jsonl", f"database/{table.name}.jsonl")
        for relative, source in files.items():
            added = backup_media.add_file(tar, relative, source, staging)
            if isinstance(added, str):
                skipped[relative] = added
            else:
                media_bytes += added
        report = BackupReport(
            archive=archive,
            snapshot_at=snapshot_at,
            dialect=get_engine().dialect.name,
            tables=counts,
            media_files=len(files) - sum(1 for path in files if path in skipped),
            media_bytes=media_bytes,
            skipped=dict(sorted(skipped.items())),
            missing=missing,
        )
        manifest = {
            "format": FORMAT_VERSION,
            "app_version": __version__,
            "revision": revision,
            "created_at": snapshot_at,
            "dialect": report.dialect,
            "tables": counts,
            "media": report.media_manifest(),
        }
        data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o644
        tar.addfile(info, io.BytesIO(data))
    os.replace(partial, archive)
    return report


_LISTED = 20


def _size(count: int) -> str:
    if count < 1024:
        return counted(count, "byte")
    units, value = ["KB", "MB", "GB"], count / 1024
    while value >= 1024 and len(units) > 1:
        units, value = units[1:], value / 1024
    return f"{value:.1f} {units[0]}"


def describe(report: BackupReport) -> list[str]:
    """What `storycanvas backup` prints: where the archive is, what it holds, what it left out and why."""
    lines = [
        f"backup written to {report.archive} ({_size(report.archive.stat().st_size)})",
        f"database ({report.dialect}) as of {report.snapshot_at}: {counted(report.rows, 'row')}",
        *(f"  {name}: {count}" for name, count in sorted(report.tables.items()) if count),
        f"{counted(report.media_files, 'media file')}, {_size(report.media_bytes)}",
    ]
    if report.skipped:
        lines.append(f"left out {counted(len(report.skipped), 'file')} of the media folder:")
        lines += [f"  {path}: {reason}" for path, reason in list(report.skipped.items())[:_LISTED]]
    if report.missing:
        lines.append(f"{counted(len(report.missing), 'file')} that rows refer to not found in the media folder:")
        lines += [f"  {path}" for path in report.missing[:_LISTED]]
    if len(report.skipped) > _LISTED or len(report.missing) > _LISTED:
        lines.append("  … the full lists are in the archive's manifest.json")
    return lines


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



def _check_media_count(archive: Path, manifest: dict[str, Any], found: int) -> None:
    """Archives since the media summary say how many files they hold; older ones are taken as they are."""
    media = manifest.get("media")
    expected = media.get("files") if isinstance(media, dict) else None
    if isinstance(expected, int) and found != expected:
        raise Invalid(
            f"{archive} is incomplete: it holds {found} media files, its manifest says {expected}; "
            f"nothing was changed, {_WHAT_TO_DO}"
        )


def restore_backup(archive: Path) -> str:
    """Replaces every row and media file with the archive's, or refuses it whole and changes nothing.

    Members are checked before anything is unpacked: only plain files and folders inside the archive
    (no absolute or `..` paths, no symbolic or hard links, no devices) are ever written.
    """
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
        restored_media = staging / "media"
        restored_media.mkdir(exist_ok=True)
        media_count = sum(1 for path in restored_media.rglob("*") if path.is_file())
        _check_media_count(archive, manifest, media_count)
        migrate.upgrade()
        counts = _replace_rows(archive, staging / "database", manifest)
        if settings.media_dir.exists():
            settings.media_dir.rename(staging / "old-media")
        restored_media.rename(settings.media_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ", ".join(
        counted(n, word)
        for n, word in ((counts["users"], "user"), (counts["projects"], "project"), (media_count, "media file"))
    )
