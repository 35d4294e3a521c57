"""/users and /invite/{token}, simulated: an administrator's accounts and invitations, the invitee's form."""

from __future__ import annotations

from datetime import timedelta

from nicegui import ui
from nicegui.testing import User as SimUser
from sqlmodel import select

from app.services import invitations, studio_settings
from data.models import Invitation, User

from .conftest import click_testid, eventually


def _by_testid(user: SimUser, testid: str) -> list[ui.element]:
    return [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]


def _row(user: SimUser, username: str) -> ui.element:
    rows = [e for e in _by_testid(user, "account-row") if e.props.get("data-username") == username]
    assert len(rows) == 1, f"no row for {username}"
    return rows[0]


def _in_row(row: ui.element, testid: str) -> ui.element:
    found = [e for e in row.descendants() if e.props.get("data-testid") == testid]
    assert len(found) == 1
    return found[0]


def _click(user: SimUser, element: ui.element) -> None:
    from nicegui.testing.user_interaction import UserInteraction

    UserInteraction(user, {element}, "").click()


def _menu_labels(user: SimUser) -> list[str]:
    return [
        child.text
        for item in user.find(kind=ui.menu_item).elements
        for child in item.descendants()
        if isinstance(child, ui.label | ui.item_label) or hasattr(child, "text")
    ]


async def test_administrator_manages_accounts_registration_and_invitations(user: SimUser, sign_in, make_user, db):
    await sign_in(user, "root", admin=True)
    member = make_user("member")
    await user.open("/users")
    await user.should_see("Accounts")
    assert "Users" in str(_menu_labels(user))
    assert _in_row(_row(user, "member"), "account-state").text == "active"
    assert _in_row(_row(user, "root"), "account-name").text == "root (you)"

    # Self-registration: off by default, one switch turns it on for the whole studio.
    switch = _by_testid(user, "open-registration")[0]
    assert switch.value is False
    switch.set_value(True)
    await eventually(lambda: studio_settings.open_registration(db) is True)

    # Disable a member: confirmed, shown, stored.
    _click(user, _in_row(_row(user, "member"), "toggle-active"))
    await user.should_see("Disable member?")
    click_testid(user, "confirm-action")
    await user.should_see("member is disabled and was signed out everywhere.")
    await eventually(lambda: _in_row(_row(user, "member"), "account-state").text == "disabled")
    db.expire_all()
    assert db.get(User, member.id).is_active is False

    # The last administrator cannot demote themself: said in words, nothing changes.
    _click(user, _in_row(_row(user, "root"), "toggle-admin"))
    await user.should_see("You are the studio's last active administrator")

    # A new account with a generated password, shown once.
    click_testid(user, "new-account")
    _by_testid(user, "account-username")[0].set_value("newbie")
    _by_testid(user, "account-email")[0].set_value("newbie@example.com")
    click_testid(user, "account-create")
    await user.should_see("Password for newbie")
    shown = _by_testid(user, "new-password")[0].value
    assert len(shown) >= 12
    assert db.exec(select(User).where(User.username == "newbie")).one()

    # An invitation: the link is shown once, listed as pending, and revoked.
    click_testid(user, "shown-done")
    click_testid(user, "new-invitation")
    _by_testid(user, "invitation-email")[0].set_value("guest@example.com")
    click_testid(user, "invitation-create")
    await user.should_see("Invitation link")
    link = _by_testid(user, "invitation-link")[0].value
    assert "/invite/" in link
    invitation = db.exec(select(Invitation)).one()
    assert invitation.email == "guest@example.com" and not invitation.is_admin
    await eventually(lambda: [e.props.get("data-status") for e in _by_testid(user, "invitation-row")] == ["pending"])
    click_testid(user, "shown-done")
    click_testid(user, "revoke-invitation")
    click_testid(user, "confirm-action")
    await user.should_see("Invitation revoked")
    await eventually(lambda: [e.props.get("data-status") for e in _by_testid(user, "invitation-row")] == ["revoked"])


async def test_members_see_no_users_page_and_no_menu_link(user: SimUser, sign_in, make_user) -> None:
    make_user("root", admin=True)
    await sign_in(user, "member")
    assert "Users" not in str(_menu_labels(user))
    response = await user.http_client.get("/users")
    assert response.status_code == 403
    assert "Only administrators manage accounts" in response.text


async def test_an_invitee_creates_their_account_and_lands_signed_in(user: SimUser, make_user, db) -> None:
    root = make_user("root", admin=True)
    _invitation, token = invitations.create(db, root, email="guest@example.com")
    await user.open(f"/invite/{token}")
    await user.should_see("You are invited to join this studio as a member.")
    user.find("Username").type("guest")
    user.find("Password (8+ characters)").type("long-enough-1")
    user.find("Repeat password").type("long-enough-1")
    user.find(kind=ui.button, content="Create account").click()
    await user.should_see("New project", retries=50)
    guest = db.exec(select(User).where(User.username == "guest")).one()
    assert guest.email == "guest@example.com" and not guest.is_admin


async def test_dead_invitation_links_say_why(user: SimUser, make_user, db) -> None:
    root = make_user("root", admin=True)
    used, used_token = invitations.create(db, root)
    used.used_at = used.created_at
    expired, expired_token = invitations.create(db, root)
    expired.expires_at = expired.created_at - timedelta(hours=1)
    db.add_all([used, expired])
    db.commit()
    await user.open(f"/invite/{used_token}")
    await user.should_see("This invitation has already been used to create an account")
    await user.open(f"/invite/{expired_token}")
    await user.should_see("This invitation expired on")
    await user.open("/invite/not-a-real-token")
    await user.should_see("This invitation link is not valid")


async def test_sign_in_page_says_registration_is_closed_after_the_first_account(user: SimUser, make_user) -> None:
    make_user("root", admin=True)
    await user.open("/login")
    await user.should_see(
        "Registration is closed on this server: ask an administrator for an account or an invitation."
    )
