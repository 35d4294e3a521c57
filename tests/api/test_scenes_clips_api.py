"""The scenes/clips REST contract: shapes, frame snapping, overlap policies, 422 with nothing half-applied."""

from fastapi.testclient import TestClient


def _project(client: TestClient, headers: dict[str, str], fps: float = 24) -> int:
    return client.post("/api/v1/projects", headers=headers, json={"name": "Film", "fps": fps}).json()["id"]


def test_scene_crud_reorder_and_duplicate(client: TestClient, login) -> None:
    headers = login("ada")
    pid = _project(client, headers)
    created = [
        client.post(
            f"/api/v1/projects/{pid}/scenes", headers=headers, json={"name": name, "description": f"about {name}"}
        )
        for name in ("A", "B", "C")
    ]
    assert all(r.status_code == 201 for r in created)
    ids = [r.json()["id"] for r in created]
    assert [s["position"] for s in (r.json() for r in created)] == [0, 1, 2]
    reordered = client.post(
        f"/api/v1/projects/{pid}/scenes/reorder", headers=headers, json={"scene_ids": [ids[2], ids[0], ids[1]]}
    )
    assert reordered.status_code == 200
    assert [(s["name"], s["position"]) for s in reordered.json()] == [("C", 0), ("A", 1), ("B", 2)]
    wrong = client.post(f"/api/v1/projects/{pid}/scenes/reorder", headers=headers, json={"scene_ids": ids[:2]})
    assert wrong.status_code == 422
    listed = client.get(f"/api/v1/projects/{pid}/scenes", headers=headers).json()
    assert [s["name"] for s in listed] == ["C", "A", "B"]
    renamed = client.patch(f"/api/v1/scenes/{ids[0]}", headers=headers, json={"name": "Alpha"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Alpha"
    copy = client.post(f"/api/v1/scenes/{ids[0]}/duplicate", headers=headers)
    assert copy.status_code == 201 and copy.json()["name"] == "Alpha (copy)" and copy.json()["position"] == 2
    assert client.delete(f"/api/v1/scenes/{ids[1]}", headers=headers).status_code == 204
    positions = [s["position"] for s in client.get(f"/api/v1/projects/{pid}/scenes", headers=headers).json()]
    assert positions == [0, 1, 2]


def test_clip_times_snap_to_frames_and_responses_carry_frames(client: TestClient, login) -> None:
    headers = login("ada")
    pid = _project(client, headers, fps=23.976)
    sid = client.post(f"/api/v1/projects/{pid}/scenes", headers=headers, json={"name": "S"}).json()["id"]
    response = client.post(
        f"/api/v1/scenes/{sid}/clips",
        headers=headers,
        json={
            "start": 1.0,
            "duration": 2.5,
            "image_prompt": "a lighthouse",
            "video_prompt": "slow push in",
            "label": "Opening",
        },
    )
    assert response.status_code == 201, response.text
    clip = response.json()
    assert clip["start_frame"] == 24 and clip["duration_frames"] == 60
    assert clip["start"] == round(24 * 1001 / 24000, 6) and clip["duration"] == round(60 * 1001 / 24000, 6)
    assert {
        "id",
        "start",
        "duration",
        "image_prompt",
        "video_prompt",
        "label",
        "start_frame",
        "duration_frames",
    } <= set(clip)
    listed = client.get(f"/api/v1/scenes/{sid}/clips", headers=headers).json()
    assert [c["id"] for c in listed] == [clip["id"]]


def test_invalid_positions_get_422_with_a_reason_and_nothing_changes(client: TestClient, login) -> None:
    headers = login("ada")
    pid = _project(client, headers)
    sid = client.post(f"/api/v1/projects/{pid}/scenes", headers=headers, json={"name": "S"}).json()["id"]
    for body in (
        {"start": -1, "duration": 1},
        {"start": 0, "duration": 0},
        {"start": 0, "duration": -2},
        {"start": 0, "duration": 10**6},
    ):
        response = client.post(f"/api/v1/scenes/{sid}/clips", headers=headers, json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"], body
    assert client.get(f"/api/v1/scenes/{sid}/clips", headers=headers).json() == []
    cid = client.post(f"/api/v1/scenes/{sid}/clips", headers=headers, json={"start": 0, "duration": 1}).json()["id"]
    bad = client.patch(f"/api/v1/clips/{cid}", headers=headers, json={"start": -5, "label": "changed"})
    assert bad.status_code == 422
    assert client.get(f"/api/v1/scenes/{sid}/clips", headers=headers).json()[0]["label"] == ""


def test_move_overlap_policies_allow_ripple_trim(client: TestClient, login) -> None:
    headers = login("ada")
    pid = _project(client, headers)
    sid = client.post(f"/api/v1/projects/{pid}/scenes", headers=headers, json={"name": "S"}).json()["id"]

    def make(start: float, duration: float) -> int:
        return client.post(
            f"/api/v1/scenes/{sid}/clips", headers=headers, json={"start": start, "duration": duration}
        ).json()["id"]

    a, b, c = make(0, 2), make(2, 2), make(4, 2)
    allowed = client.patch(f"/api/v1/clips/{a}", headers=headers, json={"start": 1})
    assert allowed.status_code == 200 and allowed.json()["overlap"] is True
    client.patch(f"/api/v1/clips/{a}", headers=headers, json={"start": 0})
    rippled = client.patch(f"/api/v1/clips/{a}", headers=headers, json={"duration": 3, "overlap": "ripple"})
    assert rippled.status_code == 200
    frames = {
        x["id"]: (x["start_frame"], x["duration_frames"])
        for x in client.get(f"/api/v1/scenes/{sid}/clips", headers=headers).json()
    }
    assert frames == {a: (0, 72), b: (72, 48), c: (120, 48)}
    trimmed = client.patch(f"/api/v1/clips/{c}", headers=headers, json={"start": 4, "overlap": "trim"})
    assert trimmed.status_code == 200
    frames = {
        x["id"]: (x["start_frame"], x["duration_frames"])
        for x in client.get(f"/api/v1/scenes/{sid}/clips", headers=headers).json()
    }
    assert frames[b] == (72, 24) and frames[c] == (96, 48)


def test_split_merge_and_analysis(client: TestClient, login) -> None:
    headers = login("ada")
    pid = _project(client, headers, fps=25)
    sid = client.post(f"/api/v1/projects/{pid}/scenes", headers=headers, json={"name": "S"}).json()["id"]
    cid = client.post(
        f"/api/v1/scenes/{sid}/clips",
        headers=headers,
        json={"start": 0, "duration": 4, "image_prompt": "x", "video_prompt": "y"},
    ).json()["id"]
    halves = client.post(f"/api/v1/clips/{cid}/split", headers=headers, json={"at": 1.5})
    assert halves.status_code == 200
    # 1.5 s at 25 fps is 37.5 frames: the nearest frame, halves rounding up, is 38.
    assert [(h["start_frame"], h["duration_frames"]) for h in halves.json()] == [(0, 38), (38, 62)]
    outside = client.post(f"/api/v1/clips/{cid}/split", headers=headers, json={"at": 10})
    assert outside.status_code == 422
    merged = client.post("/api/v1/clips/merge", headers=headers, json={"clip_ids": [h["id"] for h in halves.json()]})
    assert merged.status_code == 200 and merged.json()["duration_frames"] == 100
    client.post(f"/api/v1/scenes/{sid}/clips", headers=headers, json={"start": 5, "duration": 1})
    report = client.get(f"/api/v1/projects/{pid}/timeline/analysis", headers=headers)
    assert report.status_code == 200
    body = report.json()
    assert set(body) >= {"overlaps", "gaps", "total_duration", "target_duration", "scenes", "export_ready", "reasons"}
    assert body["gaps"] and body["gaps"][0]["scene_id"] == sid
    assert body["gaps"][0]["start"] == 4.0 and body["gaps"][0]["end"] == 5.0
    assert body["total_duration"] == 6.0 and body["export_ready"] is False and body["reasons"]
