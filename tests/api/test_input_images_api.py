"""POST /projects/{id}/input-images and the input pictures a generation request names."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.services import workflows
from data.engine import session_scope
from data.models import ComfyServer, GenerationJob
from tests.fakes.fake_media import png_bytes

from .test_generation_gallery_api import _clip, _results


def _kinds() -> dict[str, int]:
    with session_scope() as session:
        return {kind: workflows.default_workflow(session, kind).id for kind in workflows.KINDS}  # type: ignore[misc]


def _upload(client: TestClient, headers: dict[str, str], project_id: int, name: str, data: bytes):
    return client.post(
        f"/api/v1/projects/{project_id}/input-images", headers=headers, files={"file": (name, data, "image/png")}
    )


def test_upload_answers_id_name_size_and_url_and_only_the_owner_sees_it(client: TestClient, login) -> None:
    owner, other = login("director"), login("stranger")
    clip = _clip(client, owner)
    data = png_bytes(40, 24, seed="upload")

    response = _upload(client, owner, clip["project_id"], "street.png", data)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "filename", "width", "height", "url"}
    assert (body["filename"], body["width"], body["height"]) == ("street.png", 40, 24)
    assert client.get(body["url"], headers=owner).content == data
    assert [
        i["id"] for i in client.get(f"/api/v1/projects/{clip['project_id']}/input-images", headers=owner).json()
    ] == [body["id"]]
    assert _upload(client, other, clip["project_id"], "mine.png", data).status_code == 404
    assert client.get(body["url"], headers=other).status_code == 404
    assert client.get(f"/api/v1/projects/{clip['project_id']}/input-images", headers=other).status_code == 404


def test_a_renamed_text_file_is_422_with_the_reason(client: TestClient, login) -> None:
    owner = login("director")
    clip = _clip(client, owner)
    response = _upload(client, owner, clip["project_id"], "notes.png", b"not a picture at all\n" * 10)
    assert response.status_code == 422 and "is not a picture" in response.json()["detail"]


def test_image_to_image_needs_a_picture_and_sends_the_one_named(client: TestClient, login) -> None:
    owner, other = login("director"), login("stranger")
    clip = _clip(client, owner)
    with session_scope() as session:
        workflows.ensure_builtin_workflows(session)
        session.add(ComfyServer(name="gpu-1", base_url="http://gpu-1:8188", status="online"))
        session.commit()
    kinds = _kinds()
    request = {"mode": "image", "checkpoint": "sd_xl_base_1.0.safetensors", "workflow_id": kinds["img2img"]}
    url = f"/api/v1/clips/{clip['id']}/generate"

    refused = client.post(url, headers=owner, json=request)
    assert refused.status_code == 422 and "needs the picture it starts from" in refused.json()["detail"]

    upload = _upload(client, owner, clip["project_id"], "start.png", png_bytes(32, 32, seed="start")).json()
    queued = client.post(url, headers=owner, json={**request, "init_image": {"upload_id": upload["id"]}})
    assert queued.status_code == 201, queued.text
    with session_scope() as session:
        job = session.get(GenerationJob, queued.json()[0]["id"])
        assert job is not None and job.resolved_graph is not None
        assert job.params["init_image_path"] == f"projects/{clip['project_id']}/inputs/{upload['id']}.png"
        assert job.resolved_graph["10"]["inputs"]["image"] == job.params["init_image"] != "example.png"

    result = _results(clip, 1)[0]
    from_result = client.post(url, headers=owner, json={**request, "init_image": {"item_id": result}})
    assert from_result.status_code == 201, from_result.text

    both = client.post(url, headers=owner, json={**request, "init_image": {"upload_id": upload["id"], "item_id": 1}})
    assert both.status_code == 422

    foreign_clip = _clip(client, other)
    foreign = client.post(
        f"/api/v1/clips/{foreign_clip['id']}/generate",
        headers=other,
        json={**request, "init_image": {"upload_id": upload["id"]}},
    )
    assert foreign.status_code == 422 and "not an upload of this project" in foreign.json()["detail"]
    foreign_item = client.post(
        f"/api/v1/clips/{foreign_clip['id']}/generate",
        headers=other,
        json={**request, "init_image": {"item_id": result}},
    )
    assert foreign_item.status_code == 422 and "not an image of this project" in foreign_item.json()["detail"]


def test_face_swap_needs_both_pictures(client: TestClient, login) -> None:
    owner = login("director")
    clip = _clip(client, owner)
    with session_scope() as session:
        workflows.ensure_builtin_workflows(session)
        session.add(ComfyServer(name="gpu-1", base_url="http://gpu-1:8188", status="online"))
        session.commit()
    upload = _upload(client, owner, clip["project_id"], "start.png", png_bytes(32, 32, seed="s")).json()
    request = {
        "mode": "image",
        "checkpoint": "x.safetensors",
        "workflow_id": _kinds()["faceswap"],
        "init_image": {"upload_id": upload["id"]},
    }
    refused = client.post(f"/api/v1/clips/{clip['id']}/generate", headers=owner, json=request)
    assert refused.status_code == 422 and "the face to put in" in refused.json()["detail"]
    queued = client.post(
        f"/api/v1/clips/{clip['id']}/generate",
        headers=owner,
        json={**request, "face_image": {"upload_id": upload["id"]}},
    )
    assert queued.status_code == 201, queued.text
