"""A small film with real media files, and the API client, for the export tests."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from app import api
from app.services import clips, media_store, scenes
from data.models import Character, ClipCharacterLink, ClipStyleLink, GalleryItem, MediaAsset, StyleTemplate
from tests.fakes.fake_media import mp4_bytes, png_bytes

# Hypothesis keeps a cache of constants on disk: keep it out of the working tree.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="storycanvas-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
# On a developer's machine every run explores new timelines; CI replays the same ones, so a landing
# never depends on luck (a failure found locally is fixed and pinned as an example test).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@dataclass
class Film:
    owner: Any
    project: Any
    scenes: list[Any]
    clips: dict[str, Any]
    items: dict[str, GalleryItem]


def add_result(db, clip, kind: str, content: bytes, *, selected: bool = True, **fields: Any) -> GalleryItem:
    """A result with a real file in the clip's folder, stored as the dispatcher stores it."""
    digest = hashlib.sha256(content).hexdigest()
    suffix = ".mp4" if kind == "video" else ".png"
    folder = media_store.project_media_dir(clip.project_id) / "clips" / str(clip.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{digest[:16]}{suffix}").write_bytes(content)
    (folder / f"{digest[:16]}.thumb.webp").write_bytes(b"thumb")
    base = f"projects/{clip.project_id}/clips/{clip.id}/{digest[:16]}"
    item = GalleryItem(
        clip_id=clip.id,
        project_id=clip.project_id,
        kind=kind,
        file_path=base + suffix,
        thumbnail_path=base + ".thumb.webp",
        content_hash=digest,
        selected=selected,
        **fields,
    )
    db.add(item)
    db.commit()
    return item


def make_film(db, owner, make_project, *, fps: float = 24) -> Film:
    """Two scenes: a video clip, a still, a clip without result, a gap and an overlap; characters, styles, music."""
    project = make_project(owner, "Moonrise", fps=fps, width=1280, height=720)
    one = scenes.create_scene(db, owner, project.id, "Harbour")
    two = scenes.create_scene(db, owner, project.id, "Lighthouse")
    made = {
        "pier": clips.create_clip(
            db, owner, one.id, start_frame=0, duration_frames=48, label="Pier", image_prompt="a pier at dusk"
        ),
        "boat": clips.create_clip(
            db, owner, one.id, start_frame=48, duration_frames=24, label="Boat", video_prompt="the boat rocks"
        ),
        "gull": clips.create_clip(db, owner, one.id, start_frame=96, duration_frames=12, label="Gull"),
        "lamp": clips.create_clip(db, owner, two.id, start_frame=0, duration_frames=60, label="Lamp", notes="slow"),
        "beam": clips.create_clip(db, owner, two.id, start_frame=30, duration_frames=10, label="Beam"),
    }
    items = {
        "pier": add_result(
            db, made["pier"], "video", mp4_bytes(64, 64, "pier", frames=96, fps=24), duration=4.0, width=64, height=64
        ),
        "pier-image": add_result(db, made["pier"], "image", png_bytes(64, 64, "pier-still"), selected=True),
        "boat": add_result(db, made["boat"], "image", png_bytes(64, 64, "boat"), width=64, height=64),
        "boat-unselected": add_result(db, made["boat"], "image", png_bytes(64, 64, "boat-2"), selected=False),
        "lamp": add_result(
            db, made["lamp"], "video", mp4_bytes(64, 64, "lamp", frames=72, fps=24), duration=3.0, width=64, height=64
        ),
        "beam": add_result(db, made["beam"], "image", png_bytes(64, 64, "beam"), params={"seed": 7, "steps": 20}),
    }
    hero = Character(owner_id=owner.id, project_id=project.id, name="Keeper", prompt="an old keeper")
    wanderer = Character(owner_id=owner.id, project_id=None, name="Wanderer", prompt="a traveller")
    style = StyleTemplate(owner_id=owner.id, project_id=None, name="Ink", prompt_prefix="ink drawing,")
    db.add_all([hero, wanderer, style])
    db.flush()
    db.add_all(
        [
            ClipCharacterLink(clip_id=made["lamp"].id, character_id=hero.id),
            ClipCharacterLink(clip_id=made["pier"].id, character_id=wanderer.id),
            ClipStyleLink(clip_id=made["pier"].id, style_id=style.id),
        ]
    )
    music_folder = media_store.project_media_dir(project.id) / "assets"
    music_folder.mkdir(parents=True, exist_ok=True)
    (music_folder / "theme.wav").write_bytes(b"RIFF-not-really-a-wav")
    db.add(
        MediaAsset(
            owner_id=owner.id,
            project_id=project.id,
            kind="music",
            file_path=f"projects/{project.id}/assets/theme.wav",
            original_name="Theme.wav",
            duration=12.0,
        )
    )
    db.commit()
    return Film(owner, project, [one, two], made, items)


@pytest.fixture
def film(db, make_user, make_project) -> Film:
    return make_film(db, make_user("director"), make_project)


@pytest.fixture
def client() -> TestClient:
    application = FastAPI()
    api.mount(application)
    return TestClient(application)


@pytest.fixture
def login(client: TestClient, make_user):
    """login("alice") → Authorization headers of a freshly made user (and the user)."""

    def do(username: str = "alice", *, admin: bool = False) -> tuple[dict[str, str], Any]:
        user = make_user(username, admin=admin)
        response = client.post("/api/v1/auth/token", data={"username": username, "password": "correct-horse-1"})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}, user

    return do
