"""The batch routes: their shapes, all-or-nothing 422s, and other users' projects answering 404."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import func, select

from app.services import workflows
from data.engine import session_scope
from data.models import Batch, ComfyServer, GenerationJob

MODEL = "dreamshaper_8.safetensors"
SUMMARY_FIELDS = {
    "id",
    "project_id",
    "owner_id",
    "name",
    "priority",
    "created_at",
    "notified_at",
    "status",
    "progress",
    "finished",
    "clip_count",
    "job_count",
    "clip_counts",
    "job_counts",
}
VIEW_FIELDS = SUMMARY_FIELDS | {"settings", "clips"}
ROW_FIELDS = {
    "clip_id",
    "label",
    "scene_id",
    "scene_name",
    "status",
    "progress",
    "error",
    "jobs",
    "result_item_id",
}


def _film(client: TestClient, headers: dict[str, str], clips_per_scene: tuple[int, ...] = (2, 1)) -> dict:
    project = client.post("/api/v1/projects", headers=headers, json={"name": "Film"}).json()
    clip_ids = []
    for number, count in enumerate(clips_per_scene, start=1):
        scene = client.post(
            f"/api/v1/projects/{project['id']}/scenes", headers=headers, json={"name": f"Scene {number}"}
        ).json()
        for index in range(count):
            clip = client.post(
                f"/api/v1/scenes/{scene['id']}/clips",
                headers=headers,
                json={"start": index * 2, "duration": 2, "label": f"S{number}C{index + 1}", "image_prompt": "a fox"},
            ).json()
            clip_ids.append(clip["id"])
    with session_scope() as session:
        workflows.ensure_builtin_workflows(session)
        session.add(ComfyServer(name="gpu-1", base_url="http://gpu-1:8188", status="online"))
        session.commit()
    return {"project_id": project["id"], "clip_ids": clip_ids}


def _stored() -> tuple[int, int]:
    with session_scope() as session:
        jobs = session.exec(select(func.count()).select_from(GenerationJob)).one()
        batches = session.exec(select(func.count()).select_from(Batch)).one()
    return jobs, batches


def test_create_answers_the_batch_view_and_get_and_list_agree(client: TestClient, login) -> None:
    headers = login("director")
    film = _film(client, headers)
    body = {"clip_ids": film["clip_ids"], "settings": {"checkpoint": MODEL, "variations": 2}, "priority": 4}

    response = client.post(f"/api/v1/projects/{film['project_id']}/batches", headers=headers, json=body)

    assert response.status_code == 201, response.text
    batch = response.json()
    assert set(batch) == VIEW_FIELDS
    assert (batch["name"], batch["priority"], batch["status"], batch["finished"]) == (
        "Batch of 3 clips",
        4,
        "queued",
        False,
    )
    assert (batch["clip_count"], batch["job_count"], batch["progress"]) == (3, 6, 0.0)
    assert batch["clip_counts"]["queued"] == 3 and batch["job_counts"]["queued"] == 6
    assert batch["settings"]["checkpoint"] == MODEL and batch["settings"]["variations"] == 2
    assert [set(row) for row in batch["clips"]] == [ROW_FIELDS] * 3
    first = batch["clips"][0]
    assert (first["label"], first["scene_name"], first["status"], len(first["jobs"])) == (
        "S1C1",
        "Scene 1",
        "queued",
        2,
    )
    jobs = client.get("/api/v1/jobs", headers=headers, params={"project_id": film["project_id"]}).json()
    assert {job["batch_id"] for job in jobs} == {batch["id"]} and {job["priority"] for job in jobs} == {4}

    assert client.get(f"/api/v1/batches/{batch['id']}", headers=headers).json() == batch
    listed = client.get(f"/api/v1/projects/{film['project_id']}/batches", headers=headers).json()
    assert [set(entry) for entry in listed] == [SUMMARY_FIELDS]
    assert listed[0]["id"] == batch["id"] and listed[0]["job_count"] == 6


def test_estimate_answers_jobs_seconds_and_problems_without_queuing(client: TestClient, login) -> None:
    headers = login("director")
    film = _film(client, headers)
    body = {"clip_ids": film["clip_ids"], "settings": {"checkpoint": MODEL, "mode": "video"}}

    response = client.post(f"/api/v1/projects/{film['project_id']}/batches/estimate", headers=headers, json=body)

    assert response.status_code == 200, response.text
    estimate = response.json()
    assert set(estimate) == {"clips", "jobs", "estimate_seconds", "problems", "warnings"}
    assert (estimate["clips"], estimate["jobs"]) == (3, 0)
    assert [problem["clip_id"] for problem in estimate["problems"]] == film["clip_ids"]
    assert all("no selected image" in problem["reason"] for problem in estimate["problems"])
    image = {**body, "settings": {"checkpoint": MODEL}}
    fine = client.post(f"/api/v1/projects/{film['project_id']}/batches/estimate", headers=headers, json=image).json()
    assert (fine["jobs"], fine["problems"]) == (3, []) and fine["estimate_seconds"] > 0
    assert _stored() == (0, 0)


def test_a_clip_that_cannot_be_queued_is_a_422_naming_it_and_nothing_is_stored(client: TestClient, login) -> None:
    headers = login("director")
    film = _film(client, headers)
    url = f"/api/v1/projects/{film['project_id']}/batches"

    refused = client.post(
        url, headers=headers, json={"clip_ids": film["clip_ids"], "settings": {"checkpoint": MODEL, "mode": "video"}}
    )

    assert refused.status_code == 422
    assert refused.json()["field"] == "clip_ids"
    detail = refused.json()["detail"]
    assert f"Clip {film['clip_ids'][0]}" in detail and "no selected image" in detail and "Nothing was queued" in detail
    assert _stored() == (0, 0)
    stray = client.post(
        url, headers=headers, json={"clip_ids": [*film["clip_ids"], 987654], "settings": {"checkpoint": MODEL}}
    )
    assert stray.status_code == 422 and "Clip 987654 is not in this project" in stray.json()["detail"]
    empty = client.post(url, headers=headers, json={"clip_ids": [], "settings": {"checkpoint": MODEL}})
    assert empty.status_code == 422 and empty.json()["detail"] == "Select at least one clip."
    per_clip = client.post(
        url, headers=headers, json={"clip_ids": film["clip_ids"], "settings": {"checkpoint": MODEL, "prompt": "x"}}
    )
    assert per_clip.status_code == 422 and "prompt" in per_clip.text
    assert _stored() == (0, 0)


def test_retry_failed_answers_the_count_and_the_batch(client: TestClient, login) -> None:
    headers = login("director")
    film = _film(client, headers)
    batch = client.post(
        f"/api/v1/projects/{film['project_id']}/batches",
        headers=headers,
        json={"clip_ids": film["clip_ids"], "settings": {"checkpoint": MODEL}, "name": "Dusk"},
    ).json()
    failed_job = batch["clips"][1]["jobs"][0]["id"]
    assert set(batch["clips"][1]["jobs"][0]) == {"id", "kind", "status", "progress"}
    with session_scope() as session:
        job = session.get(GenerationJob, failed_job)
        job.status, job.error = "failed", "CUDA out of memory"
        session.add(job)
        session.commit()
    shown = client.get(f"/api/v1/batches/{batch['id']}", headers=headers).json()
    assert shown["clips"][1]["status"] == "failed" and shown["clips"][1]["error"] == "CUDA out of memory"

    response = client.post(f"/api/v1/batches/{batch['id']}/retry-failed", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["count"] == 1
    assert set(response.json()["batch"]) == VIEW_FIELDS
    assert response.json()["batch"]["clips"][1]["status"] == "queued"
    assert response.json()["batch"]["name"] == "Dusk"


def test_other_users_projects_and_batches_are_not_found(client: TestClient, login) -> None:
    owner = login("owner")
    intruder = login("intruder")
    film = _film(client, owner)
    body = {"clip_ids": film["clip_ids"], "settings": {"checkpoint": MODEL}}
    batch = client.post(f"/api/v1/projects/{film['project_id']}/batches", headers=owner, json=body).json()
    jobs_before = _stored()

    for method, url in (
        ("POST", f"/api/v1/projects/{film['project_id']}/batches"),
        ("POST", f"/api/v1/projects/{film['project_id']}/batches/estimate"),
        ("GET", f"/api/v1/projects/{film['project_id']}/batches"),
        ("GET", f"/api/v1/batches/{batch['id']}"),
        ("POST", f"/api/v1/batches/{batch['id']}/retry-failed"),
    ):
        answer = client.request(method, url, headers=intruder, json=body)
        assert answer.status_code == 404, (method, url, answer.text)
        assert "Film" not in answer.text and "S1C1" not in answer.text
        assert client.request(method, url, json=body).status_code == 401

    # The intruder's own project cannot take the owner's clips either.
    own = client.post("/api/v1/projects", headers=intruder, json={"name": "Mine"}).json()
    stolen = client.post(f"/api/v1/projects/{own['id']}/batches", headers=intruder, json=body)
    assert stolen.status_code == 422 and "not in this project" in stolen.json()["detail"]
    assert _stored() == jobs_before
