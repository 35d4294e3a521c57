"""Where media files live under the data directory, and their removal with what owns them."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.config import get_settings


def project_media_dir(project_id: int) -> Path:
    return get_settings().media_dir / "projects" / str(project_id)


def remove_project_media(project_id: int) -> None:
    shutil.rmtree(project_media_dir(project_id), ignore_errors=True)


def copy_project_media(source_id: int, target_id: int) -> None:
    source = project_media_dir(source_id)
    if source.exists():
        shutil.copytree(source, project_media_dir(target_id), dirs_exist_ok=True)
