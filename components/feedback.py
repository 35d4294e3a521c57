"""Domain errors shown as notifications: the one place pages turn errors into words."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from nicegui import ui

from data.errors import DomainError

T = TypeVar("T")
log = logging.getLogger("storycanvas.ui")


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a domain error's message; log anything else and say something useful instead of a trace."""
    try:
        yield
    except DomainError as error:
        ui.notify(error.message, type="negative", position="top", multi_line=True)
    except Exception:
        log.exception("unexpected error in a page action")
        ui.notify(
            "Something went wrong on the server; nothing was changed. Try again, or check the server log.",
            type="negative",
            position="top",
        )


def attempt(action: Callable[[], T]) -> T | None:
    with user_errors():
        return action()
    return None


def success(message: str, **kwargs: Any) -> None:
    ui.notify(message, type="positive", position="bottom-right", **kwargs)
