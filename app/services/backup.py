"""Placeholder: backup and restore are written next."""

from __future__ import annotations

from pathlib import Path


def create_backup(archive: Path | None = None) -> Path:
    raise NotImplementedError


def restore_backup(archive: Path) -> str:
    raise NotImplementedError
