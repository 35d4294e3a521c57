"""The generation and batch dialogs' Model field offers what the chosen workflow's loader can load, and nothing for a
workflow that loads no model."""

from __future__ import annotations

from nicegui.testing import User

from tests.services.test_workflow_models import SD, WAN, blur_workflow, server_from_fake, unet_video_workflow

from .conftest import click_testid, eventually
from .test_batch_dialog import _batch_jobs, _film, _text
from .test_clip_generation import jobs_of, open_clip, with_testid
from .test_generation_dialog import more


def _options(user: User) -> dict:
    return dict(with_testid(user, "dialog-checkpoint")[0].options)


async def test_video_mode_offers_the_video_loaders_files_not_image_checkpoints(
    user: User, sign_in, make_project, db
) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD], diffusion_models=[WAN])
    account, _, _ = await open_clip(user, sign_in, make_project, db)
    wan = unet_video_workflow(db, account)
    await more(user)
    assert _options(user) == {SD: f"{SD} · gpu-1"}  # text to image: CheckpointLoaderSimple's list

    with_testid(user, "dialog-mode")[0].set_value("video")
    with_testid(user, "dialog-workflow")[0].set_value(wan.id)

    await eventually(lambda: _options(user) == {WAN: f"{WAN} · gpu-1"})
    assert with_testid(user, "dialog-checkpoint")[0].value == WAN
    with_testid(user, "dialog-mode")[0].set_value("image")
    await eventually(lambda: _options(user) == {SD: f"{SD} · gpu-1"})


async def test_a_workflow_that_loads_no_model_hides_the_model_and_generates_without_one(
    user: User, sign_in, make_project, db
) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD])
    account, _, clip = await open_clip(user, sign_in, make_project, db)
    blur = blur_workflow(db, account)
    await more(user)
    assert with_testid(user, "dialog-checkpoint")[0].visible

    with_testid(user, "dialog-workflow")[0].set_value(blur.id)

    note = with_testid(user, "dialog-no-models")[0]
    await eventually(lambda: note.text == "“Blur” loads no model of your choosing: it runs without one.")
    assert note.visible and not with_testid(user, "dialog-checkpoint")[0].visible
    click_testid(user, "dialog-generate")
    await eventually(lambda: len(jobs_of(db, clip.id)) == 1)
    [job] = jobs_of(db, clip.id)
    assert (job.status, job.checkpoint, job.params.get("checkpoint")) == ("queued", None, None)
    assert job.resolved_graph["2"]["class_type"] == "ImageBlur"


async def test_a_batch_of_a_workflow_that_loads_no_model_queues_without_one(
    user: User, sign_in, make_project, db
) -> None:
    server_from_fake(db, "gpu-1", checkpoints=[SD])
    account = await sign_in(user)
    project, _scenes = _film(db, account, make_project)
    blur = blur_workflow(db, account)
    await user.open(f"/projects/{project.id}")
    click_testid(user, "generate-all")
    await user.should_see("Generate several clips · Night Ferry", retries=30)

    with_testid(user, "batch-workflow")[0].set_value(blur.id)

    await eventually(lambda: with_testid(user, "batch-no-models")[0].text.startswith("“Blur” loads no model"))
    assert not with_testid(user, "batch-checkpoint")[0].visible
    await eventually(lambda: _text(user, "batch-estimate").startswith("5 jobs · "))
    click_testid(user, "batch-submit")
    await eventually(lambda: len(_batch_jobs(db)) == 5)
    assert {(job.checkpoint, job.resolved_graph["2"]["class_type"]) for job in _batch_jobs(db)} == {(None, "ImageBlur")}
