"""Where media files live under the data directory, and their removal with what owns them."""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

from app.config import get_settings


def project_media_dir(project_id: int) -> Path:
    return get_settings().media_dir / "projects" / str(project_id)


TRASH_NAME = ".trash"  # inside the media folder: a rename into it never crosses file systems


def trash_dir() -> Path:
    return get_settings().media_dir / TRASH_NAME


def remove_project_media(project_id: int) -> None:
    """The folder leaves its place at once (a rename) and is deleted by a thread of its own.

    A project with thousands of results takes seconds to delete file by file; done inline, that
    would freeze every open tab (pages run on the one event loop)."""
    folder = project_media_dir(project_id)
    if not folder.exists():
        return
    trash = trash_dir()
    trash.mkdir(parents=True, exist_ok=True)
    target = trash / f"project-{project_id}-{uuid.uuid4().hex}"
    try:
        folder.rename(target)
    except OSError:  # another process moved it first, or the trash is elsewhere: delete in place, off the loop
        target = folder
    empty_trash_later([target])


def empty_trash_later(folders: list[Path] | None = None) -> threading.Thread:
    """Deletes the given folders (default: whatever is in the trash, e.g. after a crash) in a daemon thread."""
    chosen = folders if folders is not None else (list(trash_dir().iterdir()) if trash_dir().is_dir() else [])

    def work() -> None:
        for folder in chosen:
            shutil.rmtree(folder, ignore_errors=True)

    thread = threading.Thread(target=work, name="media-trash", daemon=True)
    thread.start()
    return thread


def copy_project_media(source_id: int, target_id: int) -> None:
    source = project_media_dir(source_id)
    if source.exists():
        shutil.copytree(source, project_media_dir(target_id), dirs_exist_ok=True)
