"""The models a workflow can be given are what its bound loader lists on each working server.

Servers here are stored the way a catalog refresh stores them: from the fake ComfyUI's /object_info (the captured
node set of a real ComfyUI with the server's files in the loader lists), so each loader lists what a real one would.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from app.config import get_settings
from app.integrations.comfyui import catalog_from
from app.services import clips, generation, scenes, server_catalog, workflow_models, workflows
from data.errors import Invalid
from data.models import ComfyServer, GalleryItem, ModelEntry, User, WorkflowTemplate
from tests.fakes.fake_comfyui_graph import object_info
from tests.fakes.fake_media import png_bytes

SD = "dreamshaper_8.safetensors"
SVD = "svd_xt.safetensors"
WAN = "wan2.1_i2v_480p_14B_fp16.safetensors"


def server_from_fake(db: Session, name: str, *, status: str = "online", **files: list[str]) -> ComfyServer:
    """A server whose catalog and node definitions were read from a ComfyUI holding these files
    (knob → file names: checkpoints, diffusion_models, loras, …)."""
    server = ComfyServer(name=name, base_url=f"http://{name}:8188", status=status)
    db.add(server)
    db.commit()
    info = object_info({knob: list(names) for knob, names in files.items()}, [], [])
    server_catalog.store_catalog(db, server, catalog_from(info, []))
    return server


def unet_video_workflow(db: Session, owner: User) -> WorkflowTemplate:
    """A video workflow whose model loads through UNETLoader (the diffusion_models folder), as Wan's do."""
    graph: dict[str, Any] = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": WAN, "weight_dtype": "default"}},
        "2": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "wan"}},
    }
    bindings = {"checkpoint": {"node": "1", "input": "unet_name"}, "init_image": {"node": "2", "input": "image"}}
    workflow = WorkflowTemplate(owner_id=owner.id, name="Wan video", kind="video", graph=graph, bindings=bindings)
    db.add(workflow)
    db.commit()
    db.refresh(workflow)
    return workflow


def blur_workflow(db: Session, owner: User) -> WorkflowTemplate:
    """A utility graph with no prompt and no model: blur a picture (here an empty one) and save it."""
    graph = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 3, "sigma": 1.0}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "blur"}},
    }
    bindings = {"width": {"node": "1", "input": "width"}, "height": {"node": "1", "input": "height"}}
    return workflows.create_workflow(db, owner, "Blur", "image", graph, bindings)


@pytest.fixture
def owner(db, make_user) -> User:
    workflows.ensure_builtin_workflows(db)
    return make_user("director")


def test_video_mode_offers_the_image_to_video_loaders_list_of_each_server(db, owner) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD, SVD])
    server_from_fake(db, "gpu-2", checkpoints=[SD])
    server_from_fake(db, "gpu-3", status="offline", checkpoints=["old.safetensors"])

    video = workflow_models.model_choices(db, owner, "video", None)

    assert (video.loads_model, video.loader) == (True, "ImageOnlyCheckpointLoader")
    assert video.models == {SD: ["gpu-1", "gpu-2"], SVD: ["gpu-1"]}  # offline servers take no work now


def test_a_workflows_loader_decides_the_list_not_every_checkpoint(db, owner) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD], diffusion_models=[WAN])
    wan = unet_video_workflow(db, owner)

    video = workflow_models.model_choices(db, owner, "video", wan.id)
    image = workflow_models.model_choices(db, owner, "image", None)

    assert (video.loader, video.models) == ("UNETLoader", {WAN: ["gpu-1"]})
    assert (image.loader, image.models) == ("CheckpointLoaderSimple", {SD: ["gpu-1"]})


def test_a_server_that_sent_no_node_definitions_offers_its_catalog(db, owner) -> None:
    server = server_from_fake(db, "gpu-1", checkpoints=[SD, SVD])
    server_catalog._store_specs(db, server.id, {})  # what a server stored before node definitions were kept
    server.catalog_refreshed_at = server.catalog_refreshed_at.replace(microsecond=1)  # a new refresh
    db.add(server)
    db.commit()

    assert workflow_models.model_choices(db, owner, "video", None).models == {SD: ["gpu-1"], SVD: ["gpu-1"]}


def test_a_base_model_leaves_out_files_of_another_base_model(db, owner) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD, SVD, "unknown.safetensors"])
    for file_name, base in ((SD, "SD 1.5"), (SVD, "SVD")):
        entry = db.exec(select(ModelEntry).where(ModelEntry.file_name == file_name)).one()
        entry.base_model = base
        db.add(entry)
    db.commit()

    offered = workflow_models.model_choices(db, owner, "video", None, "SVD")

    assert list(offered.models) == [SVD, "unknown.safetensors"]  # an unknown base model is not held against a file


def test_a_workflow_without_a_checkpoint_binding_offers_no_model_and_says_why(db, owner) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD])
    blur = blur_workflow(db, owner)

    offered = workflow_models.model_choices(db, owner, "image", blur.id)

    assert (offered.loads_model, offered.models) == (False, {})
    assert offered.note == "“Blur” loads no model of your choosing: it runs without one."


@pytest.fixture
def clip_with_image(db, owner, make_project):
    project_id = make_project(owner, name="Film").id
    scene = scenes.create_scene(db, owner, project_id, "Opening")
    clip = clips.create_clip(db, owner, scene.id, start=0.0, duration=2.0, image_prompt="a pier", video_prompt="waves")
    folder = get_settings().media_dir / "projects" / str(project_id) / "clips" / str(clip.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "still.png").write_bytes(png_bytes(32, 24, seed=4))
    db.add(
        GalleryItem(
            clip_id=clip.id,
            project_id=project_id,
            kind="image",
            file_path=f"projects/{project_id}/clips/{clip.id}/still.png",
            selected=True,
        )
    )
    db.commit()
    return clip


def test_a_model_no_servers_loader_lists_is_refused_naming_the_file_per_server(db, owner, clip_with_image) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD])
    server_from_fake(db, "gpu-2", checkpoints=[SD, "sdxl_base.safetensors"])

    request = generation.parse_request(mode="video", checkpoint=SVD)
    with pytest.raises(Invalid) as refused:
        generation.create_generation(db, owner, clip_with_image.id, request)

    message = refused.value.message
    assert f"gpu-1: {SVD} is not in ImageOnlyCheckpointLoader's list" in message
    assert f"gpu-2: {SVD} is not in ImageOnlyCheckpointLoader's list" in message


def test_a_model_one_servers_loader_lists_is_queued(db, owner, clip_with_image) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD])
    server_from_fake(db, "gpu-2", checkpoints=[SVD])

    [job] = generation.create_generation(
        db, owner, clip_with_image.id, generation.parse_request(mode="video", checkpoint=SVD)
    )

    assert job.resolved_graph["1"]["inputs"]["ckpt_name"] == SVD


def test_a_workflow_that_loads_no_model_generates_without_one(db, owner, clip_with_image) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD])
    blur = blur_workflow(db, owner)

    [job] = generation.create_generation(
        db, owner, clip_with_image.id, generation.parse_request(mode="image", workflow_id=blur.id)
    )

    assert job.checkpoint is None and "checkpoint" not in job.params
    assert job.resolved_graph["2"]["inputs"]["blur_radius"] == 3


def test_a_workflow_that_loads_a_model_still_needs_one(db, owner, clip_with_image) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD])

    with pytest.raises(Invalid, match="loads a model: choose one") as refused:
        generation.create_generation(db, owner, clip_with_image.id, generation.parse_request(mode="image"))

    assert refused.value.field == "checkpoint"
