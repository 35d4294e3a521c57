"""Generation history: who sees which requests, filters, comparing, model statistics, export and replay."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.services import clips, events, generation, generation_history, scenes, workflows
from data.errors import Invalid, NotFound
from data.models import ComfyServer, GalleryItem, GenerationJob, Project

from .test_jobs_service import add_job, add_server

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def studio(db, make_user, make_project):
    """Alice's project with one clip; Bob's project with one job."""
    alice, bob = make_user("alice"), make_user("bob")
    project = make_project(alice, "Harbour")
    scene = scenes.create_scene(db, alice, project.id, "Opening")
    clip = clips.create_clip(db, alice, scene.id, start=0, duration=2, image_prompt="a lighthouse at dusk")
    theirs = add_job(db, make_project(bob, "Theirs"), checkpoint="sdxl.safetensors", created_at=T0)
    return alice, bob, project, clip, theirs


def _ids(entries) -> list[int]:
    return [entry.id for entry in entries]


def test_history_shows_only_visible_requests_newest_first_with_results(db, studio, make_user) -> None:
    alice, _bob, project, clip, theirs = studio
    older = add_job(db, project, clip_id=clip.id, status="completed", created_at=T0)
    newer = add_job(
        db, project, clip_id=clip.id, status="failed", error="CUDA out of memory", created_at=T0 + timedelta(1)
    )
    item = GalleryItem(clip_id=clip.id, project_id=project.id, job_id=older.id, kind="image", file_path="x.png")
    db.add(item)
    db.commit()

    entries = generation_history.history_entries(db, alice)

    assert _ids(entries) == [newer.id, older.id]
    assert entries[1].result_ids == [item.id] and entries[0].result_ids == []
    assert entries[1].seed == 7 and entries[1].project_name == "Harbour" and entries[1].clip_label == "Opening · #1"
    admin = make_user("root", admin=True)
    assert set(_ids(generation_history.history_entries(db, admin))) == {older.id, newer.id, theirs.id}
    with pytest.raises(NotFound):
        generation_history.history_entries(db, alice, project_id=theirs.project_id)


def test_filters_by_clip_model_status_dates_and_text(db, studio) -> None:
    alice, _bob, project, clip, _theirs = studio
    other_clip = clips.create_clip(db, alice, clip.scene_id, start=4, duration=2)
    a = add_job(db, project, clip_id=clip.id, checkpoint="sdxl.safetensors", status="completed", created_at=T0)
    b = add_job(
        db,
        project,
        clip_id=other_clip.id,
        checkpoint="flux.safetensors",
        status="failed",
        params={"prompt": "café at 100% night_time", "seed": 3},
        created_at=T0 + timedelta(days=2),
    )

    def found(**filters) -> list[int]:
        return _ids(generation_history.history_entries(db, alice, **filters))

    assert found(clip_id=other_clip.id) == [b.id]
    assert found(checkpoint="sdxl.safetensors") == [a.id]
    assert found(status="failed") == [b.id]
    assert found(since=T0 + timedelta(days=1)) == [b.id]
    assert found(until=(T0 + timedelta(hours=1)).replace(tzinfo=None)) == [a.id]  # naive dates are UTC
    assert found(text="café") == [b.id]
    assert found(text="100%") == [b.id] and found(text="0%n") == []  # % and _ are literal
    assert found(text="lighthouse") == [a.id]
    assert found(text="flux") == [b.id]
    with pytest.raises(Invalid, match="Unknown status"):
        found(status="sleeping")
    with pytest.raises(Invalid, match="ends before it starts"):
        found(since=T0, until=T0 - timedelta(days=1))


def test_compare_lists_every_parameter_and_marks_differences(db, studio) -> None:
    alice, _bob, project, clip, theirs = studio
    graph = {"3": {"class_type": "KSampler", "inputs": {"seed": 7}}}
    a = add_job(db, project, clip_id=clip.id, checkpoint="sdxl.safetensors", resolved_graph=graph)
    b = add_job(
        db,
        project,
        clip_id=clip.id,
        checkpoint="sdxl.safetensors",
        params={"prompt": "a lighthouse at dusk", "seed": 8, "steps": 30},
        resolved_graph={"3": {"class_type": "KSampler", "inputs": {"seed": 8}}},
    )

    rows = {row.param: row for row in generation_history.compare(db, alice, a.id, b.id)}

    assert rows["seed"] == ("seed", 7, 8, True)
    assert rows["steps"] == ("steps", None, 30, True)
    assert rows["prompt"].differs is False and rows["checkpoint"].differs is False
    assert rows["resolved_graph"].differs is True
    assert [row.param for row in generation_history.compare(db, alice, a.id, b.id)][:2] == ["kind", "checkpoint"]
    with pytest.raises(NotFound, match=f"Job {theirs.id} does not exist or is not yours"):
        generation_history.compare(db, alice, a.id, theirs.id)


def test_model_usage_counts_outcomes_median_and_last_use(db, studio) -> None:
    alice, _bob, project, _clip, _theirs = studio
    for minutes, seconds in ((0, 10), (1, 30), (2, 20)):
        start = T0 + timedelta(minutes=minutes)
        add_job(
            db,
            project,
            checkpoint="sdxl.safetensors",
            status="completed",
            created_at=start,
            started_at=start,
            finished_at=start + timedelta(seconds=seconds),
        )
    add_job(db, project, checkpoint="sdxl.safetensors", status="failed", created_at=T0 + timedelta(hours=1))
    add_job(db, project, checkpoint="flux.safetensors", status="queued", created_at=T0)

    usage = generation_history.model_usage(db, alice)

    assert [(u.checkpoint, u.jobs, u.completed, u.failed) for u in usage] == [
        ("sdxl.safetensors", 4, 3, 1),
        ("flux.safetensors", 1, 0, 0),
    ]
    assert usage[0].median_duration_s == 20.0 and usage[1].median_duration_s is None
    assert usage[0].last_used == T0 + timedelta(hours=1)
    assert generation_history.model_usage(db, alice, since=T0 + timedelta(minutes=30))[0].jobs == 1


def test_exports_carry_settings_and_defuse_spreadsheet_formulas(db, studio) -> None:
    alice, _bob, project, clip, _theirs = studio
    params = {"prompt": "=HYPERLINK(1)", "seed": 5, "steps": 20, "loras": [{"name": "ink", "strength": 0.5}]}
    job = add_job(db, project, clip_id=clip.id, checkpoint="sdxl.safetensors", params=params)
    entries = generation_history.history_entries(db, alice)

    (row,) = list(csv.DictReader(io.StringIO(generation_history.export_csv(entries))))
    assert row["id"] == str(job.id) and row["seed"] == "5" and row["checkpoint"] == "sdxl.safetensors"
    assert row["prompt"] == "'=HYPERLINK(1)"
    assert json.loads(row["loras"]) == [{"name": "ink", "strength": 0.5}]
    (item,) = json.loads(generation_history.export_json(entries))
    assert item["params"] == params and item["prompt"] == "=HYPERLINK(1)" and item["clip_label"] == "Opening · #1"


# --- replay ---------------------------------------------------------------------------------------


@pytest.fixture
def generated(db, studio):
    alice, _bob, _project, clip, _theirs = studio
    workflows.ensure_builtin_workflows(db)
    add_server(db, "gpu-1", status="online")
    request = generation.parse_request(checkpoint="dreamshaper_8.safetensors", seed=1234, steps=12, priority=3)
    (job,) = generation.create_generation(db, alice, clip.id, request)
    job.status = "completed"
    db.add(job)
    db.commit()
    return alice, clip, job


def test_replay_queues_the_identical_graph_with_the_same_seed(db, generated) -> None:
    alice, clip, original = generated
    seen: list[int] = []
    events.jobs_changed.subscribe(seen.append)
    workflow = workflows.default_workflow(db, "image")
    workflow.graph = {}  # the template changing later must not change a replay
    db.add(workflow)
    db.commit()

    replay = generation_history.replay_job(db, alice, original.id)

    assert replay.id != original.id and replay.status == "queued"
    assert replay.resolved_graph == original.resolved_graph
    assert replay.resolved_graph["3"]["inputs"]["seed"] == 1234
    assert (replay.clip_id, replay.project_id, replay.workflow_id, replay.kind, replay.priority) == (
        clip.id,
        original.project_id,
        original.workflow_id,
        original.kind,
        3,
    )
    assert replay.params == {**original.params, "replay_of": original.id}
    assert replay.checkpoint == original.checkpoint and replay.required_models == original.required_models
    assert seen == [clip.project_id]
    diffs = [row.param for row in generation_history.compare(db, alice, original.id, replay.id) if row.differs]
    assert diffs == ["replay_of"]


def test_replay_refuses_what_it_cannot_repeat(db, generated, make_user) -> None:
    alice, clip, original = generated
    with pytest.raises(NotFound):
        generation_history.replay_job(db, make_user("mallory"), original.id)

    unresolved = add_job(db, _project(db, clip), clip_id=clip.id, resolved_graph=None)
    with pytest.raises(Invalid, match="never got its final graph"):
        generation_history.replay_job(db, alice, unresolved.id)

    orphan = add_job(db, _project(db, clip), clip_id=None, resolved_graph=original.resolved_graph)
    with pytest.raises(Invalid, match="clip no longer exists"):
        generation_history.replay_job(db, alice, orphan.id)

    for server in db.exec(select(ComfyServer)).all():
        server.enabled = False
        db.add(server)
    db.commit()
    with pytest.raises(Invalid, match="No ComfyUI server is enabled"):
        generation_history.replay_job(db, alice, original.id)
    assert len(db.exec(select(GenerationJob).where(GenerationJob.clip_id == clip.id)).all()) == 2


def _project(db, clip) -> Project:
    return db.get(Project, clip.project_id)
