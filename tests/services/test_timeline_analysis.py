import pytest

from app.services import clips, scenes
from app.services.timeline_analysis import analyse_project
from data.errors import NotFound
from data.models import GalleryItem


def _select(db, clip) -> None:
    db.add(GalleryItem(clip_id=clip.id, project_id=clip.project_id, kind="image", file_path="x.png", selected=True))
    db.commit()


@pytest.fixture
def film(db, make_user, make_project):
    """Intro: A 1–3 s, B 4–6 s overlapping C 5–7 s (no result); Chase: D 0–3 s without a video prompt; Empty."""
    owner = make_user()
    project = make_project(owner, target_duration=60)
    intro = scenes.create_scene(db, owner, project.id, "Intro")
    chase = scenes.create_scene(db, owner, project.id, "Chase")
    scenes.create_scene(db, owner, project.id, "Empty")
    prompts = {"image_prompt": "still", "video_prompt": "motion"}
    a = clips.create_clip(db, owner, intro.id, start_frame=24, duration_frames=48, label="A", **prompts)
    b = clips.create_clip(db, owner, intro.id, start_frame=96, duration_frames=48, label="B", **prompts)
    c = clips.create_clip(db, owner, intro.id, start_frame=120, duration_frames=48, label="C", **prompts)
    d = clips.create_clip(db, owner, chase.id, start_frame=0, duration_frames=72, image_prompt="only an image")
    for clip in (a, b, d):
        _select(db, clip)
    return owner, project, (intro, chase), (a, b, c, d)


def test_analysis_has_the_rest_shape_and_the_right_values(db, film) -> None:
    owner, project, (intro, _), (_, b, c, d) = film
    report = analyse_project(db, owner, project.id)
    assert set(report) == {
        "overlaps",
        "gaps",
        "total_duration",
        "target_duration",
        "scenes",
        "clips_without_prompts",
        "clips_without_prompts_named",
        "export_ready",
        "reasons",
    }
    [overlap] = report["overlaps"]
    assert set(overlap) == {"scene_id", "clip_ids", "seconds", "suggestion"}
    assert (overlap["scene_id"], overlap["clip_ids"], overlap["seconds"]) == (intro.id, [b.id, c.id], 1.0)
    assert "“C”" in overlap["suggestion"] and "6 s" in overlap["suggestion"]
    assert [(g["scene_id"], g["start"], g["end"]) for g in report["gaps"]] == [
        (intro.id, 0.0, 1.0),
        (intro.id, 3.0, 4.0),
    ]
    assert all(set(g) == {"scene_id", "start", "end", "suggestion"} and g["suggestion"] for g in report["gaps"])
    assert (report["total_duration"], report["target_duration"]) == (10.0, 60.0)
    assert [(s["name"], s["duration"], s["clip_count"], s["share"]) for s in report["scenes"]] == [
        ("Intro", 7.0, 3, 0.7),
        ("Chase", 3.0, 1, 0.3),
        ("Empty", 0.0, 0, 0.0),
    ]
    assert report["scenes"][0]["scene_id"] == intro.id
    assert report["clips_without_prompts"] == [d.id]
    [named] = report["clips_without_prompts_named"]
    assert (named["clip_id"], named["scene_id"]) == (d.id, d.scene_id)
    assert named["label"] == (f"“{d.label}”" if d.label else f"clip {d.id}") and named["lacks"]
    assert report["export_ready"] is False
    assert report["reasons"] == [
        "1 overlap between clips: move, ripple or trim them.",
        "1 clip lacks an image or a video prompt.",
        "1 clip has no selected result yet.",
    ]


def test_a_project_without_overlaps_missing_prompts_or_selections_is_export_ready(db, film) -> None:
    owner, project, _, (_, _, c, d) = film
    clips.update_clip(db, owner, c.id, start_frame=144, overlap="allow")
    _select(db, c)
    clips.update_clip(db, owner, d.id, video_prompt="run")
    report = analyse_project(db, owner, project.id)
    assert report["overlaps"] == [] and report["clips_without_prompts"] == []
    assert report["gaps"]  # gaps are reported but do not block an export
    assert (report["export_ready"], report["reasons"]) == (True, [])


def test_an_empty_project_is_not_ready_and_says_why(db, make_user, make_project) -> None:
    owner = make_user()
    project = make_project(owner)
    report = analyse_project(db, owner, project.id)
    assert (report["total_duration"], report["scenes"], report["export_ready"]) == (0.0, [], False)
    assert report["reasons"] == ["The project has no clips yet."]


def test_another_user_cannot_analyse_the_project(db, film, make_user) -> None:
    _, project, _, _ = film
    with pytest.raises(NotFound):
        analyse_project(db, make_user("other"), project.id)
