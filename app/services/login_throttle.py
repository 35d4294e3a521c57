"""Slows repeated sign-in failures per account and per address, in the database so every process agrees.

What the assessment found with the old in-memory counter: a successful sign-in of the
attacker's own account reset it, 40 parallel guesses all ran at once, each process counted on
its own, and a real user behind the same address waited 8.9 s. So:
- failures are counted per account and per address in the database (shared by processes);
- each attempt past the free ones reserves the next slot of its account (and of its address
  once that has many failures): parallel guesses queue behind each other, across processes;
- only a success of the same account clears that account's count, and nothing clears an
  address's count but time, so one's own account cannot wash away guesses at another;
- the address's delay starts later and stays short, so a colleague behind the same address
  with the right password waits at most ADDRESS_MAX_DELAY_SECONDS.
Names are counted whether or not they exist, so the answers tell nothing about which do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from app.config import get_settings
from data.engine import session_scope
from data.models import LoginFailure
from data.models._common import utcnow

T = TypeVar("T")

WINDOW = timedelta(minutes=15)
ACCOUNT_MAX_DELAY_SECONDS = 30.0
ADDRESS_FREE_FAILURES = 10
ADDRESS_MAX_DELAY_SECONDS = 2.0


def account_scope(name: str) -> str:
    return "account:" + name.strip().lower()[:250]


def address_scope(address: str) -> str:
    return "address:" + address[:250]


def delay_after(failures: int, free: int, cap: float) -> float:
    """Seconds between attempts once `failures` exceed the `free` ones: doubling from half a second."""
    extra = failures - free
    return 0.0 if extra < 0 else min(cap, 0.5 * 2**extra)


def _limits(scope: str) -> tuple[int, float]:
    if scope.startswith("account:"):
        return get_settings().login_failures_before_delay, ACCOUNT_MAX_DELAY_SECONDS
    return ADDRESS_FREE_FAILURES, ADDRESS_MAX_DELAY_SECONDS


def _locked_row(session: Session, scope: str, now: datetime) -> LoginFailure | None:
    """The scope's row, write-locked until commit (a no-op UPDATE: a row lock on PostgreSQL, SQLite's write lock)."""
    session.execute(update(LoginFailure).where(col(LoginFailure.scope) == scope).values(failures=LoginFailure.failures))
    row = session.get(LoginFailure, scope, populate_existing=True)
    if row is not None and now - _aware(row.first_failure_at) > WINDOW:
        session.delete(row)
        session.flush()
        return None
    return row


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def reserve(session: Session, scopes: list[str], now: datetime | None = None) -> float:
    """Reserve the next free slot of each scope; seconds to wait before the password may be checked."""
    now = now or utcnow()
    start = now
    for scope in scopes:
        row = _locked_row(session, scope, now)
        if row is None:
            continue
        free, cap = _limits(scope)
        delay = delay_after(row.failures, free, cap)
        if delay <= 0:
            continue
        slot = max(now, _aware(row.next_attempt_at))
        row.next_attempt_at = slot + timedelta(seconds=delay)
        start = max(start, slot)
    session.commit()
    return max(0.0, (start - now).total_seconds())


def record_failure(session: Session, scopes: list[str], now: datetime | None = None) -> None:
    now = now or utcnow()
    for scope in scopes:
        row = _locked_row(session, scope, now)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(LoginFailure(scope=scope, failures=1, first_failure_at=now, next_attempt_at=now))
                continue
            except IntegrityError:  # another process counted the first failure at the same moment
                row = _locked_row(session, scope, now)
        if row is not None:
            row.failures += 1
    session.commit()


def record_success(session: Session, name: str) -> None:
    """Only the account that signed in is cleared: not the address, not any other account."""
    session.exec(delete(LoginFailure).where(col(LoginFailure.scope) == account_scope(name)))
    session.commit()


def failures(session: Session, scope: str) -> int:
    row = session.exec(select(LoginFailure).where(LoginFailure.scope == scope)).first()
    return row.failures if row else 0


# Within one process, attempts at one account also take turns here, so they do not all hold a
# database row lock while they sleep; across processes the reserved slots keep them apart.
_account_locks: dict[str, asyncio.Lock] = {}


async def attempt(name: str, address: str, check: Callable[[], T | None]) -> T | None:
    """Run `check` (the password check, in a thread) when the account's and address's turn comes."""
    scopes = [account_scope(name), address_scope(address)]
    lock = _account_locks.setdefault(scopes[0], asyncio.Lock())
    async with lock:

        def take_turn() -> float:
            with session_scope() as session:
                return reserve(session, scopes)

        wait = await asyncio.to_thread(take_turn)
        if wait:
            await asyncio.sleep(wait)

        def check_and_count() -> T | None:
            result = check()
            with session_scope() as session:
                if result is None:
                    record_failure(session, scopes)
                else:
                    record_success(session, name)
            return result

        result = await asyncio.to_thread(check_and_count)
    if not lock.locked() and _account_locks.get(scopes[0]) is lock:
        _account_locks.pop(scopes[0], None)
    return result


def reset() -> None:
    """Forget every count (tests)."""
    _account_locks.clear()
    with session_scope() as session:
        session.exec(delete(LoginFailure))
        session.commit()
