"""Lists that survive a row nobody can read: one malformed row shows as an error, the others as usual.

Rows written before the write checks existed (a NUL in a name, a graph nested hundreds of levels) or by
another tool (wrong JSON shapes, text in a number column on SQLite) used to break `/projects`,
`/workflows` and their REST lists for everyone who could see them. A list is now read in one query as
before; only when that query fails is it read again row by row, and a row that still fails is kept as
an `UnreadableRow` (its id, what can be read of its name and owner, and why) instead of the whole list
failing. The readers (pages, REST) then build each row on its own and turn a failure into an error row
with `describe`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from .text_guard import clean

T = TypeVar("T")
log = logging.getLogger("storycanvas.rows")

NAME_SHOWN = 80  # of a malformed row's name, enough to recognise it


@dataclass(frozen=True)
class UnreadableRow:
    """A row that could not be read: what is needed to recognise it and delete it."""

    id: int
    name: str | None  # control characters removed, shortened; None when even the name cannot be read
    owner_id: int | None
    reason: str


class Listing(list[T]):
    """The rows that could be read, in the query's order; `unreadable` holds the others (after them).

    A list, so callers that only need readable rows (pickers, counts) keep working unchanged."""

    def __init__(self, rows: Any = (), unreadable: list[UnreadableRow] | None = None) -> None:
        super().__init__(rows)
        self.unreadable: list[UnreadableRow] = unreadable or []


@dataclass
class _Fallback:
    rows: list[Any] = field(default_factory=list)
    unreadable: list[UnreadableRow] = field(default_factory=list)


def describe(error: BaseException) -> str:
    """What is wrong with a stored row, in words and without the exception's class or message."""
    if isinstance(error, RecursionError) or (
        isinstance(error, PydanticSerializationError | ValueError) and "depth" in str(error).lower()
    ):
        return "its stored JSON is nested too deeply to read"
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    if isinstance(error, json.JSONDecodeError):
        return "a stored JSON value is not valid JSON"
    if isinstance(error, UnicodeError) or (isinstance(error, DBAPIError) and "utf" in str(error).lower()):
        return "a stored text is not valid UTF-8"
    if isinstance(error, TypeError | AttributeError | KeyError | IndexError):
        return "a stored value has the wrong type or shape"
    if isinstance(error, ValueError):
        return "a stored value has the wrong format"
    return "a stored value could not be read"


def shown_name(value: object) -> str | None:
    """A malformed row's stored name as far as it helps to recognise it: no control characters, shortened."""
    if value is None:
        return None
    return clean(str(value))[:NAME_SHOWN] or None


def _recover(session: Session, error: BaseException) -> None:
    """A failed statement aborts a PostgreSQL transaction: start a new one before reading on."""
    if isinstance(error, DBAPIError):
        session.rollback()


def _owner_column(model: type[Any]) -> Any:
    return getattr(model, "owner_id", None) or getattr(model, "user_id", None) or model.id


def _minimal(session: Session, model: type[Any], row_id: int, reason: str) -> UnreadableRow:
    """Id, name and owner of a row whose other columns fail to read; as much of that as can be read."""
    name_column = getattr(model, "name", None) or getattr(model, "title", None)
    owner_column = _owner_column(model)
    for name_read in (True, False):
        if name_read and name_column is None:
            continue
        columns: tuple[Any, ...] = (model.id, owner_column, name_column) if name_read else (model.id, owner_column)
        try:
            values = session.exec(select(*columns).where(col(model.id) == row_id)).one()
        except Exception as error:  # a column that cannot be read either: try fewer
            _recover(session, error)
            continue
        owner = values[1] if isinstance(values[1], int) and owner_column is not model.id else None
        return UnreadableRow(row_id, shown_name(values[2]) if name_read else None, owner, reason)
    return UnreadableRow(row_id, None, None, reason)


def load_each(session: Session, query: SelectOfScalar[T], model: type[T]) -> Listing[T]:
    """The query's rows; a row that cannot be loaded is set aside as UnreadableRow instead of failing them all.

    One query as before when every row reads; else one query for the ids, then one per row."""
    try:
        return Listing(session.exec(query).all())
    except Exception as error:  # whatever a stored value makes a reader raise
        log.warning("a %s list could not be read in one query; reading row by row", model.__name__, exc_info=error)
        _recover(session, error)
    # T is any table class, not typed as having an id; with_only_columns returns SQLAlchemy's Select, not sqlmodel's.
    ids = list(session.exec(query.with_only_columns(col(model.id))))  # type: ignore[attr-defined, call-overload]  # why above
    found = _Fallback()
    for row_id in ids:
        try:
            found.rows.append(session.exec(select(model).where(col(model.id) == row_id)).one())  # type: ignore[attr-defined]  # T is any table class: not typed as having an id
        except Exception as error:  # this row only
            log.warning("%s %s cannot be read", model.__name__, row_id, exc_info=error)
            _recover(session, error)
            found.unreadable.append(_minimal(session, model, row_id, describe(error)))
    return Listing(found.rows, found.unreadable)


def load_keys(session: Session, model: type[T], ids: list[int]) -> list[T]:
    """Put rows in the session with only their id and owner read, so that code which reads nothing else (the
    ownership check and delete) works on a row whose other columns cannot be read.

    Keep the returned list while that code runs: the session holds a row only while something refers to it."""
    keys = load_only(model.id, _owner_column(model))  # type: ignore[attr-defined]  # T is any table class: not typed as having an id
    query = select(model).options(keys).where(col(model.id).in_(ids))  # type: ignore[attr-defined]  # T is any table class: not typed as having an id
    try:
        return list(session.exec(query).all())
    except Exception as error:  # the ordinary read after this says what is wrong
        _recover(session, error)
        return []
