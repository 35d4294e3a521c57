"""The jobs REST contract: exact fields, actions, bulk actions, previews, and other users' jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from data.models import GalleryItem, GenerationJob, Project

from ..services.test_jobs_service import add_job, add_server, write_preview

JOB_FIELDS = {
    "id",
    "kind",
    "status",
    "project_id",
    "clip_id",
    "batch_id",
    "server_id",
    "priority",
    "attempts",
    "max_attempts",
    "progress",
    "current_node",
    "error",
    "can_retry",
    "params",
    "checkpoint",
    "remote_prompt_id",
    "queue_position",
    "estimated_wait_s",
    "created_at",
    "dispatched_at",
    "started_at",
    "finished_at",
    "next_attempt_at",
    "preview_url",
}
T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _project(client: TestClient, headers: dict[str, str], db, name: str = "Film") -> Project:
    created = client.post("/api/v1/projects", headers=headers, json={"name": name}).json()
    return db.get(Project, created["id"])


def test_list_has_exactly_the_contract_fields(client: TestClient, login, db) -> None:
    alice = login("alice")
    project = _project(client, alice, db)
    server = add_server(db, status="online")
    running = add_job(db, project, status="running", server_id=server.id, progress=0.5, current_node="KSampler")
    running.preview_path = write_preview(running)
    db.add(running)
    db.commit()
    queued = add_job(db, project, priority=2, checkpoint="sdxl.safetensors")

    response = client.get("/api/v1/jobs", headers=alice)
    assert response.status_code == 200
    body = {job["id"]: job for job in response.json()}
    assert set(body[queued.id]) == JOB_FIELDS
    assert body[running.id]["preview_url"] == f"/api/v1/jobs/{running.id}/preview"
    assert (body[running.id]["progress"], body[running.id]["current_node"]) == (0.5, "KSampler")
    assert body[queued.id]["preview_url"] is None
    assert body[queued.id]["queue_position"] == 1 and body[queued.id]["estimated_wait_s"] is not None
    assert body[queued.id]["params"] == {"prompt": "a lighthouse at dusk", "seed": 7}
    assert body[queued.id]["checkpoint"] == "sdxl.safetensors"

    filtered = client.get("/api/v1/jobs", headers=alice, params={"status": "queued", "project_id": project.id})
    assert [job["id"] for job in filtered.json()] == [queued.id]
    assert [j["id"] for j in client.get(f"/api/v1/jobs?server_id={server.id}", headers=alice).json()] == [running.id]
    unknown = client.get("/api/v1/jobs?status=sleeping", headers=alice)
    assert unknown.status_code == 422 and "Unknown status" in unknown.json()["detail"]


def test_detail_adds_graph_and_results(client: TestClient, login, db) -> None:
    alice = login("alice")
    project = _project(client, alice, db)
    scene = client.post(f"/api/v1/projects/{project.id}/scenes", headers=alice, json={"name": "S"}).json()
    clip = client.post(f"/api/v1/scenes/{scene['id']}/clips", headers=alice, json={"duration": 2}).json()
    job = add_job(db, project, clip_id=clip["id"], status="completed", resolved_graph={"1": {"class_type": "X"}})
    db.add(GalleryItem(clip_id=clip["id"], project_id=project.id, job_id=job.id, kind="image", file_path="a.png"))
    db.commit()

    body = client.get(f"/api/v1/jobs/{job.id}", headers=alice).json()
    assert set(body) == JOB_FIELDS | {"resolved_graph", "gallery_item_ids"}
    assert body["resolved_graph"] == {"1": {"class_type": "X"}}
    assert len(body["gallery_item_ids"]) == 1 and body["clip_id"] == clip["id"]


def test_cancel_retry_delete(client: TestClient, login, db) -> None:
    alice = login("alice")
    project = _project(client, alice, db)
    job = add_job(db, project)

    cancelled = client.post(f"/api/v1/jobs/{job.id}/cancel", headers=alice)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job.id}/cancel", headers=alice)
    assert again.status_code == 409
    assert again.json()["detail"] == f"Job {job.id} already finished (cancelled): nothing to cancel."

    retried = client.post(f"/api/v1/jobs/{job.id}/retry", headers=alice)
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert client.delete(f"/api/v1/jobs/{job.id}", headers=alice).status_code == 409

    client.post(f"/api/v1/jobs/{job.id}/cancel", headers=alice)
    assert client.delete(f"/api/v1/jobs/{job.id}", headers=alice).status_code == 204
    assert client.get(f"/api/v1/jobs/{job.id}", headers=alice).status_code == 404


def test_bulk_actions_count_and_respect_the_project(client: TestClient, login, db) -> None:
    alice = login("alice")
    film, short = _project(client, alice, db, "Film"), _project(client, alice, db, "Short")
    for _ in range(3):
        add_job(db, film)
    add_job(db, short)
    add_job(db, film, status="failed")
    add_job(db, film, status="completed", created_at=T0)
    add_job(db, short, status="completed", created_at=T0 + timedelta(seconds=1))

    assert client.post("/api/v1/jobs/cancel-all", headers=alice, json={"project_id": film.id}).json() == {"count": 3}
    assert client.post("/api/v1/jobs/retry-failed", headers=alice).json() == {"count": 1}
    assert client.post("/api/v1/jobs/clear-completed", headers=alice, json={}).json() == {"count": 2}
    statuses = sorted(job["status"] for job in client.get("/api/v1/jobs", headers=alice).json())
    assert statuses == ["cancelled", "cancelled", "cancelled", "queued", "queued"]


def test_preview_serves_the_file_with_a_token_or_says_there_is_none(client: TestClient, login, db) -> None:
    alice = login("alice")
    project = _project(client, alice, db)
    job = add_job(db, project, status="running")
    missing = client.get(f"/api/v1/jobs/{job.id}/preview", headers=alice)
    assert missing.status_code == 404 and "no live preview" in missing.json()["detail"]

    job.preview_path = write_preview(job)
    db.add(job)
    db.commit()
    response = client.get(f"/api/v1/jobs/{job.id}/preview", headers=alice)
    assert response.status_code == 200 and response.content.startswith(b"\xff\xd8")
    assert response.headers["cache-control"] == "no-store"
    assert client.get(f"/api/v1/jobs/{job.id}/preview").status_code == 401


def test_another_users_jobs_are_not_found_and_tokens_are_required(client: TestClient, login, db) -> None:
    alice, bob = login("alice"), login("bob")
    project = _project(client, alice, db)
    job = add_job(db, project, status="failed")
    job.preview_path = write_preview(job)
    db.add(job)
    db.commit()

    assert client.get("/api/v1/jobs", headers=bob).json() == []
    for method, path in [
        ("GET", f"/api/v1/jobs/{job.id}"),
        ("POST", f"/api/v1/jobs/{job.id}/cancel"),
        ("POST", f"/api/v1/jobs/{job.id}/retry"),
        ("DELETE", f"/api/v1/jobs/{job.id}"),
        ("GET", f"/api/v1/jobs/{job.id}/preview"),
    ]:
        as_bob = client.request(method, path, headers=bob)
        assert as_bob.status_code == 404, f"{method} {path}: {as_bob.text}"
        assert "does not exist or is not yours" in as_bob.json()["detail"]
        assert client.request(method, path).status_code == 401
    assert client.get(f"/api/v1/jobs?project_id={project.id}", headers=bob).status_code == 404
    assert client.post("/api/v1/jobs/retry-failed", headers=bob, json={"project_id": project.id}).status_code == 404
    assert client.post("/api/v1/jobs/retry-failed", headers=bob).json() == {"count": 0}
    assert client.get("/api/v1/jobs").status_code == 401
    for action in ("cancel-all", "retry-failed", "clear-completed"):
        assert client.post(f"/api/v1/jobs/{action}").status_code == 401
    db.expire_all()
    assert db.get(GenerationJob, job.id).status == "failed"  # type: ignore[union-attr]


def test_admin_sees_every_job(client: TestClient, login, db) -> None:
    alice = login("alice")
    job = add_job(db, _project(client, alice, db))
    root = login("root", admin=True)
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=root).json()] == [job.id]
