"""Project import over REST with two users: no file of another user through a path, and only what the editor accepts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import get_settings
from app.services import clips, media_store, projects, scenes
from data.models import GalleryItem, Project, User
from tests.fakes.fake_media import jpeg_bytes, png_bytes

IMPORT = "/api/v1/projects/import"


@dataclass
class Victim:
    project_id: int
    clip_id: int
    result_path: str  # relative to the media folder
    result_bytes: bytes
    preview_path: str
    preview_bytes: bytes


@pytest.fixture
def victim(db, login) -> Victim:
    """Bob's project with a result, and a running job's live preview, as the dispatcher leaves them on disk."""
    login("bob")
    bob = db.exec(select(User).where(User.username == "bob")).one()
    project = projects.create_project(db, bob, projects.parse_create(name="Bob's secret film"))
    scene = scenes.create_scene(db, bob, project.id, "Hidden")
    clip = clips.create_clip(db, bob, scene.id, start_frame=0, duration_frames=24, label="Secret")
    content = png_bytes(32, 32, seed="bob's result")
    digest = hashlib.sha256(content).hexdigest()
    folder = media_store.project_media_dir(project.id) / "clips" / str(clip.id)
    folder.mkdir(parents=True)
    (folder / f"{digest[:24]}.png").write_bytes(content)
    preview = jpeg_bytes(32, 32, seed="bob's preview")
    jobs = get_settings().media_dir / "jobs" / "41"
    jobs.mkdir(parents=True)
    (jobs / "preview.jpg").write_bytes(preview)
    return Victim(
        project.id,
        clip.id,  # type: ignore[arg-type]
        f"projects/{project.id}/clips/{clip.id}/{digest[:24]}.png",
        content,
        "jobs/41/preview.jpg",
        preview,
    )


def _document(path: str, **clip: Any) -> dict[str, Any]:
    result = {"kind": "image", "path": path, "selected": True}
    return {
        "schema": "storycanvas.project",
        "version": 1,
        "project": {"name": "Imported"},
        "scenes": [{"name": "One", "clips": [{"start_frame": 0, "duration_frames": 24, "results": [result], **clip}]}],
    }


def _own_project(client: TestClient, headers: dict[str, str]) -> int:
    response = client.post("/api/v1/projects", json={"name": "Mine"}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _files_with(content: bytes) -> list[Path]:
    return [path for path in get_settings().media_dir.rglob("*") if path.is_file() and path.read_bytes() == content]


def _post(client: TestClient, headers: dict[str, str], document: dict[str, Any] | str) -> Any:
    body = document if isinstance(document, str) else json.dumps(document)
    return client.post(IMPORT, content=body.encode(), headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize(
    "spelling",
    [
        "projects/{own}/../../{preview}",
        "projects/{own}/../{victim_rest}",
        "projects/{own}/%2e%2e/{victim_rest}",
        "projects/{own}/\uff0e\uff0e/{victim_rest}",
        "projects\\{own}\\..\\{victim_rest}",
        "{preview}",
        "/{result}",
    ],
)
def test_a_path_that_leaves_the_importers_project_refuses_the_whole_document(
    client: TestClient, login, db, victim: Victim, spelling: str
) -> None:
    headers = login("alice")
    own = _own_project(client, headers)
    path = spelling.format(
        own=own,
        preview=victim.preview_path,
        victim_rest=victim.result_path.removeprefix("projects/"),
        result=get_settings().media_dir / victim.result_path,
    )

    response = _post(client, headers, _document(path))

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "scene 1, clip 1, result 1" in detail and path[:20] in detail
    # Nothing was created or copied: only Bob's own files hold his bytes.
    names = [p["name"] for p in client.get("/api/v1/projects", headers=headers).json()]
    assert names == ["Mine"]
    assert _files_with(victim.result_bytes) == [get_settings().media_dir / victim.result_path]
    assert _files_with(victim.preview_bytes) == [get_settings().media_dir / victim.preview_path]


def test_a_plain_path_into_another_users_project_leaves_the_file_behind(
    client: TestClient, login, db, victim: Victim
) -> None:
    headers = login("alice")

    response = _post(client, headers, _document(victim.result_path))

    assert response.status_code == 201, response.text
    assert "not in a project of yours" in response.headers["X-StoryCanvas-Warnings"]
    project_id = response.json()["id"]
    assert db.exec(select(GalleryItem).where(GalleryItem.project_id == project_id)).all() == []
    assert _files_with(victim.result_bytes) == [get_settings().media_dir / victim.result_path]


def test_a_file_of_the_importers_own_project_is_copied(client: TestClient, login, db) -> None:
    headers = login("alice")
    alice = db.exec(select(User).where(User.username == "alice")).one()
    project = projects.create_project(db, alice, projects.parse_create(name="Source"))
    folder = media_store.project_media_dir(project.id) / "clips" / "1"
    folder.mkdir(parents=True)
    content = png_bytes(16, 16, seed="alice's own")
    (folder / "own.png").write_bytes(content)

    response = _post(client, headers, _document(f"projects/{project.id}/clips/1/own.png"))

    assert response.status_code == 201, response.text
    (item,) = db.exec(select(GalleryItem).where(GalleryItem.project_id == response.json()["id"])).all()
    assert (get_settings().media_dir / item.file_path).read_bytes() == content


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"color": "url(//evil.example/x.png)"}, "is not a colour"),
        ({"color": "red;background:url(//evil.example)"}, "is not a colour"),
        ({"start_frame": 6 * 3600 * 24, "duration_frames": 24}, "within 6 hours"),
        ({"start_frame": 6 * 3600 * 24 - 10, "duration_frames": 24}, "within 6 hours"),
    ],
)
def test_clip_values_the_editor_would_refuse_are_refused(client: TestClient, login, db, change, reason) -> None:
    headers = login("alice")
    document = _document("projects/1/clips/1/x.png", **change)
    document["scenes"][0]["clips"][0]["results"] = []

    response = _post(client, headers, document)

    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"]
    assert db.exec(select(Project)).all() == []


@pytest.mark.parametrize(
    ("project", "version", "reason"),
    [
        ({"name": "x"}, "1", "Version: enter a whole number."),
        ({"name": "x"}, True, "Version: enter a whole number."),
        ({"name": "x"}, 1.0, "Version: enter a whole number."),
        ({"name": "x", "settings": {"theme": "dark"}}, 1, "'theme' is not a setting"),
        ({"name": "x", "settings": {"editor": {"ruler": "cubits"}}}, 1, "editor: ruler"),
        ({"name": "x", "settings": {"editor": {"plugin": "x"}}}, 1, "'plugin' is not an editor setting"),
        ({"name": "x", "settings": {"generation": {"steps": 5000}}}, 1, "generation: Steps: use 200 or less."),
        ({"name": "x", "settings": {"generation": {"shell": "rm"}}}, 1, "generation: Unknown generation setting"),
        ({"name": "x", "settings": {"default_clip_duration": "3"}}, 1, "default clip duration"),
    ],
)
def test_the_version_is_a_number_and_only_known_settings_come_in(
    client: TestClient, login, db, project, version, reason
) -> None:
    headers = login("alice")
    document = {"schema": "storycanvas.project", "version": version, "project": project}

    response = _post(client, headers, document)

    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"]
    assert db.exec(select(Project)).all() == []


def test_known_settings_come_in(client: TestClient, login, db) -> None:
    headers = login("alice")
    settings = {
        "editor": {"ruler": "timecode", "snap": False, "default_clip_duration": 2.0, "drop_frame": False},
        "default_clip_duration": 2.0,
        "generation": {"steps": 30, "next_seed": 12},
    }
    document = {"schema": "storycanvas.project", "version": 1, "project": {"name": "x", "settings": settings}}

    response = _post(client, headers, document)

    assert response.status_code == 201, response.text
    assert db.get(Project, response.json()["id"]).settings == settings


@pytest.mark.parametrize("levels", [40, 5000])
def test_a_document_nested_deeper_than_the_schema_needs_is_refused(client: TestClient, login, levels: int) -> None:
    headers = login("alice")
    document = json.dumps(_document("projects/1/clips/1/x.png"))
    nested = '{"x":' * levels + "1" + "}" * levels
    body = document.replace('"selected": true', f'"selected": true, "params": {nested}')

    response = _post(client, headers, body)

    assert response.status_code == 422, response.text[:300]
    assert "nested more than 32 levels" in response.json()["detail"]
