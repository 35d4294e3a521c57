"""The JSON project export: the documented schema, and an import that recreates an identical project."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from app.services import project_import, project_json, scenes
from data.errors import Invalid
from data.models import GalleryItem, Project


def comparable(document: dict) -> dict:
    """The document without what an import cannot keep: the export time, its origin and the files' locations."""
    copy = json.loads(json.dumps(document))
    copy.pop("exported_at")
    copy.pop("source")
    for scene in copy["scenes"]:
        for clip in scene["clips"]:
            for result in clip["results"]:
                result.pop("path")
                result.pop("thumbnail")
    for asset in copy["media_assets"]:
        asset.pop("path")
    return copy


def test_the_document_holds_the_whole_project(db, film):
    document = project_json.export_document(db, film.owner, film.project.id)
    assert (document["schema"], document["version"]) == ("storycanvas.project", 1)
    assert document["project"]["name"] == "Moonrise" and document["project"]["width"] == 1280
    harbour, lighthouse = document["scenes"]
    assert [clip["label"] for clip in harbour["clips"]] == ["Pier", "Boat", "Gull"]
    pier = harbour["clips"][0]
    assert pier["image_prompt"] == "a pier at dusk" and (pier["start_frame"], pier["duration_frames"]) == (0, 48)
    assert {result["kind"] for result in pier["results"]} == {"image", "video"}
    assert pier["characters"] == ["c2"] and pier["styles"] == ["s1"]
    assert [(c["key"], c["scope"], c["name"]) for c in document["characters"]] == [
        ("c1", "project", "Keeper"),
        ("c2", "global", "Wanderer"),
    ]
    boat_results = harbour["clips"][1]["results"]
    assert [result["selected"] for result in boat_results] == [True, False]
    beam = lighthouse["clips"][1]
    assert beam["results"][0]["params"] == {"seed": 7, "steps": 20}
    assert document["media_assets"][0]["original_name"] == "Theme.wav"


def test_import_recreates_an_identical_project(db, film):
    original = project_json.export_document(db, film.owner, film.project.id)
    project, warnings = project_import.import_document(db, film.owner, project_json.write_document(original))
    assert warnings == []
    assert project.id != film.project.id and project.owner_id == film.owner.id
    again = project_json.export_document(db, film.owner, project.id)
    assert again["project"]["name"] == f"{original['project']['name']} (imported)"  # the original is still there
    again["project"]["name"] = original["project"]["name"]
    assert comparable(again) == comparable(original)
    # The files were copied into the new project's folder, byte for byte.
    copies = db.exec(select(GalleryItem).where(GalleryItem.project_id == project.id)).all()
    assert len(copies) == 6
    for item in copies:
        assert item.file_path.startswith(f"projects/{project.id}/")
        path = scenes.media_path(item.file_path)
        assert path is not None and path.is_file()
    originals = {item.content_hash: item for item in film.items.values()}
    for item in copies:
        assert scenes.media_path(item.file_path).read_bytes() == (
            scenes.media_path(originals[item.content_hash].file_path).read_bytes()
        )


def test_import_does_not_copy_files_of_projects_the_user_may_not_see(db, film, make_user):
    document = project_json.export_document(db, film.owner, film.project.id)
    intruder = make_user("intruder")
    project, warnings = project_import.import_document(db, intruder, document)
    assert project.owner_id == intruder.id
    assert db.exec(select(GalleryItem).where(GalleryItem.project_id == project.id)).all() == []
    assert warnings and "not in a project of yours" in warnings[0]
    # The scenes, clips and prompts still come along.
    assert [s["name"] for s in project_json.export_document(db, intruder, project.id)["scenes"]] == [
        "Harbour",
        "Lighthouse",
    ]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("not json", "not JSON"),
        ("[]", "expected a JSON object"),
        ({"schema": "other", "version": 1, "project": {"name": "x"}}, "not a StoryCanvas project export"),
        ({"schema": "storycanvas.project", "version": 9, "project": {"name": "x"}}, "newer StoryCanvas"),
        ({"schema": "storycanvas.project", "version": 1, "project": {"name": "x", "fps": 13}}, "frame rate"),
        (
            {
                "schema": "storycanvas.project",
                "version": 1,
                "project": {"name": "x"},
                "scenes": [{"name": "s", "clips": [{"start_frame": 0, "duration_frames": 0}]}],
            },
            "Scene 1, clip 1, duration frames: use 1 or more",
        ),
        (
            {
                "schema": "storycanvas.project",
                "version": 1,
                "project": {"name": "x"},
                "scenes": [{"name": "s", "clips": [{"start_frame": 0, "duration_frames": 5, "characters": ["c9"]}]}],
            },
            "character “c9”",
        ),
    ],
)
def test_a_bad_document_is_refused_with_a_reason_and_leaves_nothing(db, make_user, document, reason):
    owner = make_user("importer")
    raw = document if isinstance(document, dict) else document.encode()
    with pytest.raises(Invalid, match=reason):
        project_import.import_document(db, owner, raw)
    assert db.exec(select(Project).where(Project.owner_id == owner.id)).all() == []


def test_an_import_whose_name_exists_is_told_apart(db, film, make_user):
    document = project_json.export_document(db, film.owner, film.project.id)
    name = film.project.name
    first, _ = project_import.import_document(db, film.owner, document)
    second, _ = project_import.import_document(db, film.owner, document)
    assert (first.name, second.name) == (f"{name} (imported)", f"{name} (imported 2)")
    stranger = make_user("stranger")  # another person's projects do not count
    theirs, _ = project_import.import_document(db, stranger, document)
    assert theirs.name == name
