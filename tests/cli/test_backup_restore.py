"""Backup and restore: one archive brings back database and media exactly, or is refused and changes nothing."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, TypeDecorator, event
from sqlmodel import SQLModel

import data.models  # noqa: F401
from app import cli
from app.config import get_settings, reset_settings
from app.services import backup, backup_media, gallery, media_store, projects
from data import migrate
from data.engine import dispose_engine, get_engine, session_scope
from data.errors import Invalid
from data.models import Clip, GalleryItem, GenerationJob, Project, Scene, User
from tests.conftest import create_pg_database, drop_pg_database

Snapshot = dict[str, list[dict[str, Any]]]


def database_snapshot() -> Snapshot:
    """Every row of every table, in key order, read fresh from the database."""
    with get_engine().connect() as connection:
        return {
            table.name: [
                dict(row) for row in connection.execute(table.select().order_by(*table.primary_key.columns)).mappings()
            ]
            for table in SQLModel.metadata.sorted_tables
        }


def media_snapshot() -> dict[str, bytes]:
    root = get_settings().media_dir
    if not root.exists():
        return {}
    found: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(root):
        if Path(folder) == root:  # deleted projects on their way out, removed by a thread meanwhile
            dirs[:] = [name for name in dirs if name != media_store.TRASH_NAME]
        for name in names:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = path.read_bytes()
    return dict(sorted(found.items()))


@pytest.fixture
def fresh_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Path]]:
    """Switches the process to an empty data directory (and an empty database on PostgreSQL runs)."""
    databases: list[str] = []

    def switch() -> Path:
        data_dir = tmp_path / f"install-{len(databases)}-{os.urandom(3).hex()}"
        monkeypatch.setenv("STORYCANVAS_DATA_DIR", str(data_dir))
        if os.environ.get("DATABASE_URL"):
            databases.append(create_pg_database())
            monkeypatch.setenv("DATABASE_URL", databases[-1])
        dispose_engine()
        reset_settings()
        return data_dir

    yield switch
    dispose_engine()
    monkeypatch.undo()
    reset_settings()
    for url in databases:
        drop_pg_database(url)


def build_studio(db, make_user, make_project) -> dict[str, Any]:
    """Users, projects with scenes, clips, gallery items, jobs that point at each other, and a media file."""
    alice, bob = make_user("alice", admin=True), make_user("bob")
    film = make_project(alice, "Film", tags=["noir", "short"], description="Ünïcode ✓")
    other = make_project(bob, "Other")
    scene = Scene(project_id=film.id, name="Opening", position=0, estimated_duration=12.5)
    db.add(scene)
    db.flush()
    clip = Clip(scene_id=scene.id, project_id=film.id, start_frame=0, duration_frames=48, image_prompt="a cat")
    db.add(clip)
    db.flush()
    first = GenerationJob(kind="image", project_id=film.id, clip_id=clip.id, owner_id=alice.id, params={"seed": 7})
    second = GenerationJob(kind="video", project_id=film.id, clip_id=clip.id, owner_id=alice.id, progress=0.25)
    db.add_all([first, second])
    db.flush()
    first.depends_on_id = second.id  # points at a later row of its own table
    db.add(
        GalleryItem(
            clip_id=clip.id,
            project_id=film.id,
            job_id=second.id,
            kind="image",
            file_path="images/a.png",
            params={"cfg": 7.5, "loras": [{"name": "ink", "weight": 0.8}]},
            selected=True,
            width=1920,
        )
    )
    db.commit()
    media = media_store.project_media_dir(film.id) / "images" / "a.png"
    media.parent.mkdir(parents=True)
    media.write_bytes(b"\x89PNG fake image bytes \x00\xff")
    return {"alice": alice, "bob": bob, "film": film, "other": other, "media": media}


def test_restore_brings_back_database_and_media_exactly_as_backed_up(db, make_user, make_project, tmp_path) -> None:
    studio = build_studio(db, make_user, make_project)
    rows_before, media_before = database_snapshot(), media_snapshot()

    archive = backup.create_backup(tmp_path / "studio.tar.gz").archive

    projects.delete_projects(db, studio["alice"], [studio["film"].id])
    make_project(studio["bob"], "Made after the backup")
    studio["media"].unlink(missing_ok=True)
    (media_store.project_media_dir(studio["other"].id)).mkdir(parents=True)
    (media_store.project_media_dir(studio["other"].id) / "stray.txt").write_text("not in the backup")
    db.rollback()
    assert database_snapshot() != rows_before

    summary = backup.restore_backup(archive)

    assert summary == "2 users, 2 projects, 1 media file"
    assert database_snapshot() == rows_before
    assert media_snapshot() == media_before
    assert studio["media"].read_bytes() == b"\x89PNG fake image bytes \x00\xff"
    restored = db.get(Project, studio["film"].id)
    assert restored.tags == ["noir", "short"] and restored.created_at.tzinfo is not None
    assert db.get(GenerationJob, rows_before["generation_jobs"][0]["id"]).depends_on_id is not None


def test_restore_onto_a_fresh_installation_migrates_it_and_continues_ids(
    db, make_user, make_project, tmp_path, fresh_install
) -> None:
    studio = build_studio(db, make_user, make_project)
    rows_before, media_before = database_snapshot(), media_snapshot()
    archive = backup.create_backup(tmp_path / "studio.tar.gz").archive

    fresh_install()
    assert migrate.current_revision() is None

    assert backup.restore_backup(archive) == "2 users, 2 projects, 1 media file"

    assert migrate.current_revision() == migrate.head_revision()
    assert database_snapshot() == rows_before
    assert media_snapshot() == media_before
    with session_scope() as session:
        owner = session.get(User, studio["alice"].id)
        created = projects.create_project(session, owner, projects.parse_create(name="After restore"))
        scene = Scene(project_id=created.id, name="New scene")
        session.add(scene)
        session.commit()
    assert created.id == max(row["id"] for row in rows_before["projects"]) + 1
    assert scene.id == max(row["id"] for row in rows_before["scenes"]) + 1


def test_backup_defaults_to_a_dated_archive_in_the_data_dir_with_a_manifest(db, make_user, make_project) -> None:
    make_project(make_user("dora"))

    archive = backup.create_backup().archive

    folder = get_settings().data_dir / "backups"
    assert archive.parent == folder.resolve()
    assert re.fullmatch(r"storycanvas-backup-\d{8}-\d{6}\.tar\.gz", archive.name)
    assert [p.name for p in folder.iterdir()] == [archive.name]  # no half-written leftovers
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        names = tar.getnames()
    assert manifest["format"] == 1 and manifest["revision"] == migrate.head_revision()
    assert manifest["dialect"] == get_engine().dialect.name and manifest["app_version"]
    assert manifest["tables"]["users"] == 1 and manifest["tables"]["projects"] == 1
    assert manifest["tables"]["activities"] == 1 and set(manifest["tables"]) == set(SQLModel.metadata.tables)
    assert {f"database/{name}.jsonl" for name in SQLModel.metadata.tables} <= set(names)


def test_backup_of_a_database_without_schema_says_to_migrate(fresh_install) -> None:
    fresh_install()
    with pytest.raises(Invalid, match="storycanvas migrate"):
        backup.create_backup()


def _repack(archive: Path, target: Path, edit: Callable[[Path], None]) -> Path:
    """A copy of a real archive with something changed, to test what restore does with a damaged one."""
    unpacked = target.with_suffix(".d")
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(unpacked, filter="data")
    edit(unpacked)
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(unpacked.rglob("*")):
            tar.add(path, str(path.relative_to(unpacked)), recursive=False)
    return target


def _edit_manifest(**changes: Any) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        manifest = json.loads((root / "manifest.json").read_text())
        manifest.update(changes)
        (root / "manifest.json").write_text(json.dumps(manifest))

    return edit


def _empty_users(root: Path) -> None:
    (root / "database" / "users.jsonl").write_text("")


def _orphan_projects(root: Path) -> None:
    """Same row counts as the manifest says, but every project now belongs to nobody."""
    path = root / "database" / "projects.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps({**row, "owner_id": 999_999}) + "\n" for row in rows))


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


BROKEN_ARCHIVES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "missing file": (lambda good, tmp: tmp / "nothing-here.tar.gz", "does not exist"),
    "not an archive": (lambda good, tmp: _write(tmp / "notes.tar.gz", b"just some text\n"), "not a readable tar.gz"),
    "truncated": (lambda good, tmp: _write(tmp / "cut.tar.gz", good.read_bytes()[:-200]), "not a readable tar.gz"),
    "no manifest": (
        lambda good, tmp: _repack(good, tmp / "nomanifest.tar.gz", lambda root: (root / "manifest.json").unlink()),
        "no readable manifest.json",
    ),
    "other format": (lambda good, tmp: _repack(good, tmp / "v2.tar.gz", _edit_manifest(format=2)), "backup format 2"),
    "other schema": (
        lambda good, tmp: _repack(good, tmp / "old.tar.gz", _edit_manifest(revision="0000")),
        "made by a different version",
    ),
    "rows missing": (lambda good, tmp: _repack(good, tmp / "rows.tar.gz", _empty_users), "is incomplete"),
    "media missing": (
        lambda good, tmp: _repack(good, tmp / "nomedia.tar.gz", lambda root: shutil.rmtree(root / "media")),
        "holds 0 media files, its manifest says 1",
    ),
    "rows that do not fit": (
        lambda good, tmp: _repack(good, tmp / "orphans.tar.gz", _orphan_projects),
        "holds rows this database rejects",
    ),
}
WHAT_TO_DO = (
    "choose an archive written by 'storycanvas backup'",
    "give the path",
    "run it with the matching version",
    "nothing was changed",
)


@pytest.mark.parametrize("case", list(BROKEN_ARCHIVES))
def test_a_broken_or_foreign_archive_is_refused_with_a_reason_and_changes_nothing(
    case, db, make_user, make_project, tmp_path
) -> None:
    studio = build_studio(db, make_user, make_project)
    good = backup.create_backup(tmp_path / "good.tar.gz").archive
    projects.delete_projects(db, studio["alice"], [studio["film"].id])  # now differs from the archive
    db.rollback()
    rows_before, media_before = database_snapshot(), media_snapshot()
    make_broken, expected = BROKEN_ARCHIVES[case]

    with pytest.raises(Invalid) as error:
        backup.restore_backup(make_broken(good, tmp_path))

    assert expected in error.value.message
    assert any(advice in error.value.message for advice in WHAT_TO_DO)
    assert database_snapshot() == rows_before
    assert media_snapshot() == media_before
    assert not [p for p in get_settings().data_dir.iterdir() if p.name.startswith(".restore-")]


def _tar_with_member(good: Path, target: Path, member: tarfile.TarInfo, payload: bytes = b"") -> Path:
    with tarfile.open(good, "r:gz") as source, tarfile.open(target, "w:gz") as tar:
        for item in source.getmembers():
            tar.addfile(item, source.extractfile(item) if item.isfile() else None)
        tar.addfile(member, io.BytesIO(payload) if member.isfile() else None)
    return target


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 5 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    "member",
    [
        _member("../evil"),
        _member("media/../../evil"),
        _member("/tmp/storycanvas-evil-absolute"),
        _member("media/link", tarfile.SYMTYPE, "../../evil"),
        _member("media/inner-link", tarfile.SYMTYPE, "projects"),
        _member("media/hard", tarfile.LNKTYPE, "../../evil"),
        _member("media/hard-inside", tarfile.LNKTYPE, "manifest.json"),
        _member("media/device", tarfile.CHRTYPE),
        _member("media/pipe", tarfile.FIFOTYPE),
    ],
    ids=[
        "parent",
        "nested-parent",
        "absolute",
        "symlink",
        "inner-symlink",
        "hardlink",
        "inner-hardlink",
        "device",
        "fifo",
    ],
)
def test_an_archive_with_a_path_outside_its_folder_or_a_link_or_device_is_refused(
    member, db, make_user, tmp_path
) -> None:
    make_user("erin")
    good = backup.create_backup(tmp_path / "good.tar.gz").archive
    make_user("frank")
    rows_before = database_snapshot()
    data_dir = get_settings().data_dir

    with pytest.raises(Invalid, match="was not restored"):
        backup.restore_backup(_tar_with_member(good, tmp_path / "evil.tar.gz", member, b"pwned"))

    assert database_snapshot() == rows_before
    assert not (data_dir / "evil").exists() and not (data_dir.parent / "evil").exists()
    assert not Path("/tmp/storycanvas-evil-absolute").exists()


def test_backup_while_another_connection_writes_is_one_consistent_snapshot(db, make_user, make_project, tmp_path):
    """Right after the backup has read `users` and before it reads `projects`, another thread commits a new
    user with a project. A snapshot holds neither; reading table by table without one would hold a project
    whose owner is missing, and that archive could not be restored."""
    make_project(make_user("gina"), "Before")
    db.rollback()
    rows_before = database_snapshot()
    writer_errors: list[BaseException] = []

    def write_in_another_thread() -> None:
        try:
            with session_scope() as session:
                late = User(username="latecomer", email="late@example.com", password_hash="x")
                session.add(late)
                session.flush()
                session.add(Project(name="Written during backup", owner_id=late.id))
                session.commit()
        except BaseException as error:  # reported by the test below
            writer_errors.append(error)

    fired = threading.Event()

    def before_reading_projects(_conn, _cursor, statement: str, *_args: Any) -> None:
        if not fired.is_set() and re.search(r"\bFROM projects\b", statement):
            fired.set()
            writer = threading.Thread(target=write_in_another_thread)
            writer.start()
            writer.join(timeout=30)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before_reading_projects)
    try:
        archive = backup.create_backup(tmp_path / "during-writes.tar.gz").archive
    finally:
        event.remove(engine, "before_cursor_execute", before_reading_projects)

    assert fired.is_set() and writer_errors == []
    assert {row["username"] for row in database_snapshot()["users"]} == {"gina", "latecomer"}  # the write happened
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["tables"]["users"] == 1 and manifest["tables"]["projects"] == 1
    assert backup.restore_backup(archive) == "1 user, 1 project, 0 media files"
    assert database_snapshot() == rows_before


# --- Backup while the app works: rows and files of one moment, and a report of what was done ---------------


def _result_with_file(session, owner: User, project: Project, name: str) -> GalleryItem:
    """A stored result as the dispatcher leaves it: the file in the clip's folder, then its row."""
    scene = Scene(project_id=project.id, name=f"Scene {name}")
    session.add(scene)
    session.flush()
    clip = Clip(scene_id=scene.id, project_id=project.id, duration_frames=24)
    session.add(clip)
    session.flush()
    relative = f"projects/{project.id}/clips/{clip.id}/{name}.png"
    path = get_settings().media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(f"image {name}".encode())
    item = GalleryItem(clip_id=clip.id, project_id=project.id, kind="image", file_path=relative, content_hash=name)
    session.add(item)
    session.commit()
    return item


