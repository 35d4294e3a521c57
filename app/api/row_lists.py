"""REST lists that answer 200 even when a stored row is malformed.

Each row is validated and encoded on its own. A good row is exactly its public model, as before; a row
that cannot be read or encoded (see app/services/unreadable_rows.py) is answered in the minimal form
`UnreadableRowPublic` — its id, the name "(unreadable)" and an `error` in words — after the good rows, so
its owner or an administrator sees it and can delete it by id, and everyone else's list still works.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from app.services.unreadable_rows import Listing, describe

log = logging.getLogger("storycanvas.rows")

UNREADABLE_NAME = "(unreadable)"


class UnreadableRowPublic(BaseModel):
    """A stored row that could not be read: only an item with `error` has this form."""

    id: int
    name: str = UNREADABLE_NAME
    error: str


def _unreadable(row_id: int, reason: str, noun: str) -> bytes:
    error = f"This {noun} could not be read: {reason}. Delete it or ask an administrator."
    return UnreadableRowPublic(id=row_id, error=error).model_dump_json().encode()


def rows_response(rows: Iterable[Any], public: type[BaseModel], noun: str) -> Response:
    """A JSON array of `public` for each row; a row that fails becomes an UnreadableRowPublic."""
    parts: list[bytes] = []
    failed: list[bytes] = []
    for row in rows:
        try:
            parts.append(public.model_validate(row).model_dump_json().encode())
        except Exception as error:  # this row only: the others are still answered
            row_id = row.__dict__.get("id")  # the key, read without triggering any load
            log.warning("%s %s cannot be answered", noun, row_id, exc_info=error)
            failed.append(_unreadable(int(row_id or 0), describe(error), noun))
    for unreadable in rows.unreadable if isinstance(rows, Listing) else ():
        failed.append(_unreadable(unreadable.id, unreadable.reason, noun))
    return Response(b"[" + b",".join(parts + failed) + b"]", media_type="application/json")
