"""Shared column helpers for the entities."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column


def utcnow() -> datetime:
    """Aware UTC; SQLModel's UTCDateTime stores it the same way on SQLite and PostgreSQL."""
    return datetime.now(UTC)


def json_column(nullable: bool = False) -> Any:
    return Column(JSON, nullable=nullable)


def big_int_column(nullable: bool = True) -> Any:
    """Byte counts (VRAM, file sizes) overflow a 32-bit integer on PostgreSQL."""
    return Column(BigInteger, nullable=nullable)
