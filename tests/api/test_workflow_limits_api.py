"""A workflow graph's size and depth are capped: a deep graph is refused (422) instead of stored and then breaking
the list for everyone; a huge one answers 413 in words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.services import workflows


def _builtin(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    listed = client.get("/api/v1/workflows", params={"kind": "image"}, headers=headers).json()
    return next(w for w in listed if w["builtin"])


def _nested(levels: int) -> Any:
    value: Any = "deep"
    for _ in range(levels):
        value = {"x": value}
    return value


def _nested_text(levels: int) -> str:
    """Written as text: deeper than Python's own encoder can go."""
    return '{"x":' * levels + '"deep"' + "}" * levels


@pytest.mark.parametrize("levels", [20, 350, 5000])
def test_a_deeply_nested_graph_is_refused_and_the_list_still_answers(client: TestClient, login, levels: int) -> None:
    headers = login("alice")
    source = _builtin(client, headers)
    graph = json.loads(json.dumps(source["graph"]))
    first = next(iter(graph))
    graph[first]["inputs"]["extra"] = "PLACEHOLDER"
    body = json.dumps({"name": "Deep", "kind": "image", "graph": graph, "bindings": source["bindings"]})
    body = body.replace('"PLACEHOLDER"', _nested_text(levels))

    response = client.post("/api/v1/workflows", content=body, headers={**headers, "Content-Type": "application/json"})

    assert response.status_code == 422, response.text[:300]
    assert "nested more than" in response.text or "nest" in response.text.lower()
    listed = client.get("/api/v1/workflows", headers=headers)
    assert listed.status_code == 200 and all(w["name"] != "Deep" for w in listed.json())


def test_a_graph_as_deep_as_a_real_one_is_accepted(client: TestClient, login) -> None:
    headers = login("alice")
    source = _builtin(client, headers)
    graph = json.loads(json.dumps(source["graph"]))
    next(iter(graph.values()))["inputs"]["extra"] = _nested(workflows.GRAPH_MAX_DEPTH - 4)
    body = {"name": "Just deep enough", "kind": "image", "graph": graph, "bindings": source["bindings"]}
    assert client.post("/api/v1/workflows", json=body, headers=headers).status_code == 201


def test_an_oversized_graph_answers_413_in_words(client: TestClient, login, monkeypatch) -> None:
    headers = login("alice")
    source = _builtin(client, headers)
    graph = json.loads(json.dumps(source["graph"]))
    next(iter(graph.values()))["inputs"]["padding"] = "x" * (workflows.GRAPH_MAX_BYTES + 10)
    body = {"name": "Huge", "kind": "image", "graph": graph, "bindings": source["bindings"]}

    response = client.post("/api/v1/workflows", json=body, headers=headers)

    assert response.status_code == 413, response.text[:300]
    assert "The workflow graph is 2.0 MB of JSON; at most 2.0 MB is accepted." in response.json()["detail"]
    created = _builtin(client, headers)
    patched = client.patch(f"/api/v1/workflows/{created['id']}", json={"graph": graph}, headers=headers)
    assert patched.status_code in (403, 413)  # a built-in is read-only whatever is sent


def test_an_oversized_graph_is_refused_on_update_too(client: TestClient, login) -> None:
    headers = login("alice")
    source = _builtin(client, headers)
    body = {"name": "Mine", "kind": "image", "graph": source["graph"], "bindings": source["bindings"]}
    created = client.post("/api/v1/workflows", json=body, headers=headers).json()
    graph = json.loads(json.dumps(source["graph"]))
    next(iter(graph.values()))["inputs"]["padding"] = "x" * (workflows.GRAPH_MAX_BYTES + 10)

    response = client.patch(f"/api/v1/workflows/{created['id']}", json={"graph": graph}, headers=headers)

    assert response.status_code == 413
    assert client.get(f"/api/v1/workflows/{created['id']}", headers=headers).json()["graph"] == source["graph"]
