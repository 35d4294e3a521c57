"""Error pages show a reference, never the exception's class or message; the log keeps both."""

from __future__ import annotations

import logging

import pytest
from nicegui import ui
from nicegui.testing import User

SECRET = "SELECT secret FROM /srv/storycanvas/data"


async def test_a_failing_page_shows_a_reference_not_the_exception(
    user: User, caplog: pytest.LogCaptureFixture
) -> None:
    @ui.page("/boom-for-test")
    def boom() -> None:
        raise RuntimeError(SECRET)

    with caplog.at_level(logging.ERROR):
        response = await user.http_client.get("/boom-for-test")
    assert response.status_code == 500
    assert SECRET not in response.text
    assert "RuntimeError" not in response.text
    assert "Something went wrong on our side" in response.text
    logged = [record for record in caplog.records if record.name == "storycanvas.errors"]
    assert logged and logged[0].exc_info is not None
    assert len(logged) == 1
    reference = logged[0].getMessage().split()[1]
    assert reference in response.text
    caplog.clear()  # the failure was the point: the fixture fails on ERROR logs it did not expect


async def test_an_unknown_address_says_not_found_without_the_exception(user: User) -> None:
    response = await user.http_client.get("/no/such/page")
    assert response.status_code == 404
    assert "HTTPException" not in response.text
    assert "Not found" in response.text
    api = await user.http_client.get("/api/v1/no-such-route")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not found: check the address."}


def test_an_api_failure_answers_a_reference_in_json_not_the_exception(caplog: pytest.LogCaptureFixture) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from components import error_page

    application = FastAPI()
    application.add_exception_handler(Exception, error_page.failure_answer)

    @application.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError(SECRET)

    with caplog.at_level(logging.ERROR):
        response = TestClient(application, raise_server_exceptions=False).get("/api/v1/boom")
    assert response.status_code == 500
    assert SECRET not in response.text and "RuntimeError" not in response.text
    reference = response.headers["X-Error-Reference"]
    assert reference in response.json()["detail"]
    assert any(reference in record.getMessage() for record in caplog.records)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
