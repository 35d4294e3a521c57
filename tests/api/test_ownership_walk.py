"""Walks every API route with another user's token: a route without the ownership check fails here.

A new route with a new kind of path parameter fails until OBJECT_IDS learns to make that object,
and a new route without one fails until it is listed in USER_SCOPED with a reason.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import API_PREFIX
from data.engine import session_scope
from data.models import Batch, GalleryItem, GenerationJob, Notification
from tests.fakes.fake_media import png_bytes

PUBLIC = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
}
# Routes that act only on the caller's own data (their account, or lists filtered to them).
USER_SCOPED = {
    ("GET", "/api/v1/me"),
    # Notifications: the list and bulk actions only ever touch the caller's own.
    ("GET", "/api/v1/notifications"),
    ("DELETE", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/read-all"),
    ("GET", "/api/v1/me/notification-preferences"),
    ("PUT", "/api/v1/me/notification-preferences"),
    ("GET", "/api/v1/me/api-keys"),
    ("PATCH", "/api/v1/me/api-keys"),
    ("GET", "/api/v1/projects"),
    ("POST", "/api/v1/projects"),
    # An import only ever makes a new project of the caller's.
    ("POST", "/api/v1/projects/import"),
    ("GET", "/api/v1/workflows"),
    ("POST", "/api/v1/workflows"),
    ("GET", "/api/v1/jobs"),
    ("POST", "/api/v1/jobs/cancel-all"),
    ("POST", "/api/v1/jobs/retry-failed"),
    ("POST", "/api/v1/jobs/clear-completed"),
    ("GET", "/api/v1/history"),
    ("GET", "/api/v1/history/export"),
    ("GET", "/api/v1/history/compare"),
    ("GET", "/api/v1/history/models"),
}
# The ComfyUI fleet is studio-wide: every signed-in user reads it, only administrators change it
# (tests/api/test_servers_api.py proves the 403s and 401s).
STUDIO_WIDE_PREFIX = f"{API_PREFIX}/servers"
# Accounts, invitations and studio settings: administrators only (tests/api/test_admin_api.py walks every
# route under this prefix and proves 403 for a signed-in non-administrator and 401 without a token).
ADMIN_PREFIX = f"{API_PREFIX}/admin/"
# Valid bodies, so the ownership check (not validation) answers; {} where every field is optional.
# Routes that take a multipart upload instead of JSON: the file a valid request would send.
EXAMPLE_FILES = {
    ("POST", "/api/v1/projects/{project_id}/input-images"): {"file": ("a.png", png_bytes(8, 8), "image/png")},
}
EXAMPLE_BODIES = {
    ("POST", "/api/v1/projects/{project_id}/scenes"): {"name": "Intruder's scene"},
    ("POST", "/api/v1/projects/{project_id}/scenes/reorder"): {"scene_ids": []},
    ("POST", "/api/v1/clips/{clip_id}/split"): {"at": 0.5},
    ("POST", "/api/v1/clips/{clip_id}/generate"): {"checkpoint": "dreamshaper_8.safetensors"},
    ("POST", "/api/v1/projects/{project_id}/batches"): {"clip_ids": [1], "settings": {"checkpoint": "a.safetensors"}},
    ("POST", "/api/v1/projects/{project_id}/batches/estimate"): {
        "clip_ids": [1],
        "settings": {"checkpoint": "a.safetensors"},
    },
}
# Routes whose objects travel in the body: walked with the owner's ids in it.
BODY_IDS = {
    ("POST", "/api/v1/clips/merge"): lambda ids: {"clip_ids": [ids["clip_id"], ids["clip_id"]]},
    ("POST", "/api/v1/clips/move"): lambda ids: {"clip_ids": [ids["clip_id"]], "delta": 1},
}


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """From the OpenAPI document: FastAPI keeps included routers as one lazy route, the schema lists all."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(API_PREFIX):
            found.extend((method.upper(), path) for method in operations)
    return found


