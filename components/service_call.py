"""The one way pages and components call the service layer.

A call opens a database session, hands it to a service function with the arguments given (the acting user
among them: services check what that user may see), and turns a domain error into a notification in the
person's words; anything unexpected is logged and answered with a calm message, never a trace. Slow work
(imports, exports, big lists, many writes) goes through `call_off_loop`, which runs in a worker thread so
the event loop, and every other open tab, keeps going.

Pages and components never open sessions themselves (a test reads their source): what they show comes
from services through here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from nicegui import run
from sqlmodel import Session

from data.engine import session_scope

from .feedback import user_errors

T = TypeVar("T")
P = ParamSpec("P")


def read(work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`work(session, *args, **kwargs)`; errors are the caller's (a page that must react to NotFound, say).

    For reads a page builds itself from; an action a person started goes through `call`."""
    with session_scope() as session:
        return work(session, *args, **kwargs)


def call(work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """`work(session, *args, **kwargs)`; a domain error is shown as a notification and answers None."""
    with user_errors():
        return read(work, *args, **kwargs)
    return None


async def read_off_loop(work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`read` in a worker thread: the session is opened there, so no connection is held on the loop."""
    return await run.io_bound(_in_session, work, args, kwargs)  # type: ignore[return-value]  # None only while the app shuts down


async def call_off_loop(work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """`call` in a worker thread, for slow work; a domain error is shown as a notification and answers None."""
    with user_errors():
        return await run.io_bound(_in_session, work, args, kwargs)
    return None


def _in_session(work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    with session_scope() as session:
        return work(session, *args, **kwargs)
