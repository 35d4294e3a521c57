"""One malformed stored row never breaks a REST list for everyone: the good rows answer as before, the bad one
comes last as {id, name: "(unreadable)", error}, and it can still be deleted.

The rows are corrupted with raw SQL, past the checks every write now makes (app/services/text_guard.py): rows
from before those checks, or written by another tool. PostgreSQL cannot hold a NUL in text nor a name longer
than its column, so those cases run on SQLite only; the others on both databases.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.api.workflows import WorkflowPublic
from data.models import ProjectPublic

POSTGRES = bool(os.environ.get("DATABASE_URL", "").startswith("postgresql"))
sqlite_only = pytest.mark.skipif(POSTGRES, reason="PostgreSQL refuses this value on write")


def nested(levels: int) -> str:
    """JSON text nested `levels` objects deep."""
    return '{"a":' * levels + "1" + "}" * levels


def corrupt(db: Any, table: str, row_id: int, column: str, value: object, *, json: bool = False) -> None:
    """Set one column with raw SQL: no ORM flush, so no write check runs."""
    placeholder = "CAST(:value AS json)" if json and POSTGRES else ":value"
    db.exec(text(f"UPDATE {table} SET {column} = {placeholder} WHERE id = :id").bindparams(value=value, id=row_id))
    db.commit()


@pytest.fixture
def client(api_app) -> TestClient:
    """Server errors answer 500 here instead of raising in the test, as they would for a browser."""
    return TestClient(api_app, raise_server_exceptions=False)


PROJECT_CASES = [
    pytest.param("tags", '{"a": 1}', True, id="tags-an-object"),
    pytest.param("settings", nested(3000), True, id="settings-too-deep-to-load"),
    pytest.param("width", 10, False, id="width-below-the-model-range"),
    pytest.param("name", "x" * 300, False, id="name-longer-than-the-model", marks=sqlite_only),
    pytest.param("fps", "fast", False, id="fps-as-text", marks=sqlite_only),
    pytest.param("updated_at", "not a date", False, id="updated-at-unreadable", marks=sqlite_only),
]


@pytest.mark.parametrize(("column", "value", "is_json"), PROJECT_CASES)
def test_a_malformed_project_leaves_the_project_list_answering(
    client: TestClient, login, db, column: str, value: object, is_json: bool
) -> None:
    alice, bob, admin = login("alice"), login("bob"), login("root", admin=True)
    good = client.post("/api/v1/projects", json={"name": "Good"}, headers=alice).json()
    bad = client.post("/api/v1/projects", json={"name": "Bad"}, headers=alice).json()
    client.post("/api/v1/projects", json={"name": "Bobs"}, headers=bob)
    corrupt(db, "projects", bad["id"], column, value, json=is_json)

    for headers in (alice, admin):
        response = client.get("/api/v1/projects", headers=headers)
        assert response.status_code == 200, response.text
        rows = response.json()
        readable = [row for row in rows if "error" not in row]
        assert good in readable  # byte for byte the same as when it was created
        assert all(set(row) == set(ProjectPublic.model_fields) for row in readable)
        assert rows[-1]["id"] == bad["id"] and rows[-1]["name"] == "(unreadable)"
        assert set(rows[-1]) == {"id", "name", "error"}
        assert rows[-1]["error"].startswith("This project could not be read: ")
        assert "Delete it or ask an administrator" in rows[-1]["error"]
        assert "Error" not in rows[-1]["error"] and "Traceback" not in rows[-1]["error"]
    assert [row["name"] for row in client.get("/api/v1/projects", headers=bob).json()] == ["Bobs"]
    assert client.get("/api/v1/projects?sort=name&archived=all&tag=x", headers=alice).status_code == 200

    assert client.delete(f"/api/v1/projects/{bad['id']}", headers=alice).status_code == 204
    assert [row["id"] for row in client.get("/api/v1/projects", headers=alice).json()] == [good["id"]]


@sqlite_only
def test_a_project_named_with_a_nul_from_before_the_checks_is_listed_as_it_is(client: TestClient, login, db) -> None:
    alice, admin = login("alice"), login("root", admin=True)
    bad = client.post("/api/v1/projects", json={"name": "Bad"}, headers=alice).json()
    corrupt(db, "projects", bad["id"], "name", "a\x00b")
    for headers in (alice, admin):
        response = client.get("/api/v1/projects", headers=headers)
        assert response.status_code == 200, response.text
        assert [row["name"] for row in response.json()] == ["a\x00b"]


def _own_workflow(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    builtin = next(w for w in client.get("/api/v1/workflows", headers=headers).json() if w["kind"] == "image")
    body = {"name": "Mine", "kind": "image", "graph": builtin["graph"], "bindings": builtin["bindings"]}
    created = client.post("/api/v1/workflows", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


WORKFLOW_CASES = [
    pytest.param("graph", '{"1": ' + nested(400) + "}", True, id="graph-nested-400"),
    pytest.param("graph", '{"1": ' + nested(3000) + "}", True, id="graph-too-deep-to-load"),
    pytest.param("bindings", "[1, 2]", True, id="bindings-a-list"),
    pytest.param("graph", '"text"', True, id="graph-a-string"),
]


@pytest.mark.parametrize(("column", "value", "is_json"), WORKFLOW_CASES)
def test_a_malformed_workflow_leaves_the_workflow_list_answering(
    client: TestClient, login, db, column: str, value: str, is_json: bool
) -> None:
    alice, bob, admin = login("alice"), login("bob"), login("root", admin=True)
    before = client.get("/api/v1/workflows", headers=alice).json()
    kept = _own_workflow(client, alice)
    bad = client.post(
        "/api/v1/workflows",
        json={"name": "Broken", "kind": kept["kind"], "graph": kept["graph"], "bindings": kept["bindings"]},
        headers=alice,
    ).json()
    corrupt(db, "workflow_templates", bad["id"], column, value, json=is_json)

    for headers in (alice, admin):
        response = client.get("/api/v1/workflows", headers=headers)
        assert response.status_code == 200, response.text
        rows = response.json()
        assert rows[: len(before)] == before  # the built-ins, exactly as they were
        assert kept in rows
        assert all(set(row) == set(WorkflowPublic.model_fields) for row in rows if "error" not in row)
        assert rows[-1] == {"id": bad["id"], "name": "(unreadable)", "error": rows[-1]["error"]}
        assert rows[-1]["error"].startswith("This workflow could not be read: ")
    bobs = client.get("/api/v1/workflows", headers=bob)
    assert bobs.status_code == 200 and bobs.json() == before
    assert client.get("/api/v1/workflows?kind=image", headers=alice).status_code == 200

    assert client.delete(f"/api/v1/workflows/{bad['id']}", headers=alice).status_code == 204
    assert client.get("/api/v1/workflows", headers=alice).json() == [*before, kept]


@sqlite_only
def test_a_workflow_named_with_bytes_does_not_break_the_sort(client: TestClient, login, db) -> None:
    alice = login("alice")
    bad = _own_workflow(client, alice)
    other = client.post(f"/api/v1/workflows/{bad['id']}/duplicate", json={"name": "Other"}, headers=alice)
    assert other.status_code == 201
    db.exec(text("UPDATE workflow_templates SET name = x'ff00fe' WHERE id = :id").bindparams(id=bad["id"]))
    db.commit()
    response = client.get("/api/v1/workflows", headers=alice)
    assert response.status_code == 200, response.text
    assert other.json() in response.json()
    assert response.json()[-1] == {"id": bad["id"], "name": "(unreadable)", "error": response.json()[-1]["error"]}


def test_the_list_routes_document_the_unreadable_form(api_app) -> None:
    schema = TestClient(api_app).get("/openapi.json").json()
    for path in ("/api/v1/projects", "/api/v1/workflows"):
        items = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]
        assert {"$ref": "#/components/schemas/UnreadableRowPublic"} in items["anyOf"]
    assert schema["components"]["schemas"]["UnreadableRowPublic"]["required"] == ["id", "error"]
