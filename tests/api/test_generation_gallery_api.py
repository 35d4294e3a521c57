"""POST /clips/{id}/generate and the gallery routes: the REST contract outside scripts rely on."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.config import get_settings
from app.services import workflows
from data.engine import session_scope
from data.models import ComfyServer, GalleryItem
from tests.fakes.fake_media import png_bytes

from .test_jobs_api import JOB_FIELDS


def _clip(client: TestClient, headers: dict[str, str]) -> dict:
    project = client.post("/api/v1/projects", headers=headers, json={"name": "Film"}).json()
    scene = client.post(f"/api/v1/projects/{project['id']}/scenes", headers=headers, json={"name": "S"}).json()
    return client.post(
        f"/api/v1/scenes/{scene['id']}/clips", headers=headers, json={"duration": 2, "image_prompt": "a fox"}
    ).json()


def _results(clip: dict, count: int) -> list[int]:
    folder = get_settings().media_dir / "projects" / str(clip["project_id"]) / "clips" / str(clip["id"])
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    with session_scope() as session:
        for index in range(count):
            (folder / f"r{index}.png").write_bytes(png_bytes(16, 16, seed=index))
            (folder / f"r{index}.webp").write_bytes(b"RIFF....WEBP")
            item = GalleryItem(
                clip_id=clip["id"],
                project_id=clip["project_id"],
                kind="image",
                file_path=f"projects/{clip['project_id']}/clips/{clip['id']}/r{index}.png",
                thumbnail_path=f"projects/{clip['project_id']}/clips/{clip['id']}/r{index}.webp",
                params={"seed": index},
                selected=index == 0,
            )
            session.add(item)
            session.commit()
            ids.append(item.id)
    return ids


def test_generate_answers_the_created_jobs(client: TestClient, login) -> None:
    headers = login("director")
    clip = _clip(client, headers)
    with session_scope() as session:
        workflows.ensure_builtin_workflows(session)
        session.add(ComfyServer(name="gpu-1", base_url="http://gpu-1:8188", status="online"))
        session.commit()

    response = client.post(
        f"/api/v1/clips/{clip['id']}/generate",
        headers=headers,
        json={"mode": "image", "checkpoint": "dreamshaper_8.safetensors", "variations": 2, "seed": 5, "priority": 3},
    )

    assert response.status_code == 201, response.text
    jobs = response.json()
    assert len(jobs) == 2 and set(jobs[0]) == JOB_FIELDS
    assert [job["status"] for job in jobs] == ["queued", "queued"]
    assert [job["params"]["seed"] for job in jobs] == [5, 6]
    assert jobs[0]["priority"] == 3 and jobs[0]["queue_position"] is not None
    listed = client.get("/api/v1/jobs", headers=headers, params={"clip_id": clip["id"]}).json()
    assert {job["id"] for job in listed} == {job["id"] for job in jobs}


def test_generate_without_a_server_is_422_with_what_to_do(client: TestClient, login) -> None:
    headers = login("director")
    clip = _clip(client, headers)
    response = client.post(f"/api/v1/clips/{clip['id']}/generate", headers=headers, json={"checkpoint": "a"})
    assert response.status_code == 422 and "Servers page" in response.json()["detail"]
    missing = client.post(f"/api/v1/clips/{clip['id']}/generate", headers=headers, json={})
    assert missing.status_code == 422  # the default workflow loads a checkpoint: one is required
    assert "loads a model: choose one" in missing.json()["detail"]


def test_a_workflow_that_loads_no_model_generates_without_a_checkpoint(client: TestClient, login) -> None:
    headers = login("director")
    clip = _clip(client, headers)
    with session_scope() as session:
        session.add(ComfyServer(name="gpu-1", base_url="http://gpu-1:8188", status="online"))
        session.commit()
    graph = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 3, "sigma": 1.0}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "blur"}},
    }
    blur = client.post(
        "/api/v1/workflows", headers=headers, json={"name": "Blur", "kind": "image", "graph": graph, "bindings": {}}
    )
    assert blur.status_code == 201, blur.text

    response = client.post(
        f"/api/v1/clips/{clip['id']}/generate", headers=headers, json={"workflow_id": blur.json()["id"]}
    )

    assert response.status_code == 201, response.text
    [job] = response.json()
    assert job["checkpoint"] is None and "checkpoint" not in job["params"]


def test_gallery_lists_selects_and_deletes(client: TestClient, login) -> None:
    headers = login("director")
    clip = _clip(client, headers)
    first, second = _results(clip, 2)

    items = client.get(f"/api/v1/clips/{clip['id']}/gallery", headers=headers).json()
    assert [item["id"] for item in items] == [second, first]  # newest first
    assert {"id", "kind", "url", "thumbnail_url", "selected", "params"} <= set(items[0])
    assert items[1]["selected"] and items[1]["url"] == f"/api/v1/gallery/{first}/file"

    chosen = client.post(f"/api/v1/gallery/{second}/select", headers=headers).json()
    assert chosen["selected"]
    states = {
        item["id"]: item["selected"]
        for item in client.get(f"/api/v1/clips/{clip['id']}/gallery", headers=headers).json()
    }
    assert states == {first: False, second: True}

    file = client.get(f"/api/v1/gallery/{second}/file", headers=headers)
    assert file.status_code == 200 and file.content[:4] == b"\x89PNG"
    assert client.get(f"/api/v1/gallery/{second}/thumbnail", headers=headers).content.startswith(b"RIFF")

    assert client.delete(f"/api/v1/gallery/{second}", headers=headers).status_code == 204
    remaining = client.get(f"/api/v1/clips/{clip['id']}/gallery", headers=headers).json()
    assert [(item["id"], item["selected"]) for item in remaining] == [(first, True)]  # the selection moved
    folder = get_settings().media_dir / "projects" / str(clip["project_id"]) / "clips" / str(clip["id"])
    assert not (folder / "r1.png").exists() and (folder / "r0.png").exists()


def test_gallery_files_need_a_token_and_the_right_owner(client: TestClient, login) -> None:
    owner = login("director")
    stranger = login("stranger")
    clip = _clip(client, owner)
    [item] = _results(clip, 1)
    assert client.get(f"/api/v1/gallery/{item}/file").status_code == 401
    assert client.get(f"/api/v1/gallery/{item}/file", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/clips/{clip['id']}/gallery", headers=stranger).status_code == 404


def test_a_large_gallery_comes_a_page_at_a_time_with_its_total(client: TestClient, login) -> None:
    headers = login("director")
    clip = _clip(client, headers)
    with session_scope() as session:
        session.add_all(
            GalleryItem(
                clip_id=clip["id"],
                project_id=clip["project_id"],
                kind="image" if index % 5 else "video",
                file_path=f"projects/{clip['project_id']}/clips/{clip['id']}/r{index}.png",
                params={"seed": index},
            )
            for index in range(260)
        )
        session.commit()
    url = f"/api/v1/clips/{clip['id']}/gallery"

    first = client.get(url, headers=headers)
    assert first.status_code == 200 and first.headers["X-Total-Count"] == "260"
    assert len(first.json()) == 200  # the default page
    rest = client.get(url, headers=headers, params={"offset": 200})
    assert len(rest.json()) == 60
    seen = [item["id"] for item in first.json() + rest.json()]
    assert len(set(seen)) == 260 and seen == sorted(seen, reverse=True)  # newest first, nothing twice

    videos = client.get(url, headers=headers, params={"kind": "video", "limit": 10})
    assert videos.headers["X-Total-Count"] == "52" and len(videos.json()) == 10
    assert client.get(url, headers=headers, params={"limit": 1001}).status_code == 422
