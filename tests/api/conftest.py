"""The REST API on its own FastAPI app: the same routers and error handler the server mounts."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import api


@pytest.fixture
def api_app() -> FastAPI:
    application = FastAPI()
    api.mount(application)
    return application


@pytest.fixture
def client(api_app: FastAPI) -> TestClient:
    return TestClient(api_app)


@pytest.fixture
def login(client: TestClient, make_user):
    """login("alice", admin=False) → Authorization headers of a freshly made user."""

    def do(username: str = "alice", *, admin: bool = False) -> dict[str, str]:
        make_user(username, admin=admin)
        response = client.post("/api/v1/auth/token", data={"username": username, "password": "correct-horse-1"})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return do