def _owned_objects(client: TestClient, owner: dict[str, str]) -> dict[str, int | str]:
    """The owner's objects, one per kind of path parameter the API uses."""
    project = client.post("/api/v1/projects", headers=owner, json={"name": "Private"}).json()
    scene = client.post(f"/api/v1/projects/{project['id']}/scenes", headers=owner, json={"name": "S"}).json()
    clip = client.post(
        f"/api/v1/scenes/{scene['id']}/clips", headers=owner, json={"duration": 2, "image_prompt": "a harbour"}
    ).json()
    builtin = client.get("/api/v1/workflows", params={"kind": "image"}, headers=owner).json()[0]
    workflow = client.post(
        "/api/v1/workflows",
        headers=owner,
        json={"name": "Private", "kind": "image", "graph": builtin["graph"], "bindings": builtin["bindings"]},
    ).json()
    owner_id = client.get("/api/v1/me", headers=owner).json()["id"]
    with session_scope() as session:
        job = GenerationJob(
            kind="image", project_id=project["id"], clip_id=clip["id"], owner_id=owner_id, status="failed"
        )
        session.add(job)
        session.commit()
        item = GalleryItem(
            clip_id=clip["id"], project_id=project["id"], kind="image", file_path="projects/x/a.png", selected=True
        )
        session.add(item)
        batch = Batch(project_id=project["id"], owner_id=owner_id, name="Private batch")
        session.add(batch)
        notice = Notification(user_id=owner_id, kind="job_failed", level="negative", title="Private", job_id=job.id)
        session.add(notice)
        session.commit()
        job_id, item_id, batch_id, notification_id = job.id, item.id, batch.id, notice.id
    upload = client.post(
        f"/api/v1/projects/{project['id']}/input-images",
        headers=owner,
        files={"file": ("private.png", png_bytes(8, 8, seed="private"), "image/png")},
    ).json()
    return {
        "project_id": project["id"],
        "upload_id": upload["id"],
        "scene_id": scene["id"],
        "clip_id": clip["id"],
        "workflow_id": workflow["id"],
        "job_id": job_id,
        "item_id": item_id,
        "batch_id": batch_id,
        "notification_id": notification_id,
        "n": 1,  # the clip's first prompt version (its prompt on creation)
    }


def test_every_api_route_refuses_another_users_objects(client: TestClient, api_app: FastAPI, login) -> None:
    owner = login("owner")
    intruder = login("intruder")
    ids = _owned_objects(client, owner)
    checked = 0
    for method, path in _routes(api_app):
        if (method, path) in PUBLIC or path.startswith((STUDIO_WIDE_PREFIX, ADMIN_PREFIX)):
            continue
        params = re.findall(r"{(\w+)}", path)
        if (method, path) in BODY_IDS:
            body = BODY_IDS[(method, path)](ids)
            as_intruder = client.request(method, path, headers=intruder, json=body)
            assert as_intruder.status_code in (403, 404), f"{method} {path} let another user in: {as_intruder.text}"
            assert client.request(method, path, json=body).status_code == 401
            checked += 1
            continue
        if not params:
            assert (method, path) in USER_SCOPED, f"{method} {path}: add the ownership check, then list it here"
            assert client.request(method, path).status_code == 401, f"{method} {path} answers without a token"
            continue
        missing = [p for p in params if p not in ids]
        assert not missing, f"{method} {path}: teach _owned_objects to make a {missing}"
        url = path.format(**ids)
        body = EXAMPLE_BODIES.get((method, path), {})
        files = EXAMPLE_FILES.get((method, path))
        if files is not None:  # a multipart upload
            as_intruder = client.request(method, url, headers=intruder, files=files)
        else:
            as_intruder = client.request(method, url, headers=intruder, json=body)
        assert as_intruder.status_code != 422, f"{method} {path}: add a valid body to EXAMPLE_BODIES"
        assert as_intruder.status_code in (403, 404), f"{method} {url} let another user in: {as_intruder.text}"
        assert client.request(method, url, json={}).status_code == 401, f"{method} {url} answers without a token"
        checked += 1
    assert checked >= 5
    # And the owner's project is untouched by the intruder's attempts.
    assert client.get(f"/api/v1/projects/{ids['project_id']}", headers=owner).json()["name"] == "Private"
