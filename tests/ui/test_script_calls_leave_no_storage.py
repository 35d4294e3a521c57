"""REST calls from scripts (no browser cookie) leave no page storage behind; a browser's storage stays."""

from __future__ import annotations

import httpx
from nicegui import app
from nicegui.testing import User


async def test_script_calls_leave_no_page_storage_behind(user: User, sign_in) -> None:
    await sign_in(user)
    kept = set(app.storage._users)  # the signed-in browser's storage
    transport = httpx.ASGITransport(app=app)
    for _ in range(200):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as script:
            assert (await script.get("/api/v1/me")).status_code == 401
    assert set(app.storage._users) == kept
    # The browser's own calls keep its storage (pages need it).
    await user.open("/projects")
    await user.should_see("New project")
