"""Browser sessions: new at every sign-in, stored as hashes, ended by sign-out, expiry and password changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.services import browser_sessions, user_admin, users
from data.models._common import utcnow
from data.models.users import BrowserSession


@pytest.fixture(autouse=True)
def _no_tickets():
    browser_sessions.forget_tickets()
    yield
    browser_sessions.forget_tickets()


def _row(db, token: str) -> BrowserSession:
    return db.exec(select(BrowserSession).where(BrowserSession.token_hash == browser_sessions._hash(token))).one()


def test_a_new_session_is_random_and_only_its_hash_is_stored(db, make_user) -> None:
    alice = make_user("alice")
    first = browser_sessions.create(db, alice, "Firefox/140")
    second = browser_sessions.create(db, alice, "Firefox/140")
    assert first != second and len(first) >= 40
    stored = db.exec(select(BrowserSession)).all()
    assert len(stored) == 2
    assert all(first not in row.token_hash and second not in row.token_hash for row in stored)
    row = _row(db, first)
    assert row.user_id == alice.id and row.user_agent == "Firefox/140"
    assert browser_sessions.user_for(db, first).id == alice.id  # type: ignore[union-attr]


def test_unknown_empty_and_revoked_tokens_sign_nobody_in(db, make_user) -> None:
    token = browser_sessions.create(db, make_user("alice"))
    assert browser_sessions.user_for(db, None) is None
    assert browser_sessions.user_for(db, "") is None
    assert browser_sessions.user_for(db, "planted-by-someone-else") is None
    browser_sessions.revoke(db, token)
    assert browser_sessions.user_for(db, token) is None


def test_an_expired_session_ends_and_its_row_goes(db, make_user) -> None:
    token = browser_sessions.create(db, make_user("alice"))
    row = _row(db, token)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()
    assert browser_sessions.user_for(db, token) is None
    assert db.exec(select(BrowserSession)).all() == []


def test_use_moves_the_idle_expiry_but_never_past_thirty_days_after_sign_in(db, make_user) -> None:
    token = browser_sessions.create(db, make_user("alice"))
    row = _row(db, token)
    signed_in = utcnow() - timedelta(days=25)
    row.created_at = signed_in
    row.last_seen_at = signed_in
    row.expires_at = utcnow() + timedelta(hours=1)
    db.add(row)
    db.commit()
    assert browser_sessions.user_for(db, token) is not None
    db.refresh(row)
    expires = browser_sessions._aware(row.expires_at)
    assert abs(expires - (signed_in + browser_sessions.ABSOLUTE_LIFETIME)) < timedelta(seconds=2)
    assert utcnow() - browser_sessions._aware(row.last_seen_at) < timedelta(seconds=5)


def test_a_password_change_ends_every_browser_session_of_that_user_only(db, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    laptop, phone = browser_sessions.create(db, alice), browser_sessions.create(db, alice)
    bobs = browser_sessions.create(db, bob)
    browser_sessions.change_password(db, alice, "correct-horse-1", "a-brand-new-one")
    assert browser_sessions.user_for(db, laptop) is None and browser_sessions.user_for(db, phone) is None
    assert browser_sessions.count_for(db, alice.id) == 0
    assert browser_sessions.user_for(db, bobs).id == bob.id  # type: ignore[union-attr]


def test_a_token_version_bump_anywhere_ends_the_session(db, make_user) -> None:
    """Password changes through users.change_password and an administrator's reset both bump it."""
    admin, alice = make_user("root", admin=True), make_user("alice")
    direct = browser_sessions.create(db, alice)
    users.change_password(db, alice, "correct-horse-1", "a-brand-new-one")
    assert browser_sessions.user_for(db, direct) is None
    after_change = browser_sessions.create(db, alice)
    user_admin.reset_password(db, admin, alice.id)
    assert browser_sessions.user_for(db, after_change) is None


def test_a_disabled_account_is_signed_out(db, make_user) -> None:
    alice = make_user("alice")
    token = browser_sessions.create(db, alice)
    alice.is_active = False
    db.add(alice)
    db.commit()
    assert browser_sessions.user_for(db, token) is None


def test_a_ticket_signs_in_once_and_only_in_its_own_browser(db, make_user) -> None:
    alice = make_user("alice")
    ticket = browser_sessions.issue_ticket(alice, "browser-a")
    assert browser_sessions.redeem_ticket(db, ticket, "browser-b") is None  # spent by the wrong browser, too
    assert browser_sessions.redeem_ticket(db, ticket, "browser-a") is None
    ticket = browser_sessions.issue_ticket(alice, "browser-a")
    assert browser_sessions.redeem_ticket(db, ticket, None) is None
    ticket = browser_sessions.issue_ticket(alice, "browser-a")
    assert browser_sessions.redeem_ticket(db, ticket, "browser-a").id == alice.id  # type: ignore[union-attr]
    assert browser_sessions.redeem_ticket(db, ticket, "browser-a") is None
    assert browser_sessions.redeem_ticket(db, "made-up", "browser-a") is None
    assert browser_sessions.redeem_ticket(db, None, "browser-a") is None


def test_a_ticket_expires_after_a_minute_and_with_the_password(db, make_user, monkeypatch) -> None:
    alice = make_user("alice")
    old = browser_sessions.issue_ticket(alice, "b")
    import time

    later = time.monotonic() + browser_sessions.TICKET_SECONDS + 1
    monkeypatch.setattr(browser_sessions.time, "monotonic", lambda: later)
    assert browser_sessions.redeem_ticket(db, old, "b") is None
    monkeypatch.undo()
    before_change = browser_sessions.issue_ticket(alice, "b")
    users.change_password(db, alice, "correct-horse-1", "a-brand-new-one")
    assert browser_sessions.redeem_ticket(db, before_change, "b") is None


def test_a_page_can_change_the_password_with_the_user_it_holds(db, make_user) -> None:
    """A page keeps the user it was opened with, detached from any session: the change is still stored."""
    from data.engine import session_scope

    alice = make_user("alice")
    db.expunge(alice)
    with session_scope() as session:
        updated = browser_sessions.change_password(session, alice, "correct-horse-1", "a-brand-new-one")
    assert updated is not alice and alice.token_version == 0
    with session_scope() as session:
        assert users.authenticate(session, "alice", "a-brand-new-one") is not None
        assert users.authenticate(session, "alice", "correct-horse-1") is None