def _archive_contents(archive: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        media = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name.startswith("media/")}  # type: ignore[union-attr]
    return manifest, media


def _in_another_thread(work: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # raised again below, in the test's thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    if errors:
        raise errors[0]


def test_a_result_deleted_while_the_backup_runs_keeps_its_file_in_the_archive(db, make_user, make_project, tmp_path):
    """The app deletes a result (row, then file) after the snapshot was taken, while the tables are read: the
    snapshot still holds the row, so the archive must hold its file too, or the restored gallery is broken."""
    owner = make_user("hana")
    item = _result_with_file(db, owner, make_project(owner, "Film"), "kept")
    fired = threading.Event()

    def delete_result_meanwhile(_conn, _cursor, statement: str, *_args: Any) -> None:
        if not fired.is_set() and re.search(r"\bFROM gallery_items\b", statement):
            fired.set()

            def delete() -> None:
                with session_scope() as session:
                    gallery.delete_items(session, session.get(User, owner.id), [item.id])

            _in_another_thread(delete)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", delete_result_meanwhile)
    try:
        report = backup.create_backup(tmp_path / "during-delete.tar.gz")
    finally:
        event.remove(engine, "before_cursor_execute", delete_result_meanwhile)

    assert fired.is_set() and not (get_settings().media_dir / item.file_path).exists()  # the app did delete it
    manifest, media = _archive_contents(report.archive)
    assert manifest["tables"]["gallery_items"] == 1
    assert media == {f"media/{item.file_path}": b"image kept"}
    assert manifest["media"] == {"files": 1, "bytes": 10, "skipped": [], "missing": []}
    backup.restore_backup(report.archive)
    assert (get_settings().media_dir / item.file_path).read_bytes() == b"image kept"


def test_files_that_appear_as_the_snapshot_is_taken_are_kept_only_when_a_row_of_it_refers_to_them(
    db, make_user, make_project, tmp_path, monkeypatch
):
    """Between the backup's first look at the media folder and its database snapshot, the app stores a result
    (file, then row) and another file appears that no row refers to: the first belongs to the snapshot and is
    archived, the second is left out and listed with the reason."""
    owner = make_user("ines")
    film = make_project(owner, "Film")
    stray = get_settings().media_dir / "uploads" / "stray.bin"
    stored: list[GalleryItem] = []
    begin = backup._begin_snapshot

    def work_then_begin(connection) -> None:
        def write() -> None:
            with session_scope() as session:
                stored.append(_result_with_file(session, session.get(User, owner.id), film, "just-in-time"))
            stray.parent.mkdir(parents=True, exist_ok=True)
            stray.write_bytes(b"no row refers to me")

        if not stored:
            _in_another_thread(write)
        begin(connection)

    monkeypatch.setattr(backup, "_begin_snapshot", work_then_begin)
    report = backup.create_backup(tmp_path / "as-snapshot-opens.tar.gz")

    manifest, media = _archive_contents(report.archive)
    assert manifest["tables"]["gallery_items"] == 1
    assert set(media) == {f"media/{stored[0].file_path}"}
    assert manifest["media"]["skipped"] == [{"path": "uploads/stray.bin", "reason": backup_media.AFTER_SNAPSHOT}]
    assert report.skipped == {"uploads/stray.bin": backup_media.AFTER_SNAPSHOT}


def _shrink_on_open(path: Path) -> None:
    path.write_bytes(b"short")  # truncated and rewritten in place, as an image library saving over a file does


class _GrowsWhileRead(io.BufferedReader):
    """A file handle whose file gets more data appended just after the backup begins to read it."""

    def read(self, size: int | None = -1, /) -> bytes:
        if not getattr(self, "grown", False):
            self.grown = True
            with open(self.name, "ab") as out:
                out.write(b"+more" * 1000)
        return super().read(size)


@pytest.mark.parametrize("change", ["shrinks", "grows", "vanishes"])
def test_a_media_file_that_changes_while_it_is_read_never_breaks_the_backup(
    change, db, make_user, make_project, tmp_path, monkeypatch
):
    owner = make_user("jon")
    film = make_project(owner, "Film")
    folder = media_store.project_media_dir(film.id) / "uploads"
    folder.mkdir(parents=True)
    target = folder / f"{change}.bin"
    original = os.urandom(300_000)
    target.write_bytes(original)
    (folder / "steady.bin").write_bytes(b"steady")
    real_open = Path.open
    opened: list[Path] = []

    def open_and_change(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self.name != target.name or mode != "rb" or opened:
            return real_open(self, mode, *args, **kwargs)
        opened.append(self)
        if change == "shrinks":
            _shrink_on_open(self)
        elif change == "vanishes":
            for path in {self, target}:
                path.unlink(missing_ok=True)
        else:
            return _GrowsWhileRead(io.FileIO(self, "rb"))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_and_change)
    report = backup.create_backup(tmp_path / f"{change}.tar.gz")

    assert opened
    manifest, media = _archive_contents(report.archive)
    member = f"media/projects/{film.id}/uploads/{change}.bin"
    assert media[f"media/projects/{film.id}/uploads/steady.bin"] == b"steady"
    expected = {"shrinks": b"short", "grows": original + b"+more" * 1000, "vanishes": None}[change]
    assert media.get(member) == expected  # one whole version of the file, never a torn one
    assert manifest["media"]["files"] == len(media) and manifest["media"]["bytes"] == sum(map(len, media.values()))
    if change == "vanishes":
        assert report.skipped == {f"projects/{film.id}/uploads/vanishes.bin": backup_media.DELETED}
    backup.restore_backup(report.archive)


def test_without_hard_links_a_file_deleted_during_the_backup_is_listed_not_fatal(
    db, make_user, make_project, tmp_path, monkeypatch
):
    """Media on another file system than the data dir cannot be linked: files are read in place, and one the
    app deletes before it is read is left out and named in the manifest."""
    owner = make_user("kim")
    item = _result_with_file(db, owner, make_project(owner, "Film"), "gone")

    def no_links(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    fired = threading.Event()

    def delete_file_meanwhile(_conn, _cursor, statement: str, *_args: Any) -> None:
        if not fired.is_set() and re.search(r"\bFROM gallery_items\b", statement):
            fired.set()
            (get_settings().media_dir / item.file_path).unlink()

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", delete_file_meanwhile)
    try:
        report = backup.create_backup(tmp_path / "no-links.tar.gz")
    finally:
        event.remove(engine, "before_cursor_execute", delete_file_meanwhile)

    manifest, media = _archive_contents(report.archive)
    assert media == {}
    assert manifest["media"]["skipped"] == [{"path": item.file_path, "reason": backup_media.DELETED}]


def test_the_backup_command_says_what_it_wrote_and_what_it_left_out(db, make_user, make_project, tmp_path, capsys):
    owner = make_user("lena")
    film = make_project(owner, "Film")
    _result_with_file(db, owner, film, "shown")
    unfinished = media_store.project_media_dir(film.id) / "clips" / "render.png.part"
    unfinished.write_bytes(b"half")
    archive = tmp_path / "told.tar.gz"

    assert cli.main(["backup", str(archive)]) == 0

    out = capsys.readouterr().out
    assert f"backup written to {archive}" in out
    assert re.search(r"database \(\w+\) as of \d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d.*: \d+ rows", out)
    assert "  gallery_items: 1\n" in out and "  users: 1\n" in out and "  projects: 1\n" in out
    assert "1 media file, 11 bytes" in out
    assert (
        f"left out 1 file of the media folder:\n  projects/{film.id}/clips/render.png.part: still being written" in out
    )
    manifest, _media = _archive_contents(archive)
    assert manifest["media"]["skipped"] == [
        {"path": f"projects/{film.id}/clips/render.png.part", "reason": backup_media.BEING_WRITTEN}
    ]
    assert not [p for p in get_settings().data_dir.iterdir() if p.name.startswith(".backup-")]  # links removed


def test_a_backup_that_cannot_be_written_says_why_and_leaves_nothing(db, make_user, tmp_path, capsys) -> None:
    make_user("mia")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")

    assert cli.main(["backup", str(blocked / "backup.tar.gz")]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: the backup could not be written (") and "choose another place" in err
    assert not [p for p in get_settings().data_dir.iterdir() if p.name.startswith(".backup-")]


def test_a_backup_is_not_written_into_the_media_folder_it_backs_up(db, make_user) -> None:
    make_user("noor")
    with pytest.raises(Invalid, match="inside the media folder"):
        backup.create_backup(get_settings().media_dir / "backup.tar.gz")


def test_backups_of_the_same_second_get_names_of_their_own(db, make_user) -> None:
    make_user("olga")
    first, second = backup.create_backup().archive, backup.create_backup().archive
    try:
        assert first != second and first.exists() and second.exists()
    finally:  # the data dir outlives the test: other tests look into its backups folder
        first.unlink(missing_ok=True)
        second.unlink(missing_ok=True)


def test_links_left_by_a_killed_backup_are_removed_by_the_next(db, make_user, tmp_path) -> None:
    make_user("pia")
    data_dir = get_settings().data_dir
    stale = data_dir / ".backup-killed"
    (stale / "projects").mkdir(parents=True)
    (stale / "owner-pid").write_text("999999999")
    running = data_dir / ".backup-running"
    running.mkdir()
    (running / "owner-pid").write_text(str(os.getpid()))

    backup.create_backup(tmp_path / "next.tar.gz")

    assert not stale.exists() and running.exists()


def test_every_column_type_round_trips_through_the_json_of_a_backup() -> None:
    """A new column of a type the archive cannot hold (bytes, Decimal, UUID…) must fail here, not in a user's
    backup at night."""
    storable = {int, float, str, bool, datetime}
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            stored_as = column.type
            while isinstance(stored_as, TypeDecorator):  # AutoString, UTCDateTime: what they store as
                stored_as = stored_as.impl_instance
            if isinstance(stored_as, JSON):
                continue  # the database already keeps it as JSON
            assert stored_as.python_type in storable, f"{table.name}.{column.name}: {stored_as.python_type}"


def test_a_database_behind_this_version_is_not_backed_up_half(db, make_user, monkeypatch) -> None:
    """Its tables differ from this version's, and restore would refuse the archive: say so before writing one."""
    make_user("quinn")
    monkeypatch.setattr(migrate, "head_revision", lambda: "9999_newer")
    folder = get_settings().data_dir / "backups"
    before = sorted(folder.iterdir()) if folder.exists() else []
    with pytest.raises(Invalid, match="run 'storycanvas migrate' first"):
        backup.create_backup()
    assert (sorted(folder.iterdir()) if folder.exists() else []) == before
