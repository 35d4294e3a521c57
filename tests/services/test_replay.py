"""Replaying a result queues the graph that made it again: identical, or with only the seed changed."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.services import clips, generation, replay, scenes, workflows
from data.errors import Invalid, NotFound
from data.models import ComfyServer, GalleryItem, GenerationJob, WorkflowTemplate


@pytest.fixture
def made(db, make_user, make_project):
    """A clip with one image result, made by a real queued job (seed 40)."""
    owner = make_user("director")
    project = make_project(owner, name="Film")
    scene = scenes.create_scene(db, owner, project.id, "Opening")
    clip = clips.create_clip(db, owner, scene.id, start=0.0, duration=2.0, image_prompt="a lighthouse at dusk")
    workflows.ensure_builtin_workflows(db)
    db.add(ComfyServer(name="gpu-1", base_url="http://gpu-1:8188", status="online"))
    db.commit()
    [job] = generation.create_generation(
        db, owner, clip.id, generation.parse_request(checkpoint="dreamshaper_8.safetensors", seed=40, steps=12)
    )
    job.status = "succeeded"
    db.add(job)
    item = GalleryItem(
        clip_id=clip.id, project_id=clip.project_id, job_id=job.id, kind="image", file_path="results/a.png"
    )
    db.add(item)
    db.commit()
    return owner, job, item


def test_replay_with_same_settings_queues_the_identical_graph(db, made) -> None:
    owner, source, item = made

    [job] = replay.replay_item(db, owner, item.id, new_seed=False)

    assert job.id != source.id and job.status == "queued"
    assert job.resolved_graph == source.resolved_graph
    assert job.resolved_graph["3"]["inputs"]["seed"] == 40
    assert job.clip_id == source.clip_id and job.workflow_id == source.workflow_id
    assert job.params["replay_of"] == item.id and job.params["steps"] == 12
    assert job.checkpoint == "dreamshaper_8.safetensors"


def test_vary_seed_changes_only_the_bound_seed(db, made) -> None:
    owner, source, item = made

    seeds = set()
    for _ in range(3):
        [job] = replay.replay_item(db, owner, item.id, new_seed=True)
        seeds.add(job.resolved_graph["3"]["inputs"]["seed"])
        assert job.params["seed"] == job.resolved_graph["3"]["inputs"]["seed"]
        others = {k: v for k, v in job.resolved_graph.items() if k != "3"}
        assert others == {k: v for k, v in source.resolved_graph.items() if k != "3"}
        sampler = {k: v for k, v in job.resolved_graph["3"]["inputs"].items() if k != "seed"}
        assert sampler == {k: v for k, v in source.resolved_graph["3"]["inputs"].items() if k != "seed"}
    assert len(seeds | {40}) >= 3  # random seeds, not the old one over and over


def test_vary_seed_without_a_seed_binding_says_what_to_do(db, made) -> None:
    owner, source, item = made
    template = db.get(WorkflowTemplate, source.workflow_id)
    template.bindings = {k: v for k, v in template.bindings.items() if k != "seed"}
    db.add(template)
    db.commit()
    before = len(db.exec(select(GenerationJob)).all())

    with pytest.raises(Invalid, match="no seed binding"):
        replay.replay_item(db, owner, item.id, new_seed=True)
    assert len(db.exec(select(GenerationJob)).all()) == before


def test_a_result_without_its_job_cannot_be_replayed(db, made) -> None:
    owner, _source, item = made
    item.job_id = None
    db.add(item)
    db.commit()
    with pytest.raises(Invalid, match="no stored job"):
        replay.replay_item(db, owner, item.id, new_seed=False)


def test_someone_elses_result_is_not_found(db, made, make_user) -> None:
    _owner, _source, item = made
    stranger = make_user("stranger")
    with pytest.raises(NotFound):
        replay.replay_item(db, stranger, item.id, new_seed=False)
