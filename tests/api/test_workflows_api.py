"""The workflows REST contract: shapes, status codes, readable 422s and another user's workflow as 404."""

from __future__ import annotations

import copy

from fastapi.testclient import TestClient

SHAPE = {"id", "name", "kind", "builtin", "graph", "bindings", "created_at"}


def _builtin(client: TestClient, headers: dict[str, str], kind: str = "image") -> dict:
    response = client.get("/api/v1/workflows", params={"kind": kind}, headers=headers)
    assert response.status_code == 200, response.text
    return next(w for w in response.json() if w["builtin"])


def _import(client: TestClient, headers: dict[str, str], name: str = "Mine") -> dict:
    source = _builtin(client, headers)
    body = {"name": name, "kind": "image", "graph": source["graph"], "bindings": source["bindings"]}
    response = client.post("/api/v1/workflows", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_list_gives_builtins_in_the_contract_shape(client: TestClient, login) -> None:
    headers = login("alice")
    response = client.get("/api/v1/workflows", headers=headers)
    assert response.status_code == 200
    listed = response.json()
    assert [w["kind"] for w in listed] == ["image", "img2img", "video", "faceswap"]
    assert all(set(w) == SHAPE and w["builtin"] for w in listed)
    only_video = client.get("/api/v1/workflows", params={"kind": "video"}, headers=headers).json()
    assert [w["name"] for w in only_video] == ["Image to video"]
    assert client.get("/api/v1/workflows", params={"kind": "audio"}, headers=headers).status_code == 422
    assert client.get("/api/v1/workflows").status_code == 401


def test_create_get_patch_duplicate_delete(client: TestClient, login) -> None:
    headers = login("alice")
    created = _import(client, headers)
    assert set(created) == SHAPE and created["builtin"] is False and created["name"] == "Mine"
    url = f"/api/v1/workflows/{created['id']}"
    assert client.get(url, headers=headers).json() == created

    bindings = {**created["bindings"], "seed": None}
    patched = client.patch(url, json={"name": "Renamed", "bindings": bindings}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Renamed" and "seed" not in patched.json()["bindings"]

    copied = client.post(f"{url}/duplicate", json={}, headers=headers)
    assert copied.status_code == 201 and copied.json()["name"] == "Renamed (copy)"
    assert client.post(f"{url}/duplicate", headers=headers).json()["name"] == "Renamed (copy 2)"

    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_bad_graphs_and_bindings_are_422_with_the_reason(client: TestClient, login) -> None:
    headers = login("alice")
    source = _builtin(client, headers)
    ui_format = {"name": "UI", "kind": "image", "graph": {"nodes": [], "links": []}, "bindings": {}}
    response = client.post("/api/v1/workflows", json=ui_format, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("This is ComfyUI's UI format")

    not_object = {"name": "List", "kind": "image", "graph": [1, 2], "bindings": {}}
    assert "JSON object" in client.post("/api/v1/workflows", json=not_object, headers=headers).json()["detail"]

    bad_binding = {**source, "name": "Bad", "bindings": {"prompt": {"node": "6", "input": "txt"}}}
    response = client.post("/api/v1/workflows", json=bad_binding, headers=headers)
    assert response.status_code == 422 and "input txt" in response.json()["detail"]


def test_builtins_cannot_be_changed_or_deleted_but_can_be_duplicated(client: TestClient, login) -> None:
    headers = login("alice")
    builtin = _builtin(client, headers, "faceswap")
    url = f"/api/v1/workflows/{builtin['id']}"
    response = client.patch(url, json={"name": "Mine"}, headers=headers)
    assert response.status_code == 403
    assert response.json()["detail"] == "Built-in workflows cannot be changed: duplicate it first"
    assert client.delete(url, headers=headers).status_code == 403
    copied = client.post(f"{url}/duplicate", json={"name": "My swap"}, headers=headers).json()
    assert (copied["name"], copied["kind"], copied["builtin"]) == ("My swap", "faceswap", False)


def test_another_users_workflow_is_not_found(client: TestClient, login) -> None:
    alice = login("alice")
    bob = login("bob")
    mine = _import(client, alice)
    url = f"/api/v1/workflows/{mine['id']}"
    assert client.get(url, headers=bob).status_code == 404
    assert client.patch(url, json={"name": "Taken"}, headers=bob).status_code == 404
    assert client.delete(url, headers=bob).status_code == 404
    assert client.post(f"{url}/duplicate", headers=bob).status_code == 404
    assert client.get(f"{url}/support", headers=bob).status_code == 404
    assert mine["id"] not in {w["id"] for w in client.get("/api/v1/workflows", headers=bob).json()}
    assert client.get(url, headers=alice).json()["name"] == "Mine"


def test_support_lists_enabled_servers(client: TestClient, login, db) -> None:
    from data.models import ComfyServer

    headers = login("alice")
    db.add(ComfyServer(name="gpu-1", base_url="http://127.0.0.1:1", status="online", node_types=["LoadImage"]))
    db.commit()
    face = _builtin(client, headers, "faceswap")
    support = client.get(f"/api/v1/workflows/{face['id']}/support", headers=headers).json()
    assert support == [
        {
            "server_id": support[0]["server_id"],
            "server_name": "gpu-1",
            "status": "online",
            "problems": [
                "Node ReActorFaceSwap is not installed on this server",
                "Node SaveImage is not installed on this server",
            ],
        }
    ]


def test_graph_in_a_patch_is_checked_with_the_kept_bindings(client: TestClient, login) -> None:
    headers = login("alice")
    mine = _import(client, headers)
    graph = copy.deepcopy(mine["graph"])
    del graph["6"]
    graph["3"]["inputs"]["positive"] = ["7", 0]
    response = client.patch(f"/api/v1/workflows/{mine['id']}", json={"graph": graph}, headers=headers)
    assert response.status_code == 422 and "node 6" in response.json()["detail"]
