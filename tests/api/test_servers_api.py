"""The /api/v1/servers contract that outside scripts rely on: shapes, status codes, who may write."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.services import workflows
from data.engine import session_scope
from data.models import User
from tests.services.test_workflow_models import SD, WAN, server_from_fake, unet_video_workflow

PUBLIC_FIELDS = {
    "id",
    "name",
    "url",
    "has_api_key",
    "api_key_hint",
    "runpod_endpoint_id",
    "max_jobs",
    "enabled",
    "status",
    "queue_depth",
    "active_jobs",
    "gpu_name",
    "vram_total",
    "vram_free",
    "ram_total",
    "ram_free",
    "comfy_version",
    "last_error",
    "last_checked_at",
    "last_seen_at",
    "catalog_refreshed_at",
}
CATALOG_FIELDS = {"checkpoints", "loras", "vaes", "embeddings", "upscalers"}


@pytest.fixture
def admin(login) -> dict[str, str]:
    return login("root", admin=True)


def create(client: TestClient, headers: dict[str, str], **body) -> dict:
    response = client.post(
        "/api/v1/servers", json={"name": "gpu-1", "url": "http://gpu-1:8188/", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_create_list_get_update_delete(client: TestClient, admin) -> None:
    created = create(client, admin, api_key="sk-abcdef-987654", max_jobs=3)
    assert set(created) == PUBLIC_FIELDS
    assert created["url"] == "http://gpu-1:8188"
    assert (created["has_api_key"], created["api_key_hint"]) == (True, "sk-…7654")
    assert (created["max_jobs"], created["enabled"], created["status"], created["active_jobs"]) == (
        3,
        True,
        "unknown",
        0,
    )
    assert "sk-abcdef-987654" not in client.get("/api/v1/servers", headers=admin).text

    listed = client.get("/api/v1/servers", headers=admin).json()
    assert [s["id"] for s in listed] == [created["id"]]
    assert set(listed[0]) == PUBLIC_FIELDS
    path = f"/api/v1/servers/{created['id']}"
    assert client.get(path, headers=admin).json() == created

    patched = client.patch(path, json={"name": "Big GPU", "enabled": False, "api_key": ""}, headers=admin)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["enabled"], patched.json()["has_api_key"]) == (
        "Big GPU",
        False,
        False,
    )
    assert patched.json()["url"] == "http://gpu-1:8188"

    assert client.delete(path, headers=admin).status_code == 204
    assert client.get(path, headers=admin).status_code == 404
    assert client.get("/api/v1/servers", headers=admin).json() == []


def test_catalog_of_a_new_server_is_empty(client: TestClient, admin) -> None:
    created = create(client, admin)
    response = client.get(f"/api/v1/servers/{created['id']}/catalog", headers=admin)
    assert response.status_code == 200
    assert response.json() == {key: [] for key in CATALOG_FIELDS}


def test_errors_map_to_status_codes(client: TestClient, admin) -> None:
    create(client, admin)
    duplicate = client.post("/api/v1/servers", json={"name": "again", "url": "http://gpu-1:8188"}, headers=admin)
    assert duplicate.status_code == 409
    assert "already registered" in duplicate.json()["detail"]
    bad = client.post("/api/v1/servers", json={"name": "x", "url": "gpu-1"}, headers=admin)
    assert bad.status_code == 422
    too_many = client.post("/api/v1/servers", json={"name": "x", "url": "http://x:1", "max_jobs": 99}, headers=admin)
    assert too_many.status_code == 422
    assert client.patch("/api/v1/servers/9999", json={"name": "n"}, headers=admin).status_code == 404


def test_non_admins_read_but_never_write(client: TestClient, admin, login) -> None:
    created = create(client, admin)
    bob = login("bob")
    path = f"/api/v1/servers/{created['id']}"
    assert client.get("/api/v1/servers", headers=bob).status_code == 200
    assert client.get(path, headers=bob).status_code == 200
    assert client.get(f"{path}/catalog", headers=bob).status_code == 200
    writes = [
        client.post("/api/v1/servers", json={"name": "mine", "url": "http://mine:8188"}, headers=bob),
        client.patch(path, json={"enabled": False}, headers=bob),
        client.delete(path, headers=bob),
        client.post(f"{path}/test", headers=bob),
        client.post(f"{path}/catalog/refresh", headers=bob),
    ]
    for response in writes:
        assert response.status_code == 403, response.text
        assert response.json()["detail"] == "Only an administrator can manage servers."
    assert client.get(path, headers=bob).json()["enabled"] is True


def test_every_route_needs_a_token(client: TestClient, admin) -> None:
    created = create(client, admin)
    path = f"/api/v1/servers/{created['id']}"
    for method, url in [
        ("GET", "/api/v1/servers"),
        ("POST", "/api/v1/servers"),
        ("GET", path),
        ("PATCH", path),
        ("DELETE", path),
        ("POST", f"{path}/test"),
        ("POST", f"{path}/catalog/refresh"),
        ("GET", f"{path}/catalog"),
    ]:
        response = client.request(method, url, json={} if method in ("POST", "PATCH") else None)
        assert response.status_code == 401, (method, url, response.status_code)


def test_connection_test_and_catalog_refresh_against_a_fake_comfyui(client: TestClient, admin) -> None:
    from tests.fakes.fake_comfyui import FakeComfyUI

    with FakeComfyUI(checkpoints=["sdxl.safetensors"], loras=["ink.safetensors"]) as comfy:
        created = create(client, admin, url=comfy.url)
        path = f"/api/v1/servers/{created['id']}"
        tested = client.post(f"{path}/test", headers=admin)
        assert tested.status_code == 200, tested.text
        assert set(tested.json()) == {"ok", "kind", "message", "version"}
        assert tested.json()["ok"] is True and tested.json()["version"]
        assert client.get(path, headers=admin).json()["status"] == "online"

        refreshed = client.post(f"{path}/catalog/refresh", headers=admin)
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json() == {
            "checkpoints": ["sdxl.safetensors"],
            "loras": ["ink.safetensors"],
            "vaes": [],
            "embeddings": [],
            "upscalers": [],
        }
        assert client.get(f"{path}/catalog", headers=admin).json() == refreshed.json()

        comfy.go_down()
        failed = client.post(f"{path}/test", headers=admin).json()
        assert (failed["ok"], failed["kind"]) == (False, "refused")
        unreachable = client.post(f"{path}/catalog/refresh", headers=admin)
        assert unreachable.status_code == 502
        assert "Could not read the models" in unreachable.json()["detail"]


def test_a_catalog_for_a_workflow_lists_what_its_checkpoint_loader_can_load(client: TestClient, admin) -> None:
    with session_scope() as session:
        workflows.ensure_builtin_workflows(session)
        server = server_from_fake(session, "gpu-1", checkpoints=[SD], diffusion_models=[WAN])
        administrator = session.exec(select(User)).one()
        server_id, wan_id = server.id, unet_video_workflow(session, administrator).id
    path = f"/api/v1/servers/{server_id}/catalog"

    plain = client.get(path, headers=admin).json()
    for_wan = client.get(path, headers=admin, params={"workflow_id": wan_id})

    assert for_wan.status_code == 200 and set(for_wan.json()) == set(CATALOG_FIELDS)
    assert (plain["checkpoints"], for_wan.json()["checkpoints"]) == ([SD], [WAN])
    assert client.get(path, headers=admin, params={"workflow_id": 2**31}).status_code == 422
