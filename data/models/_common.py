"""Shared column helpers for the entities."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import Strict
from sqlalchemy import JSON, BigInteger, Column

# Ids are PostgreSQL integers: anything past this would make the database, not us, answer.
MAX_ROW_ID = 2**31 - 1
# An id in a path or query (text that becomes a number); out of range answers 422, not a database error.
RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]
# An id in a JSON body: a number, never a boolean or a string.
BodyId = Annotated[int, Strict(), Ge(1), Le(MAX_ROW_ID)]
# Seconds, counts and sizes in a JSON body: `true` is not 1.
StrictNumber = Annotated[float, Strict()]
StrictCount = Annotated[int, Strict()]


def utcnow() -> datetime:
    """Aware UTC; SQLModel's UTCDateTime stores it the same way on SQLite and PostgreSQL."""
    return datetime.now(UTC)


def json_column(nullable: bool = False) -> Any:
    return Column(JSON, nullable=nullable)


def big_int_column(nullable: bool = True) -> Any:
    """Byte counts (VRAM, file sizes) overflow a 32-bit integer on PostgreSQL."""
    return Column(BigInteger, nullable=nullable)
