"""No control character is stored, whatever route writes it; one bad row never breaks a list for everyone.

The assessment stored a project named with a NUL on SQLite (then /projects answered 500 for its
owner and every administrator) and got a 500 on PostgreSQL for the same input; graphs nested a
few hundred levels deep were stored and then broke the workflow list.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

BAD = ["a\x00b", "bell\x07", "esc\x1b[31m", "form\x0cfeed", "del\x7f"]


@pytest.mark.parametrize("name", BAD)
def test_a_project_name_with_a_control_character_is_refused_and_lists_still_answer(
    client: TestClient, login, name: str
) -> None:
    alice = login("alice")
    admin = login("root", admin=True)
    response = client.post("/api/v1/projects", json={"name": name}, headers=alice)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "name"
    assert "control character" in response.json()["detail"]
    assert client.get("/api/v1/projects", headers=alice).status_code == 200
    assert client.get("/api/v1/projects", headers=admin).status_code == 200


def test_tab_and_newline_stay_allowed_in_long_texts(client: TestClient, login) -> None:
    alice = login("alice")
    project = client.post("/api/v1/projects", json={"name": "Film", "description": "one\n\ttwo\r\n"}, headers=alice)
    assert project.status_code == 201, project.text
    assert project.json()["description"] == "one\n\ttwo\r\n"


def test_renaming_to_a_control_character_and_clip_prompts_are_refused(client: TestClient, login) -> None:
    alice = login("alice")
    project = client.post("/api/v1/projects", json={"name": "Film"}, headers=alice).json()
    renamed = client.patch(f"/api/v1/projects/{project['id']}", json={"name": "x\x00"}, headers=alice)
    assert renamed.status_code == 422
    scene = client.post(f"/api/v1/projects/{project['id']}/scenes", json={"name": "One"}, headers=alice).json()
    clip = client.post(
        f"/api/v1/scenes/{scene['id']}/clips",
        json={"start": 0, "duration": 1, "image_prompt": "sky\x00"},
        headers=alice,
    )
    assert clip.status_code == 422
    assert clip.json()["field"] == "image_prompt"
    assert client.get(f"/api/v1/projects/{project['id']}", headers=alice).json()["name"] == "Film"


def test_a_graph_with_a_nul_or_nested_too_deep_is_refused_and_the_list_answers(client: TestClient, login) -> None:
    alice = login("alice")
    builtin = next(w for w in client.get("/api/v1/workflows", headers=alice).json() if w["kind"] == "image")
    graph = dict(builtin["graph"])
    first = next(iter(graph))
    poisoned = {**graph, first: {**graph[first], "_meta": {"title": "x\x00"}}}
    body = {"name": "Mine", "kind": "image", "graph": poisoned, "bindings": builtin["bindings"]}
    assert client.post("/api/v1/workflows", json=body, headers=alice).status_code == 422
    deep: dict = {}
    cursor = deep
    for _ in range(350):
        cursor["x"] = {}
        cursor = cursor["x"]
    nested = {**graph, first: {**graph[first], "_meta": deep}}
    answer = client.post("/api/v1/workflows", json={**body, "graph": nested}, headers=alice)
    assert answer.status_code in (413, 422), answer.text
    assert client.get("/api/v1/workflows", headers=alice).status_code == 200
