"""Generation requests become queued jobs carrying the exact graph they will run."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.config import get_settings
from app.services import clips, generation, scenes, workflows
from data.errors import Invalid, NotFound
from data.models import ComfyServer, GalleryItem, GenerationJob, ModelEntry, ServerModel
from data.models._common import utcnow
from tests.fakes.fake_media import png_bytes


@pytest.fixture
def setup(db, make_user, make_project):
    owner = make_user("director")
    project = make_project(owner, name="Film", width=1920, height=1080)
    scene = scenes.create_scene(db, owner, project.id, "Opening")
    clip = clips.create_clip(
        db, owner, scene.id, start=0.0, duration=2.0, image_prompt="a lighthouse at dusk", video_prompt="waves roll in"
    )
    workflows.ensure_builtin_workflows(db)
    return owner, clip


def add_server(db, name: str, checkpoints: list[str] | None = None) -> ComfyServer:
    """A server; with `checkpoints` its catalog is known and holds exactly those."""
    server = ComfyServer(name=name, base_url=f"http://{name}:8188", status="online")
    db.add(server)
    db.commit()
    if checkpoints is not None:
        server.catalog_refreshed_at = utcnow()
        for file_name in checkpoints:
            entry = db.exec(select(ModelEntry).where(ModelEntry.file_name == file_name)).first()
            if entry is None:
                entry = ModelEntry(kind="checkpoint", file_name=file_name)
                db.add(entry)
                db.commit()
            db.add(ServerModel(server_id=server.id, model_id=entry.id))
        db.add(server)
        db.commit()
    return server


def test_each_variation_is_a_job_with_its_own_resolved_graph(db, setup) -> None:
    owner, clip = setup
    add_server(db, "gpu-1")
    request = generation.parse_request(
        checkpoint="dreamshaper_8.safetensors",
        variations=3,
        seed=40,
        loras=[{"name": "ink.safetensors", "strength": 0.7}],
    )

    made = generation.create_generation(db, owner, clip.id, request)

    assert len(made) == 3 and all(job.status == "queued" and job.kind == "image" for job in made)
    seeds = [job.resolved_graph["3"]["inputs"]["seed"] for job in made]
    assert seeds == [40, 41, 42]  # a fixed seed counts up, or the server would answer from its cache
    graph = made[0].resolved_graph
    assert graph["6"]["inputs"]["text"] == "a lighthouse at dusk"  # the clip's image prompt
    assert graph["4"]["inputs"]["ckpt_name"] == "dreamshaper_8.safetensors"
    assert (graph["5"]["inputs"]["width"], graph["5"]["inputs"]["height"]) == (1024, 576)  # 1920x1080 fitted
    assert "blurry" in graph["7"]["inputs"]["text"]  # no negative given: the workflow's own stays
    assert any(node["class_type"] == "LoraLoader" for node in graph.values())
    assert made[0].checkpoint == "dreamshaper_8.safetensors"
    assert {"kind": "lora", "file_name": "ink.safetensors"} in made[0].required_models
    assert made[0].max_attempts == get_settings().job_max_attempts


def test_without_a_seed_variations_get_different_random_seeds(db, setup) -> None:
    owner, clip = setup
    add_server(db, "gpu-1")
    made = generation.create_generation(
        db, owner, clip.id, generation.parse_request(checkpoint="a.safetensors", variations=4)
    )
    assert len({job.resolved_graph["3"]["inputs"]["seed"] for job in made}) == 4


def test_no_enabled_server_is_a_clear_error_and_queues_nothing(db, setup) -> None:
    owner, clip = setup
    with pytest.raises(Invalid, match="No ComfyUI server is enabled"):
        generation.create_generation(db, owner, clip.id, generation.parse_request(checkpoint="a.safetensors"))
    assert db.exec(select(GenerationJob)).all() == []


def test_a_model_no_server_has_is_named_before_anything_is_queued(db, setup) -> None:
    owner, clip = setup
    add_server(db, "gpu-1", checkpoints=["other.safetensors"])
    with pytest.raises(Invalid) as raised:
        generation.create_generation(db, owner, clip.id, generation.parse_request(checkpoint="missing.safetensors"))
    assert "gpu-1" in raised.value.message and "missing.safetensors" in raised.value.message
    assert db.exec(select(GenerationJob)).all() == []


def test_one_capable_server_is_enough(db, setup) -> None:
    owner, clip = setup
    add_server(db, "gpu-1", checkpoints=["other.safetensors"])
    add_server(db, "gpu-2", checkpoints=["wanted.safetensors"])
    made = generation.create_generation(db, owner, clip.id, generation.parse_request(checkpoint="wanted.safetensors"))
    assert len(made) == 1


def test_a_video_needs_a_selected_image_and_names_it_by_content(db, setup) -> None:
    owner, clip = setup
    add_server(db, "gpu-1")
    with pytest.raises(Invalid, match="no selected image"):
        generation.create_generation(db, owner, clip.id, generation.parse_request(mode="video", checkpoint="svd.st"))
    folder = get_settings().media_dir / "projects" / str(clip.project_id) / "clips" / str(clip.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "still.png").write_bytes(png_bytes(32, 24, seed=9))
    item = GalleryItem(
        clip_id=clip.id,
        project_id=clip.project_id,
        kind="image",
        file_path=f"projects/{clip.project_id}/clips/{clip.id}/still.png",
        selected=True,
    )
    db.add(item)
    db.commit()

    [job] = generation.create_generation(
        db, owner, clip.id, generation.parse_request(mode="video", checkpoint="svd_xt.safetensors")
    )

    assert job.kind == "video"
    name = job.params["init_image"]
    assert name.startswith("storycanvas/") and name.endswith(".png")
    assert job.resolved_graph["2"]["inputs"]["image"] == name  # the LoadImage node names the uploaded file
    assert job.params["init_item_id"] == item.id
    assert job.resolved_graph["1"]["inputs"]["ckpt_name"] == "svd_xt.safetensors"


def test_both_queues_a_video_after_each_image(db, setup) -> None:
    owner, clip = setup
    add_server(db, "gpu-1")
    made = generation.create_generation(
        db, owner, clip.id, generation.parse_request(mode="both", checkpoint="a.safetensors", variations=2)
    )
    images = [job for job in made if job.kind == "image"]
    videos = [job for job in made if job.kind == "video"]
    assert len(images) == 2 and len(videos) == 2
    assert sorted(job.depends_on_id for job in videos) == sorted(job.id for job in images)
    assert all(job.resolved_graph is None for job in videos)  # resolved when its image exists
    assert videos[0].params["prompt"] == "waves roll in"  # the clip's video prompt


def test_a_workflow_of_the_wrong_kind_is_refused(db, setup) -> None:
    owner, clip = setup
    add_server(db, "gpu-1")
    video_flow = workflows.default_workflow(db, "video")
    with pytest.raises(Invalid, match="pick an image workflow"):
        generation.create_generation(
            db, owner, clip.id, generation.parse_request(checkpoint="a.safetensors", workflow_id=video_flow.id)
        )


def test_another_users_clip_is_not_found(db, setup, make_user) -> None:
    _owner, clip = setup
    add_server(db, "gpu-1")
    stranger = make_user("stranger")
    with pytest.raises(NotFound):
        generation.create_generation(db, stranger, clip.id, generation.parse_request(checkpoint="a.safetensors"))


def test_bad_values_name_the_field() -> None:
    with pytest.raises(Invalid) as raised:
        generation.parse_request(checkpoint="a", variations=40)
    assert raised.value.field == "variations"
