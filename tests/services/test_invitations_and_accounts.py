"""Who may create an account after the first, and an administrator's rules for accounts (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.config import reset_settings
from app.services import invitations, studio_settings, user_admin, users
from app.services.security import issue_token
from data.errors import Conflict, Forbidden, Invalid, Unauthorized
from data.models import Invitation, User


def _data(name: str, email: str | None = None):
    return users.validate_registration(name, email or f"{name}@example.com", "long-enough")


def test_self_registration_is_closed_by_default_after_the_first_account(db) -> None:
    first = users.register(db, _data("ada"))
    assert first.is_admin
    assert studio_settings.open_registration(db) is False
    with pytest.raises(Forbidden, match="Registration is closed"):
        users.register(db, _data("bob"))


def test_an_administrator_opens_registration_in_the_database_and_it_beats_the_environment(
    db, make_user, monkeypatch
) -> None:
    admin = make_user("root", admin=True)
    monkeypatch.setenv("STORYCANVAS_OPEN_REGISTRATION", "true")
    reset_settings()
    try:
        assert studio_settings.open_registration(db) is True  # the environment gives the initial value
        studio_settings.update(db, admin, open_registration=False)
        with pytest.raises(Forbidden):
            users.register(db, _data("bob"))
        studio_settings.update(db, admin, open_registration=True)
        monkeypatch.setenv("STORYCANVAS_OPEN_REGISTRATION", "false")
        reset_settings()
        bob = users.register(db, _data("bob"))
        assert not bob.is_admin
    finally:
        monkeypatch.undo()
        reset_settings()


def test_only_administrators_change_studio_settings(db, make_user) -> None:
    make_user("root", admin=True)
    member = make_user("member")
    with pytest.raises(Forbidden):
        studio_settings.update(db, member, open_registration=True)
    assert studio_settings.open_registration(db) is False


def test_an_invitation_creates_one_account_once(db, make_user) -> None:
    admin = make_user("root", admin=True)
    invitation, token = invitations.create(db, admin)
    assert invitation.token_hash != token and token not in invitation.token_encrypted
    assert invitations.view(db, invitation).link == f"/invite/{token}"
    guest = users.register(db, _data("guest"), invitation=token)
    assert not guest.is_admin
    stored = db.get(Invitation, invitation.id)
    db.refresh(stored)
    assert stored.used_by == guest.id and stored.used_at is not None
    with pytest.raises(Forbidden, match="already been used"):
        users.register(db, _data("second"), invitation=token)
    assert invitations.list_invitations(db, admin)[0].status == "used"
    assert invitations.list_invitations(db, admin)[0].used_by == "guest"


def test_an_invitation_may_grant_admin_and_be_meant_for_one_address(db, make_user) -> None:
    admin = make_user("root", admin=True)
    _invitation, token = invitations.create(db, admin, email="Lead@Example.com", is_admin=True, days=1)
    with pytest.raises(Forbidden, match=r"for lead@example\.com"):
        users.register(db, _data("lead", "other@example.com"), invitation=token)
    lead = users.register(db, _data("lead", "lead@example.com"), invitation=token)
    assert lead.is_admin


def test_expired_revoked_and_unknown_links_say_why_in_words(db, make_user) -> None:
    admin = make_user("root", admin=True)
    expired, expired_token = invitations.create(db, admin)
    expired.expires_at = expired.created_at - timedelta(minutes=1)
    db.add(expired)
    db.commit()
    with pytest.raises(Forbidden, match="expired on"):
        users.register(db, _data("late"), invitation=expired_token)
    revoked, revoked_token = invitations.create(db, admin)
    invitations.revoke(db, admin, revoked.id)
    with pytest.raises(Forbidden, match="withdrawn"):
        users.register(db, _data("late"), invitation=revoked_token)
    with pytest.raises(Forbidden, match="not valid"):
        users.register(db, _data("late"), invitation="made-up")
    assert db.exec(select(User).where(User.username == "late")).first() is None
    statuses = {v.id: v.status for v in invitations.list_invitations(db, admin)}
    assert statuses == {expired.id: "expired", revoked.id: "revoked"}
    assert all(v.link is None for v in invitations.list_invitations(db, admin))


def test_a_link_claimed_between_check_and_use_is_refused_and_the_account_is_not_kept(db, make_user) -> None:
    """The single-use guarantee is the conditional update, not the check before it."""
    admin = make_user("root", admin=True)
    invitation, _token = invitations.create(db, admin)
    opened = invitations.open_invitation(db, _token)
    invitation.used_at = invitation.created_at
    db.add(invitation)
    db.commit()
    racer = User(username="racer", email="racer@example.com", password_hash="x")
    db.add(racer)
    db.flush()
    with pytest.raises(Forbidden, match="a moment ago"):
        invitations.claim(db, opened, racer)
    assert db.exec(select(User).where(User.username == "racer")).first() is None


def test_invitation_lifetime_and_email_are_checked(db, make_user) -> None:
    admin = make_user("root", admin=True)
    with pytest.raises(Invalid, match="1 to 90 days"):
        invitations.create(db, admin, days=0)
    with pytest.raises(Invalid, match="Email"):
        invitations.create(db, admin, email="not-an-address")
    with pytest.raises(Forbidden):
        invitations.create(db, make_user("member"))


def test_administrators_list_and_create_accounts_with_a_password_shown_once(db, make_user) -> None:
    admin = make_user("root", admin=True)
    row, generated = user_admin.create_account(db, admin, "newbie", "newbie@example.com", is_admin=False)
    assert generated and len(generated) >= 12
    assert users.authenticate(db, "newbie", generated) is not None
    _row, none = user_admin.create_account(db, admin, "chosen", "chosen@example.com", "chosen-password")
    assert none is None
    names = [r.username for r in user_admin.list_accounts(db, admin)]
    assert names == ["chosen", "newbie", "root"]
    with pytest.raises(Forbidden):
        user_admin.list_accounts(db, db.get(User, row.id))


def test_disabling_ends_sign_in_tokens_and_sessions_and_enabling_does_not_revive_them(db, make_user) -> None:
    admin = make_user("root", admin=True)
    member = make_user("member")
    old_token = issue_token(member.id, member.token_version, "access")
    user_admin.update_account(db, admin, member.id, is_active=False)
    assert users.authenticate(db, "member", "correct-horse-1") is None
    with pytest.raises(Unauthorized):
        users.user_from_token(db, old_token)
    with pytest.raises(Unauthorized):
        users.get_active_user(db, member.id, member.token_version)  # what a browser session carries
    user_admin.update_account(db, admin, member.id, is_active=True)
    assert users.authenticate(db, "member", "correct-horse-1") is not None
    with pytest.raises(Unauthorized):
        users.user_from_token(db, old_token)


def test_the_studio_never_loses_its_last_active_administrator(db, make_user) -> None:
    root = make_user("root", admin=True)
    with pytest.raises(Conflict, match="You are the studio's last active administrator"):
        user_admin.update_account(db, root, root.id, is_admin=False)
    with pytest.raises(Conflict, match="last active administrator"):
        user_admin.update_account(db, root, root.id, is_active=False)
    second = make_user("second")
    user_admin.update_account(db, root, second.id, is_admin=True)
    user_admin.update_account(db, root, root.id, is_admin=False)  # another admin exists now
    db.refresh(root)
    assert not root.is_admin
    with pytest.raises(Forbidden):  # a demoted admin manages nothing any more
        user_admin.update_account(db, root, second.id, is_admin=False)
    second = db.get(User, second.id)
    with pytest.raises(Conflict, match="You are"):
        user_admin.update_account(db, second, second.id, is_active=False)
    # A disabled admin does not count as the studio's administrator.
    user_admin.update_account(db, second, root.id, is_admin=True)
    user_admin.update_account(db, second, root.id, is_active=False)
    with pytest.raises(Conflict):
        user_admin.update_account(db, second, second.id, is_admin=False)


def test_a_password_reset_sets_a_new_one_and_ends_the_old_tokens(db, make_user) -> None:
    admin = make_user("root", admin=True)
    member = make_user("member")
    old_token = issue_token(member.id, member.token_version, "access")
    password = user_admin.reset_password(db, admin, member.id)
    assert users.authenticate(db, "member", "correct-horse-1") is None
    assert users.authenticate(db, "member", password) is not None
    with pytest.raises(Unauthorized):
        users.user_from_token(db, old_token)
    with pytest.raises(Forbidden):
        user_admin.reset_password(db, db.get(User, member.id), admin.id)


def test_two_people_racing_for_one_link_make_one_account() -> None:
    """Real concurrent sessions (threads), not one session pretending: exactly one registration wins."""
    import threading

    from data.engine import session_scope

    with session_scope() as session:
        admin = users.register(session, _data("root"))
        _invitation, token = invitations.create(session, admin)
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def register(name: str) -> None:
        start.wait()
        try:
            with session_scope() as session:
                outcomes[name] = users.register(session, _data(name), invitation=token).id
        except Exception as error:  # the loser's reason is checked below
            outcomes[name] = error

    threads = [threading.Thread(target=register, args=(name,)) for name in ("racer1", "racer2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [name for name, outcome in outcomes.items() if isinstance(outcome, int)]
    losers = [outcome for outcome in outcomes.values() if not isinstance(outcome, int)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], Forbidden), repr(losers[0])
    with session_scope() as session:
        accounts = session.exec(select(User.username).where(User.username.startswith("racer"))).all()
        used_by = session.exec(select(Invitation.used_by)).one()
    assert accounts == winners and used_by == outcomes[winners[0]]
