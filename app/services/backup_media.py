"""The media half of a backup: the files of the database snapshot's moment, however the app changes them meanwhile.

Every file of the media folder is hard-linked into a private folder once just before the database
snapshot opens and once just after. A link keeps the content a file had when it was linked even when
the app then deletes it (a result deleted during the backup) or replaces it (results and previews are
written to a `.part` file and renamed), so a row of the snapshot finds its file in the archive. Files
first seen after the snapshot opened that no row of it refers to are left out and listed, files still
being written (`.part`) are left out and listed, and a file a row refers to that is nowhere is listed
as missing. Where hard links do not work (the media folder on another file system), files are read
where they are, and one deleted before it is read is listed instead of breaking the backup.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from .media_store import TRASH_NAME

PART_SUFFIX = ".part"
LINKS_PREFIX = ".backup-"
_OWNER_FILE = "owner-pid"
_SPOOL_IN_MEMORY = 16 * 2**20
_READ_ATTEMPTS = 3
_CHUNK = 2**20

AFTER_SNAPSHOT = "appeared while the backup took its snapshot, and no row of that snapshot refers to it"
BEING_WRITTEN = "still being written (an unfinished .part file)"
DELETED = "deleted while the backup ran, before it could be read"
NOT_A_FILE = "not a regular file (a link or device): restore accepts only plain files"
MISSING = "a row of the snapshot refers to it, but it was not in the media folder"


@dataclass
class MediaSnapshot:
    """What the media folder held around the moment of the database snapshot, and where to read each file."""

    root: Path
    links: Path | None
    before: dict[str, Path] = field(default_factory=dict)
    after: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def capture(self, *, after_snapshot: bool) -> None:
        """One walk of the media folder; a file already seen keeps the content it had then."""
        seen = self.after if after_snapshot else self.before
        if not self.root.is_dir():
            return
        for folder, dirs, names in os.walk(self.root):
            if Path(folder) == self.root:
                dirs[:] = [name for name in dirs if name != TRASH_NAME]  # deleted projects on their way out
            for name in names:
                path = Path(folder) / name
                relative = path.relative_to(self.root).as_posix()
                if relative in self.before or relative in self.after:
                    continue
                if name.endswith(PART_SUFFIX):
                    self.skipped[relative] = BEING_WRITTEN
                    continue
                try:
                    mode = path.lstat().st_mode
                except FileNotFoundError:
                    continue  # gone before we saw it: it was never part of this moment
                if not stat.S_ISREG(mode):
                    self.skipped[relative] = NOT_A_FILE
                    continue
                source = self._link(path, relative)
                if source is not None:
                    seen[relative] = source

    def _link(self, path: Path, relative: str) -> Path | None:
        if self.links is None:
            return path
        target = self.links / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target, follow_symlinks=False)
        except FileNotFoundError:
            return None if not path.exists() else path
        except OSError:
            return path  # no hard links here (another file system, a limit): read it where it is
        return target

    def choose(self, referenced: set[str]) -> tuple[dict[str, Path], dict[str, str], list[str]]:
        """(files to archive, files left out with why, referenced files that are nowhere), all by media path.

        A file seen before the snapshot opened belonged to that moment; one first seen after it belongs
        only if a row of the snapshot refers to it (its row committed just before the snapshot).
        """
        files = dict(self.before)
        skipped = dict(self.skipped)
        for relative, source in self.after.items():
            if relative in referenced:
                files[relative] = source
            else:
                skipped[relative] = AFTER_SNAPSHOT
        missing = sorted(path for path in referenced if path not in files and path not in skipped)
        return dict(sorted(files.items())), dict(sorted(skipped.items())), missing


def open_links_folder(data_dir: Path, media_dir: Path) -> Path | None:
    """A private folder beside the media folder (hard links need the same file system), or None.

    Folders left by a backup whose process is gone (killed) are removed first: their links would
    otherwise keep deleted media on the disk for ever.
    """
    with contextlib.suppress(OSError):
        for folder in data_dir.glob(f"{LINKS_PREFIX}*"):
            if folder.is_dir() and not _owner_alive(folder):
                shutil.rmtree(folder, ignore_errors=True)
    try:
        if media_dir.exists() and os.stat(media_dir).st_dev != os.stat(data_dir).st_dev:
            return None
        links = Path(tempfile.mkdtemp(prefix=LINKS_PREFIX, dir=data_dir))
        (links / _OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    except OSError:
        return None
    return links


def _owner_alive(folder: Path) -> bool:
    try:
        pid = int((folder / _OWNER_FILE).read_text(encoding="ascii"))
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):
        return True  # unreadable or another user's process: not ours to judge
    return True


def media_relative(stored: str, root: Path) -> str | None:
    """A row's stored path as a path inside the media folder, or None for one outside it (never archived)."""
    path = PurePosixPath(stored.replace("\\", "/"))
    if path.is_absolute():
        try:
            path = PurePosixPath(Path(stored).resolve().relative_to(root.resolve()).as_posix())
        except (ValueError, OSError, RuntimeError):
            return None
    if not path.parts or ".." in path.parts:
        return None
    return path.as_posix()


def _stable_copy(source: Path, spool_dir: Path) -> IO[bytes] | None:
    """One complete read of the file while it did not change, or the last read after a few tries; None if gone.
    Other read errors (permissions) are raised.

    The copy is what goes into the archive, so its header always states the size actually read,
    however the app grows or truncates the file meanwhile.
    """
    copy: IO[bytes] | None = None
    for _attempt in range(_READ_ATTEMPTS):
        if copy is not None:
            copy.close()
        copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, dir=str(spool_dir))  # noqa: SIM115
        try:
            with source.open("rb") as handle:
                first = os.fstat(handle.fileno())
                shutil.copyfileobj(handle, copy, _CHUNK)
                last = os.fstat(handle.fileno())
        except FileNotFoundError:
            copy.close()
            return None
        if first.st_size == last.st_size == copy.tell() and first.st_mtime_ns == last.st_mtime_ns:
            break
    assert copy is not None
    copy.seek(0)
    return copy


def add_file(tar: tarfile.TarFile, relative: str, source: Path, spool_dir: Path) -> int | str:
    """Adds media/<relative> and returns its size, or says why it could not be added."""
    try:
        status = source.stat()
        copy = _stable_copy(source, spool_dir)
    except FileNotFoundError:
        return DELETED
    except OSError as error:
        return f"could not be read ({error.strerror or error})"
    if copy is None:
        return DELETED
    with copy:
        size = copy.seek(0, os.SEEK_END)
        copy.seek(0)
        info = tarfile.TarInfo(str(PurePosixPath("media", relative)))
        info.size, info.mtime, info.mode = size, int(status.st_mtime), stat.S_IMODE(status.st_mode) or 0o644
        tar.addfile(info, copy)
    return size
