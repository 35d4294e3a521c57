"""The notifications REST contract: list with filters, read, retry, delete, clear, preferences; only one's own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.services import events, notifications
from data.engine import session_scope
from data.models import GenerationJob, Notification

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _forget_subscribers() -> Iterator[None]:
    yield
    events.notifications_changed.callbacks.clear()


def _me(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/me", headers=headers).json()["id"])


def _finished_jobs(client: TestClient, headers: dict[str, str]) -> tuple[int, int, int]:
    """A project with one completed and one failed job, swept into notices: (clip id, failed job id, scene id)."""
    project = client.post("/api/v1/projects", headers=headers, json={"name": "Night Ferry"}).json()
    scene = client.post(f"/api/v1/projects/{project['id']}/scenes", headers=headers, json={"name": "Harbour"}).json()
    clip = client.post(f"/api/v1/scenes/{scene['id']}/clips", headers=headers, json={"duration": 2}).json()
    owner_id = _me(client, headers)
    with session_scope() as session:
        common = {"kind": "image", "project_id": project["id"], "clip_id": clip["id"], "owner_id": owner_id}
        done = GenerationJob(**common, status="completed", created_at=T0, finished_at=T0 + timedelta(seconds=40))
        failed = GenerationJob(
            **common,
            status="failed",
            error="gpu-1: CUDA out of memory",
            created_at=T0 + timedelta(seconds=1),
            finished_at=T0 + timedelta(seconds=50),
        )
        session.add_all([done, failed])
        session.commit()
        failed_id = failed.id
        assert notifications.sweep(session) == 2
    return clip["id"], failed_id, scene["id"]  # type: ignore[return-value]


def test_list_shape_filters_search_and_paging(client: TestClient, login) -> None:
    owner = login("nora")
    clip_id, failed_id, scene_id = _finished_jobs(client, owner)

    answer = client.get("/api/v1/notifications", headers=owner)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["total"], body["unread"]) == (2, 2)
    failed, done = body["items"]  # newest first: the failure was swept second
    assert set(failed) == {
        "id",
        "kind",
        "level",
        "title",
        "body",
        "project_id",
        "job_id",
        "batch_id",
        "clip_id",
        "link",
        "duration_seconds",
        "read",
        "can_retry",
        "created_at",
        "extra",
    }
    assert (failed["kind"], failed["level"], failed["job_id"]) == ("job_failed", "negative", failed_id)
    assert failed["body"] == "gpu-1: CUDA out of memory" and failed["can_retry"] is True
    assert (done["kind"], done["can_retry"], done["duration_seconds"]) == ("job_completed", False, 40.0)
    assert done["link"] == f"/scenes/{scene_id}?clip={clip_id}" and done["read"] is False

    def ids(**params: object) -> list[int]:
        response = client.get("/api/v1/notifications", headers=owner, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(kind="job_failed") == [failed["id"]]
    assert ids(q="cuda") == [failed["id"]]
    assert ids(q="nothing like it") == []
    assert ids(limit=1, offset=1) == [done["id"]]
    assert ids(project_id=done["project_id"]) == [failed["id"], done["id"]]
    bad = client.get("/api/v1/notifications", headers=owner, params={"kind": "job_started"})
    assert bad.status_code == 422 and "Unknown kind" in bad.json()["detail"]
    assert client.get("/api/v1/notifications", headers=owner, params={"limit": 0}).status_code == 422


def test_read_one_read_all_and_unread_filter(client: TestClient, login) -> None:
    owner = login("nora")
    _finished_jobs(client, owner)
    first, second = client.get("/api/v1/notifications", headers=owner).json()["items"]

    read = client.post(f"/api/v1/notifications/{first['id']}/read", headers=owner)
    assert read.status_code == 200 and read.json()["read"] is True
    listed = client.get("/api/v1/notifications", headers=owner, params={"unread": True}).json()
    assert [item["id"] for item in listed["items"]] == [second["id"]] and listed["unread"] == 1
    assert client.post("/api/v1/notifications/read-all", headers=owner).json() == {"count": 1}
    assert client.get("/api/v1/notifications", headers=owner).json()["unread"] == 0


def test_retry_puts_the_failed_job_back_and_refuses_twice(client: TestClient, login) -> None:
    owner = login("nora")
    _clip_id, failed_id, _scene_id = _finished_jobs(client, owner)
    items = client.get("/api/v1/notifications", headers=owner).json()["items"]
    # Both notices may carry the same time: pick them by kind, not by place.
    failed = next(item for item in items if item["kind"] == "job_failed")
    done = next(item for item in items if item["kind"] == "job_completed")

    assert client.post(f"/api/v1/notifications/{failed['id']}/retry", headers=owner).json() == {"count": 1}
    assert client.get(f"/api/v1/jobs/{failed_id}", headers=owner).json()["status"] == "queued"
    again = client.post(f"/api/v1/notifications/{failed['id']}/retry", headers=owner)
    assert again.status_code == 409 and "already queued" in again.json()["detail"]
    nothing = client.post(f"/api/v1/notifications/{done['id']}/retry", headers=owner)
    assert nothing.status_code == 409 and "nothing to retry" in nothing.json()["detail"]


def test_delete_one_and_clear_what_matches(client: TestClient, login) -> None:
    owner = login("nora")
    _finished_jobs(client, owner)
    items = client.get("/api/v1/notifications", headers=owner).json()["items"]
    done = next(item for item in items if item["kind"] == "job_completed")

    assert client.delete(f"/api/v1/notifications/{done['id']}", headers=owner).status_code == 204
    assert client.delete(f"/api/v1/notifications/{done['id']}", headers=owner).status_code == 404
    assert client.delete("/api/v1/notifications", headers=owner, params={"kind": "job_completed"}).json() == {
        "count": 0
    }
    assert client.delete("/api/v1/notifications", headers=owner).json() == {"count": 1}
    assert client.get("/api/v1/notifications", headers=owner).json() == {"items": [], "total": 0, "unread": 0}


def test_another_users_notifications_are_404_and_never_listed(client: TestClient, login) -> None:
    owner, intruder = login("nora"), login("ivan", admin=True)
    _finished_jobs(client, owner)
    mine = client.get("/api/v1/notifications", headers=owner).json()["items"][0]

    assert client.get("/api/v1/notifications", headers=intruder).json() == {"items": [], "total": 0, "unread": 0}
    for method, path in (
        ("POST", f"/api/v1/notifications/{mine['id']}/read"),
        ("POST", f"/api/v1/notifications/{mine['id']}/retry"),
        ("DELETE", f"/api/v1/notifications/{mine['id']}"),
    ):
        answer = client.request(method, path, headers=intruder)
        assert answer.status_code == 404, f"{method} {path}: {answer.text}"
        assert "does not exist or is not yours" in answer.json()["detail"]
    assert client.post("/api/v1/notifications/read-all", headers=intruder).json() == {"count": 0}
    assert client.delete("/api/v1/notifications", headers=intruder).json() == {"count": 0}
    after = client.get("/api/v1/notifications", headers=owner).json()
    assert after["total"] == 2 and after["unread"] == 2
    with session_scope() as session:
        assert session.get(Notification, mine["id"]) is not None
    assert client.get("/api/v1/notifications").status_code == 401


def test_preferences_read_and_replace(client: TestClient, login) -> None:
    owner, other = login("nora"), login("omar")
    defaults = {
        "events": {"job_completed": True, "job_failed": True, "batch_finished": True},
        "sound": False,
        "desktop": False,
        "desktop_min_seconds": 30,
    }
    assert client.get("/api/v1/me/notification-preferences", headers=owner).json() == defaults

    wanted = {"events": {"job_completed": False}, "sound": True, "desktop": True, "desktop_min_seconds": 120}
    saved = client.put("/api/v1/me/notification-preferences", headers=owner, json=wanted)
    assert saved.status_code == 200
    expected = {**wanted, "events": {"job_completed": False, "job_failed": True, "batch_finished": True}}
    assert saved.json() == expected
    assert client.get("/api/v1/me/notification-preferences", headers=owner).json() == expected
    assert client.get("/api/v1/me/notification-preferences", headers=other).json() == defaults

    for bad in ({"desktop_min_seconds": -1}, {"events": {"job_started": True}}, {"sound": "loud"}):
        refused = client.put("/api/v1/me/notification-preferences", headers=owner, json=bad)
        assert refused.status_code == 422, bad
    assert client.get("/api/v1/me/notification-preferences", headers=owner).json() == expected
    assert client.get("/api/v1/me/notification-preferences").status_code == 401
