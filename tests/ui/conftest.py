"""Page tests with NiceGUI's simulated user; signing in goes through the real login form."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User


@pytest.fixture
def sign_in(make_user):
    """await sign_in(user, "alice") → the stored account, signed in through /login."""

    async def do(user: User, username: str = "alice", *, admin: bool = False):
        account = make_user(username, admin=admin)
        await user.open("/login")
        user.find("Username or email").type(username)
        user.find("Password").type("correct-horse-1")
        user.find(kind=ui.button, content="Sign in").click()
        await user.should_see("New project", retries=50)
        return account

    return do


def click_exact(user: User, label: str) -> None:
    """Click the one button labelled exactly so (find() also matches "Delete…" when asked for "Delete")."""
    matches = [b for b in user.find(kind=ui.button).elements if getattr(b, "text", None) == label]
    assert len(matches) == 1, f"expected one button {label!r}, found {len(matches)}"
    from nicegui.testing.user_interaction import UserInteraction

    UserInteraction(user, {matches[0]}, label).click()


def click_menu_item(user: User, label: str) -> None:
    """Open the menus (the browser would on a click) and pick the item labelled exactly so."""
    from nicegui.testing.user_interaction import UserInteraction

    for menu in user.find(kind=ui.menu).elements:
        menu.open()
    items = [
        item
        for item in user.find(kind=ui.menu_item).elements
        if any(getattr(child, "text", None) == label for child in item.descendants())
    ]
    assert len(items) == 1, f"expected one menu item {label!r}, found {len(items)}"
    UserInteraction(user, {items[0]}, label).click()


def click_testid(user: User, testid: str, index: int = 0) -> None:
    """Click the index-th element (in page order) whose data-testid is so."""
    from nicegui.testing.user_interaction import UserInteraction

    matches = [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]
    assert len(matches) > index, f"expected at least {index + 1} elements {testid!r}, found {len(matches)}"
    UserInteraction(user, {matches[index]}, testid).click()


async def eventually(check, timeout: float = 5.0) -> None:
    """Wait until check() is true: event handlers of simulated clicks finish on the event loop."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]  # pytest's hook wrapper
    """Stop every page's outbox before the simulated app shuts down.

    Shutting down cancels the outbox loops; one caught between its one-second wait timing out and
    the cancel keeps running, and the shutdown then waits its full two seconds for it. Stopped
    first, each loop ends by itself at once (two seconds saved per page test).
    """
    if "user" in getattr(item, "fixturenames", ()):
        from nicegui import Client

        for client in list(Client.instances.values()):
            client.outbox.stop()
    yield
