"""POST /api/v1/projects/{id}/exports (and …/preview) and POST /api/v1/projects/import: the HTTP contract."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from app.services.project_cut import load_cut
from tests.exports.conftest import make_film
from tests.exports.readers import check_edl, check_fcpxml


@pytest.fixture
def owned(client, login, db, make_project):
    headers, user = login("director")
    film = make_film(db, user, make_project)
    return headers, film


def test_export_returns_the_file_with_its_name_type_and_warnings(client, owned, db):
    headers, film = owned
    response = client.post(f"/api/v1/projects/{film.project.id}/exports", headers=headers, json={"format": "fcpxml"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["content-disposition"] == 'attachment; filename="moonrise.fcpxml"'
    warnings = json.loads(response.headers["x-storycanvas-warnings"])
    assert any("NO MEDIA" in warning for warning in warnings)
    check_fcpxml(response.content, load_cut(db, film.owner, film.project.id))


def test_export_options_reach_the_file(client, owned, db):
    headers, film = owned
    body = {
        "format": "edl",
        "frame_rate": "29.97",
        "drop_frame": True,
        "start_timecode": "00:00:10;00",
        "scope": {"scene_id": film.scenes[1].id},
    }
    response = client.post(f"/api/v1/projects/{film.project.id}/exports", headers=headers, json=body)
    assert response.status_code == 200, response.text
    text = response.text
    assert "FCM: DROP FRAME" in text and "00:00:10;00" in text and "Pier" not in text
    timeline = load_cut(
        db, film.owner, film.project.id, scene_id=film.scenes[1].id, frame_rate="29.97", start_timecode="00:00:10;00"
    )
    check_edl(response.content, timeline)


@pytest.mark.parametrize(
    ("fmt", "extension", "media_type"),
    [("xmeml", "xml", "application/xml"), ("otio", "otio", "application/json"), ("aaf", "aaf", "application/octet")],
)
def test_every_format_downloads(client, owned, fmt, extension, media_type):
    headers, film = owned
    response = client.post(f"/api/v1/projects/{film.project.id}/exports", headers=headers, json={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith(f'.{extension}"')
    assert response.headers["content-type"].startswith(media_type)
    assert len(response.content) > 200


def test_a_package_holds_the_timeline_the_media_and_the_music_under_relative_paths(client, owned):
    headers, film = owned
    body = {"format": "fcpxml", "package": True, "media_paths": "absolute"}
    response = client.post(f"/api/v1/projects/{film.project.id}/exports", headers=headers, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="moonrise.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert "moonrise.fcpxml" in names
    media = sorted(name for name in names if name.startswith("media/"))
    assert len(media) == 4  # pier and lamp videos, boat and beam stills (the placeholder has none)
    assert any(name.startswith("music/theme-") for name in names)
    timeline_text = archive.read("moonrise.fcpxml").decode()
    assert "file://" not in timeline_text
    for name in media:
        assert f'src="{name}"' in timeline_text
    pier = film.items["pier"]
    assert archive.read(next(name for name in media if name.endswith(f"-{pier.id}.mp4"))).startswith(b"\x00\x00")


def test_preview_shows_tracks_clips_gaps_and_durations(client, owned):
    headers, film = owned
    response = client.post(
        f"/api/v1/projects/{film.project.id}/exports/preview", headers=headers, json={"format": "edl"}
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["duration_frames"] == 168 and preview["duration"] == 7.0
    assert preview["start_timecode"] == "01:00:00:00" and preview["end_timecode"] == "01:00:07:00"
    video, audio = preview["tracks"]
    assert [item["type"] for item in video["items"]] == [
        "clip",
        "clip",
        "gap",
        "placeholder",
        "clip",
        "clip",
        "clip",
    ]
    assert video["items"][2] == {
        "type": "gap",
        "record_start": 72,
        "duration": 24,
        "record_in": "01:00:03:00",
        "record_out": "01:00:04:00",
        "seconds": 1.0,
    }
    assert audio["items"][0]["type"] == "music"
    assert preview["counts"] == {
        "clips": 6,
        "videos": 3,
        "stills": 2,
        "placeholders": 1,
        "gaps": 1,
        "scenes": 2,
        "files": 5,
    }
    assert any("EDL" in warning and "still" in warning for warning in preview["warnings"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"format": "mp4"}, "format"),
        ({"format": "edl", "frame_rate": "12"}, "frame rate"),
        ({"format": "edl", "drop_frame": True}, "Drop-frame"),
        ({"format": "edl", "start_timecode": "nonsense"}, "Start timecode"),
        ({"format": "fcpxml", "start_timecode": "24:00:00:00"}, "24 hours or more"),
        ({"format": "fcpxml", "start_timecode": "23:59:59:00"}, "past 23:59:59"),
        ({"format": "edl", "scope": {"scene_id": 999999}}, "not a scene of this project"),
        ({"format": "edl", "scope": {"clip_ids": [999999]}}, "Not clips of this project"),
        ({"format": "edl", "media_paths": "sideways"}, "media_paths"),
        ({"format": "edl", "surprise": 1}, "surprise"),
    ],
)
def test_bad_options_are_422_with_a_reason(client, owned, body, reason):
    headers, film = owned
    response = client.post(f"/api/v1/projects/{film.project.id}/exports", headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert reason in response.text


def test_another_users_project_is_404_and_no_token_is_401(client, owned, login):
    _, film = owned
    intruder, _ = login("intruder")
    for path in ("exports", "exports/preview"):
        response = client.post(f"/api/v1/projects/{film.project.id}/{path}", headers=intruder, json={"format": "edl"})
        assert response.status_code == 404, response.text
    assert client.post(f"/api/v1/projects/{film.project.id}/exports", json={"format": "edl"}).status_code == 401


def test_import_of_a_json_export_makes_a_new_project(client, owned):
    headers, film = owned
    exported = client.post(f"/api/v1/projects/{film.project.id}/exports", headers=headers, json={"format": "json"})
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == 'attachment; filename="moonrise.storycanvas.json"'
    response = client.post("/api/v1/projects/import", headers=headers, content=exported.content)
    assert response.status_code == 201, response.text
    project = response.json()
    assert project["name"] == "Moonrise (imported)" and project["id"] != film.project.id
    assert set(project) >= {"id", "owner_id", "name", "fps", "width", "height", "tags", "archived", "created_at"}
    assert json.loads(response.headers["x-storycanvas-warnings"]) == []
    scenes = client.get(f"/api/v1/projects/{project['id']}/scenes", headers=headers).json()
    assert [scene["name"] for scene in scenes] == ["Harbour", "Lighthouse"]


def test_import_refuses_what_is_not_an_export(client, login):
    headers, _ = login("importer")
    response = client.post("/api/v1/projects/import", headers=headers, content=b'{"schema": "x", "version": 1}')
    assert response.status_code == 422
    assert "not a StoryCanvas project export" in response.json()["detail"]
    assert client.post("/api/v1/projects/import", content=b"{}").status_code == 401


def test_notes_carry_the_prompt_as_generating_sends_it(db, make_user, make_project) -> None:
    from app.exports import edl
    from app.services import clips, scenes
    from app.services.project_cut import load_cut

    owner = make_user("director")
    project = make_project(owner, "Moonrise", fps=24)
    harbour = scenes.create_scene(db, owner, project.id, "Harbour")
    clips.create_clip(db, owner, harbour.id, start_frame=0, duration_frames=24, label="Pier", image_prompt="x")
    clips.create_clip(
        db,
        owner,
        harbour.id,
        start_frame=24,
        duration_frames=24,
        label="Gull",
        image_prompt="{scene.name} at dusk, shot {clip.index} of {project.name}",
        video_prompt="{clip.label} flies off",
    )
    timeline = load_cut(db, owner, project.id)
    gull = next(clip for clip in timeline.clips if clip.name == "Gull")
    assert gull.image_prompt == "Harbour at dusk, shot 2 of Moonrise"
    assert gull.video_prompt == "Gull flies off"
    written = edl.write(timeline).content
    text = written.decode() if isinstance(written, bytes) else written
    assert "Harbour at dusk" in text and "{scene.name}" not in text


def test_many_warnings_fit_a_proxys_header_and_the_preview_lists_them_all(client, login, db, make_project):
    """30 overlapping clips made nginx answer 502 (a 16 KB header at 2,000 clips): the header holds the first
    warnings under 1 KB of ASCII, with their number beside it; the preview answers every one."""
    from app.services import clips, scenes

    headers, user = login("director")
    project = make_project(user, name="Café Noir")
    scene = scenes.create_scene(db, user, project.id, "Night")
    for index in range(40):
        clips.create_clip(db, user, scene.id, start=index * 0.5, duration=2.0, label=f"Überlappung {index} " + "x" * 80)
    url = f"/api/v1/projects/{project.id}/exports"
    response = client.post(url, headers=headers, json={"format": "edl"})
    assert response.status_code == 200, response.text
    header = response.headers["x-storycanvas-warnings"]
    assert len(header.encode()) < 1024 and header.isascii()
    shown = json.loads(header)
    preview = client.post(f"{url}/preview", headers=headers, json={"format": "edl"}).json()
    assert int(response.headers["x-storycanvas-warnings-count"]) == len(preview["warnings"]) > len(shown) - 1
    assert len(preview["warnings"]) > 10 and shown[-1].endswith("more: the export preview lists them all.")
    # The download keeps the project's own name, with an ASCII fallback for older clients.
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"cafe-noir.edl\"; filename*=UTF-8''caf%C3%A9-noir.edl"
    )
