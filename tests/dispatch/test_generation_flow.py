"""From a clip's request to results in its gallery, through the built-in workflows and a fake ComfyUI."""

from __future__ import annotations

from sqlmodel import select

from app.config import get_settings
from app.services import generation, workflows
from data.engine import session_scope
from data.models import GalleryItem

from .conftest import add_server, all_finished, drive, job_states


def _items(clip_id: int) -> list[GalleryItem]:
    with session_scope() as session:
        return list(session.exec(select(GalleryItem).where(GalleryItem.clip_id == clip_id).order_by(GalleryItem.id)))


async def test_image_then_video_from_it_lands_in_the_gallery(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.1, checkpoints=["dreamshaper_8.safetensors", "svd_xt.safetensors"])
    add_server(db, fake, "gpu-1")
    workflows.ensure_builtin_workflows(db)
    made = generation.create_generation(
        db, owner, target.id, generation.parse_request(mode="both", checkpoint="dreamshaper_8.safetensors", seed=11)
    )
    ids = [job.id for job in made]

    await drive(dispatcher, all_finished(ids), timeout=30)

    states = job_states(ids)
    assert [states[i].status for i in ids] == ["completed", "completed"], (
        [states[i].error for i in ids],
        fake.prompts[-1],
    )
    image, video = _items(target.id)
    assert (image.kind, video.kind) == ("image", "video")
    assert image.selected and video.selected  # the first of each kind becomes the clip's choice
    assert video.file_path.endswith(".mp4") and video.duration and video.duration > 0
    media = get_settings().media_dir
    assert (media / video.thumbnail_path).read_bytes()[8:12] == b"WEBP"  # a poster frame
    # The video started from that image: uploaded under the name its stored graph uses.
    video_job = states[ids[1]]
    assert video_job.resolved_graph["2"]["inputs"]["image"] == video_job.params["init_image"]
    assert [upload["name"] for upload in fake.uploads] == [video_job.params["init_image"].rpartition("/")[2]]
    assert video.params["prompt"] == target.video_prompt and image.params["checkpoint"] == "dreamshaper_8.safetensors"
    # The metadata says what really ran, the workflow's defaults included.
    assert (image.params["steps"], image.params["cfg"], image.params["sampler"]) == (25, 7.0, "euler")
    assert image.params["seed"] == 11 and image.params["server"] == "gpu-1" and image.params["duration_s"] >= 0
    assert "blurry" in image.params["negative_prompt"]
