from fastapi.testclient import TestClient


def test_create_read_update_delete_a_project(client: TestClient, login) -> None:
    headers = login("ada")
    created = client.post(
        "/api/v1/projects",
        headers=headers,
        json={
            "name": "  The Lighthouse ",
            "description": "short film",
            "fps": 23.976,
            "width": 2048,
            "height": 858,
            "target_duration": 420,
            "tags": ["Short", "noir", "short"],
        },
    )
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["name"] == "The Lighthouse" and project["fps"] == 23.976
    assert project["tags"] == ["short", "noir"] and project["archived"] is False
    assert set(project) >= {
        "id",
        "name",
        "description",
        "fps",
        "width",
        "height",
        "target_duration",
        "tags",
        "archived",
    }
    pid = project["id"]
    assert client.get(f"/api/v1/projects/{pid}", headers=headers).json()["width"] == 2048
    patched = client.patch(f"/api/v1/projects/{pid}", headers=headers, json={"name": "Lighthouse", "archived": True})
    assert patched.status_code == 200 and patched.json()["name"] == "Lighthouse" and patched.json()["archived"]
    assert client.get("/api/v1/projects", headers=headers).json() == []
    archived = client.get("/api/v1/projects?archived=archived", headers=headers).json()
    assert [p["id"] for p in archived] == [pid]
    assert client.delete(f"/api/v1/projects/{pid}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/projects/{pid}", headers=headers).status_code == 404


def test_bad_input_gets_422_with_field_errors_and_nothing_is_saved(client: TestClient, login) -> None:
    headers = login("ada")
    response = client.post(
        "/api/v1/projects", headers=headers, json={"name": "", "fps": 23, "width": 10, "target_duration": -1}
    )
    assert response.status_code == 422
    fields = {error["loc"][-1] for error in response.json()["detail"]}
    assert {"name", "fps", "width", "target_duration"} <= fields
    assert client.get("/api/v1/projects?archived=all", headers=headers).json() == []
    pid = client.post("/api/v1/projects", headers=headers, json={"name": "Ok"}).json()["id"]
    bad_patch = client.patch(f"/api/v1/projects/{pid}", headers=headers, json={"name": "New", "fps": 12})
    assert bad_patch.status_code == 422
    assert client.get(f"/api/v1/projects/{pid}", headers=headers).json()["name"] == "Ok"


def test_listing_filters_by_text_and_tag_and_sorts(client: TestClient, login) -> None:
    headers = login("ada")
    for name, tags in (("Beta film", ["noir"]), ("alpha", ["short"]), ("Gamma", ["noir", "short"])):
        client.post("/api/v1/projects", headers=headers, json={"name": name, "tags": tags})
    by_name = [p["name"] for p in client.get("/api/v1/projects?sort=name", headers=headers).json()]
    assert by_name == ["alpha", "Beta film", "Gamma"]
    newest = [p["name"] for p in client.get("/api/v1/projects?sort=created", headers=headers).json()]
    assert newest == ["Gamma", "alpha", "Beta film"]
    assert [p["name"] for p in client.get("/api/v1/projects?tag=noir&sort=name", headers=headers).json()] == [
        "Beta film",
        "Gamma",
    ]
    assert [p["name"] for p in client.get("/api/v1/projects?q=FILM", headers=headers).json()] == ["Beta film"]


def test_duplicate_copies_settings_and_stats_report_completion(client: TestClient, login) -> None:
    headers = login("ada")
    pid = client.post("/api/v1/projects", headers=headers, json={"name": "Orig", "fps": 25, "tags": ["x"]}).json()["id"]
    copy = client.post(f"/api/v1/projects/{pid}/duplicate", headers=headers, json={})
    assert copy.status_code == 201
    assert copy.json()["name"] == "Orig (copy)" and copy.json()["fps"] == 25 and copy.json()["tags"] == ["x"]
    stats = client.get(f"/api/v1/projects/{pid}/stats", headers=headers).json()
    assert stats == {
        "scenes": 0,
        "clips": 0,
        "generated_items": 0,
        "clips_with_selection": 0,
        "completion_percent": 0.0,
    }


def test_admin_sees_every_project_users_only_their_own(client: TestClient, login) -> None:
    admin = login("boss", admin=True)
    ada = login("ada")
    bob = login("bob")
    ada_pid = client.post("/api/v1/projects", headers=ada, json={"name": "Ada's"}).json()["id"]
    client.post("/api/v1/projects", headers=bob, json={"name": "Bob's"})
    assert [p["name"] for p in client.get("/api/v1/projects", headers=bob).json()] == ["Bob's"]
    assert {p["name"] for p in client.get("/api/v1/projects", headers=admin).json()} == {"Ada's", "Bob's"}
    assert client.get(f"/api/v1/projects/{ada_pid}", headers=admin).status_code == 200
