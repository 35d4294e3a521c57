"""GET /clips/{id}/prompt-history and POST …/{n}/restore: their shapes, ownership, and PATCH's stale check."""

from fastapi.testclient import TestClient


def _clip(client: TestClient, headers: dict[str, str], **fields) -> dict:
    project = client.post("/api/v1/projects", headers=headers, json={"name": "Harbour"}).json()
    scene = client.post(f"/api/v1/projects/{project['id']}/scenes", headers=headers, json={"name": "Dawn"}).json()
    response = client.post(f"/api/v1/scenes/{scene['id']}/clips", headers=headers, json={"duration": 2, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_history_lists_versions_newest_first_and_restore_returns_the_clip(client: TestClient, login) -> None:
    owner = login("owner")
    clip = _clip(client, owner, image_prompt="harbour at dawn", video_prompt="pan")
    patched = client.patch(f"/api/v1/clips/{clip['id']}", headers=owner, json={"image_prompt": "harbour at dusk"})
    assert patched.status_code == 200, patched.text

    history = client.get(f"/api/v1/clips/{clip['id']}/prompt-history", headers=owner)

    assert history.status_code == 200
    body = history.json()
    assert [set(v) for v in body] == [{"n", "image_prompt", "video_prompt", "saved_at", "saved_by"}] * 2
    assert [(v["n"], v["image_prompt"], v["video_prompt"], v["saved_by"]) for v in body] == [
        (2, "harbour at dusk", "pan", "owner"),
        (1, "harbour at dawn", "pan", "owner"),
    ]
    restored = client.post(f"/api/v1/clips/{clip['id']}/prompt-history/1/restore", headers=owner)
    assert restored.status_code == 200, restored.text
    assert set(restored.json()) == set(clip)  # the clip as the other clip routes return it
    assert restored.json()["image_prompt"] == "harbour at dawn"
    again = client.get(f"/api/v1/clips/{clip['id']}/prompt-history", headers=owner).json()
    assert [v["n"] for v in again] == [3, 2, 1]


def test_another_user_gets_404_and_changes_nothing(client: TestClient, login) -> None:
    owner = login("owner")
    intruder = login("intruder")
    clip = _clip(client, owner, image_prompt="private")
    client.patch(f"/api/v1/clips/{clip['id']}", headers=owner, json={"image_prompt": "still private"})
    assert client.get(f"/api/v1/clips/{clip['id']}/prompt-history", headers=intruder).status_code == 404
    assert client.post(f"/api/v1/clips/{clip['id']}/prompt-history/1/restore", headers=intruder).status_code == 404
    assert client.get(f"/api/v1/clips/{clip['id']}/prompt-history").status_code == 401
    latest = client.get(f"/api/v1/clips/{clip['id']}/prompt-history", headers=owner).json()[0]
    assert latest["image_prompt"] == "still private"


def test_restoring_an_unknown_version_is_404(client: TestClient, login) -> None:
    owner = login("owner")
    clip = _clip(client, owner, image_prompt="one")
    assert client.post(f"/api/v1/clips/{clip['id']}/prompt-history/99/restore", headers=owner).status_code == 404


def test_a_patch_from_a_stale_version_is_409_and_keeps_the_newer_text(client: TestClient, login) -> None:
    owner = login("owner")
    clip = _clip(client, owner, image_prompt="start")
    seen = clip["updated_at"]
    first = client.patch(
        f"/api/v1/clips/{clip['id']}", headers=owner, json={"image_prompt": "theirs", "expected_updated_at": seen}
    )
    assert first.status_code == 200, first.text
    stale = client.patch(
        f"/api/v1/clips/{clip['id']}", headers=owner, json={"image_prompt": "mine", "expected_updated_at": seen}
    )
    assert stale.status_code == 409, stale.text
    assert "changed elsewhere" in stale.text
    scene_clips = client.get(f"/api/v1/scenes/{clip['scene_id']}/clips", headers=owner).json()
    assert scene_clips[0]["image_prompt"] == "theirs"
    fresh = client.patch(
        f"/api/v1/clips/{clip['id']}",
        headers=owner,
        json={"image_prompt": "mine", "expected_updated_at": first.json()["updated_at"]},
    )
    assert fresh.status_code == 200, fresh.text
