"""Addresses with numbers no row can have answer "Not found" (404), never a server error, on both databases.

Every protected route with a number in it is walked, so a new page is covered by itself.
"""

from __future__ import annotations

import re

import pytest
from nicegui.testing import User

import pages

NUMBERS = [2**31, 2**63, 2**64 + 1, 0]


@pytest.mark.parametrize("number", NUMBERS)
async def test_pages_with_an_impossible_id_answer_not_found(user: User, sign_in, number: int) -> None:
    await sign_in(user)
    walked = 0
    for route in pages.PROTECTED_ROUTES:
        if "{" not in route:
            continue
        url = re.sub(r"{\w+}", str(number), route)
        response = await user.http_client.get(url)
        assert response.status_code == 404, f"{url} answered {response.status_code}"
        assert "Not found" in response.text
        walked += 1
    assert walked >= 5
