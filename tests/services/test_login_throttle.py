"""Sign-in throttling that holds: per account and per address, in the database, in turn, not reset by others."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from app.services import login_throttle
from data.engine import session_scope
from data.models._common import utcnow

VICTIM = login_throttle.account_scope("victim")
ATTACKER_ADDRESS = login_throttle.address_scope("10.9.9.9")


def _fail(times: int, name: str = "victim", address: str = "10.9.9.9") -> None:
    with session_scope() as session:
        for _ in range(times):
            login_throttle.record_failure(
                session, [login_throttle.account_scope(name), login_throttle.address_scope(address)]
            )


def test_another_accounts_success_does_not_reset_the_count(db) -> None:
    _fail(5)
    with session_scope() as session:
        login_throttle.record_success(session, "attacker")
        assert login_throttle.failures(session, VICTIM) == 5
        assert login_throttle.failures(session, ATTACKER_ADDRESS) == 5
        login_throttle.record_success(session, "Victim")  # names are compared as typed, case aside
        assert login_throttle.failures(session, VICTIM) == 0
        assert login_throttle.failures(session, ATTACKER_ADDRESS) == 5


def test_reserved_slots_queue_attempts_even_from_other_processes(db) -> None:
    """Each reservation takes the next slot: what a second process asks sees the first one's reservation."""
    _fail(4)  # one past the free failures: half a second between attempts, doubling
    now = utcnow()
    waits = []
    for _ in range(3):
        with session_scope() as session:  # as another process would: its own session, no shared memory
            waits.append(login_throttle.reserve(session, [VICTIM], now))
    assert waits[0] == 0
    assert waits[1] >= 1.0 - 0.01
    assert waits[2] >= 2 * waits[1] - 0.01


def test_counts_expire_after_the_window(db) -> None:
    _fail(6)
    later = utcnow() + login_throttle.WINDOW + timedelta(seconds=1)
    with session_scope() as session:
        assert login_throttle.reserve(session, [VICTIM], later) == 0
        assert login_throttle.failures(session, VICTIM) == 0


async def test_parallel_guesses_at_one_account_take_turns(db) -> None:
    _fail(3, address="10.0.0.1")  # the free failures are used up: the next guesses wait, doubling

    def wrong() -> None:
        return None

    started = time.monotonic()
    results = await asyncio.gather(*(login_throttle.attempt("victim", f"10.0.0.{n}", wrong) for n in range(4)))
    elapsed = time.monotonic() - started
    assert results == [None] * 4
    assert elapsed >= 0.5 + 1 + 2 - 0.1, f"4 parallel guesses took only {elapsed:.2f} s"
    with session_scope() as session:
        assert login_throttle.failures(session, VICTIM) == 7


async def test_a_colleague_behind_a_busy_address_gets_in_promptly(db) -> None:
    _fail(40, name="victim", address="192.0.2.7")  # an attacker behind the studio's address

    def right() -> str:
        return "signed in"

    started = time.monotonic()
    assert await login_throttle.attempt("colleague", "192.0.2.7", right) == "signed in"
    assert time.monotonic() - started < login_throttle.ADDRESS_MAX_DELAY_SECONDS + 1
