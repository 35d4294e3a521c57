"""The history REST contract: list fields and filters, export files, compare, model usage, replay, ownership."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from app import api
from app.api import auth, history
from app.services import clips, generation, scenes, workflows
from data.errors import DomainError
from data.models import Project, User

from ..services.test_jobs_service import add_job, add_server
from .test_jobs_api import JOB_FIELDS

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
HISTORY_FIELDS = JOB_FIELDS | {
    "project_name",
    "clip_label",
    "server_name",
    "workflow",
    "seed",
    "duration_s",
    "result_ids",
}


@pytest.fixture
def api_app() -> FastAPI:
    """Sign-in and history routes with the API's one error handler, as the server mounts them."""
    application = FastAPI()
    router = APIRouter(prefix=api.API_PREFIX)
    router.include_router(auth.router)
    router.include_router(history.router)
    application.include_router(router)
    application.add_exception_handler(DomainError, api._domain_error)
    return application


@pytest.fixture
def alice_project(login, db, make_project):
    headers = login("alice")
    owner = db.exec(select(User).where(User.username == "alice")).one()
    project = make_project(owner, "Harbour")
    scene = scenes.create_scene(db, owner, project.id, "Opening")
    clip = clips.create_clip(db, owner, scene.id, start=0, duration=2, image_prompt="a lighthouse at dusk")
    return headers, owner, project, clip


def test_list_has_the_job_fields_plus_history_fields_and_filters(client: TestClient, alice_project, db) -> None:
    headers, _owner, project, clip = alice_project
    done = add_job(db, project, clip_id=clip.id, status="completed", checkpoint="sdxl.safetensors", created_at=T0)
    failed = add_job(db, project, status="failed", checkpoint="flux.safetensors", created_at=T0 + timedelta(days=1))

    response = client.get("/api/v1/history", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body] == [failed.id, done.id]
    assert set(body[1]) == HISTORY_FIELDS
    assert (body[1]["project_name"], body[1]["clip_label"], body[1]["seed"]) == ("Harbour", "Opening · #1", 7)

    def ids(**params) -> list[int]:
        return [row["id"] for row in client.get("/api/v1/history", headers=headers, params=params).json()]

    assert ids(status="failed") == [failed.id]
    assert ids(checkpoint="sdxl.safetensors") == [done.id]
    assert ids(clip_id=clip.id) == [done.id]
    assert ids(since=(T0 + timedelta(hours=1)).isoformat()) == [failed.id]
    assert ids(until="2030-05-01T13:00:00Z") == [done.id]
    assert ids(text="SDXL") == [done.id]  # any case
    assert ids(project_id=project.id, limit=1) == [failed.id]
    bad = client.get("/api/v1/history", headers=headers, params={"status": "sleeping"})
    assert bad.status_code == 422 and "Unknown status" in bad.json()["detail"]


def test_export_downloads_csv_and_json_files(client: TestClient, alice_project, db) -> None:
    headers, _owner, project, clip = alice_project
    job = add_job(db, project, clip_id=clip.id, checkpoint="sdxl.safetensors")

    as_csv = client.get("/api/v1/history/export", headers=headers, params={"format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"] == 'attachment; filename="generation-history.csv"'
    (row,) = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert row["id"] == str(job.id) and row["checkpoint"] == "sdxl.safetensors"

    as_json = client.get("/api/v1/history/export?format=json&status=queued", headers=headers)
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.headers["content-disposition"].endswith('generation-history.json"')
    assert [item["id"] for item in as_json.json()] == [job.id]
    assert as_json.json()[0]["params"] == {"prompt": "a lighthouse at dusk", "seed": 7}
    assert client.get("/api/v1/history/export?format=xlsx", headers=headers).status_code == 422


def test_compare_and_model_usage(client: TestClient, alice_project, db) -> None:
    headers, _owner, project, _clip = alice_project
    a = add_job(db, project, checkpoint="sdxl.safetensors", status="completed", created_at=T0)
    b = add_job(db, project, checkpoint="sdxl.safetensors", params={"prompt": "a lighthouse at dusk", "seed": 9})

    rows = client.get(f"/api/v1/history/compare?a={a.id}&b={b.id}", headers=headers).json()
    by_param = {row["param"]: row for row in rows}
    assert by_param["seed"] == {"param": "seed", "a": 7, "b": 9, "differs": True}
    assert by_param["prompt"]["differs"] is False
    same = client.get(f"/api/v1/history/compare?a={a.id}&b={a.id}", headers=headers)
    assert same.status_code == 422 and "two different" in same.json()["detail"]

    usage = client.get("/api/v1/history/models", headers=headers).json()
    assert usage == [
        {
            "checkpoint": "sdxl.safetensors",
            "jobs": 2,
            "completed": 1,
            "failed": 0,
            "median_duration_s": None,
            "last_used": usage[0]["last_used"],
        }
    ]


def test_replay_answers_with_the_new_job_in_the_jobs_shape(client: TestClient, alice_project, db) -> None:
    headers, owner, _project, clip = alice_project
    workflows.ensure_builtin_workflows(db)
    add_server(db, "gpu-1", status="online")
    (original,) = generation.create_generation(
        db, owner, clip.id, generation.parse_request(checkpoint="dreamshaper_8.safetensors", seed=99)
    )

    response = client.post(f"/api/v1/history/{original.id}/replay", headers=headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == JOB_FIELDS
    assert body["id"] != original.id and body["status"] == "queued" and body["params"]["seed"] == 99
    assert body["params"]["replay_of"] == original.id and body["queue_position"] == 2


def test_other_users_requests_are_hidden_and_signing_in_is_required(
    client: TestClient, alice_project, login, db
) -> None:
    _headers, _owner, project, _clip = alice_project
    job = add_job(db, project, checkpoint="sdxl.safetensors")
    mine = add_job(db, project)
    bob = login("bob")

    assert client.get("/api/v1/history", headers=bob).json() == []
    assert client.get("/api/v1/history/models", headers=bob).json() == []
    assert client.get("/api/v1/history/export?format=json", headers=bob).json() == []
    assert client.get(f"/api/v1/history?project_id={project.id}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/history/compare?a={job.id}&b={mine.id}", headers=bob).status_code == 404
    replay = client.post(f"/api/v1/history/{job.id}/replay", headers=bob)
    assert replay.status_code == 404 and "not yours" in replay.json()["detail"]
    for method, path in (
        ("get", "/api/v1/history"),
        ("get", "/api/v1/history/export"),
        ("get", f"/api/v1/history/compare?a={job.id}&b={mine.id}"),
        ("get", "/api/v1/history/models"),
        ("post", f"/api/v1/history/{job.id}/replay"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    assert db.get(Project, project.id) is not None
