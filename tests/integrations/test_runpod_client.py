"""The RunPod client against a fake RunPod serverless API running worker-comfyui on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import io
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image

from app.integrations.comfyui import ComfyError
from app.integrations.runpod import RunpodClient, RunpodStatus
from tests.fakes.fake_runpod import FakeRunpod

WORKFLOW = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "ComfyUI"}},
}


@pytest.fixture
def fake() -> Iterator[FakeRunpod]:
    with FakeRunpod(api_key="rp-key", endpoint_id="ep123", job_seconds=0.1) as server:
        yield server


@pytest.fixture
async def client(fake: FakeRunpod) -> AsyncIterator[RunpodClient]:
    async with RunpodClient(fake.url, "ep123", "rp-key", timeout=5) as runpod:
        yield runpod


async def finished(client: RunpodClient, job_id: str) -> RunpodStatus:
    async with asyncio.timeout(5):
        while not (status := await client.status(job_id)).finished:
            await asyncio.sleep(0.02)
    return status


async def test_a_job_runs_and_its_base64_images_are_decoded(fake: FakeRunpod, client: RunpodClient) -> None:
    face = b"\x89PNG face bytes"
    job_id = await client.run(WORKFLOW, images=[("face.png", face)])
    sent = fake.runs[0]["input"]
    assert sent["workflow"] == WORKFLOW
    assert sent["images"] == [{"name": "face.png", "image": base64.b64encode(face).decode()}]
    assert (await client.status(job_id)).status in ("IN_QUEUE", "IN_PROGRESS")

    status = await finished(client, job_id)
    assert status.status == "COMPLETED" and status.error is None
    assert [image.filename for image in status.images] == ["ComfyUI_00001_.png"]
    assert status.images[0].data == fake.image_bytes(job_id)
    assert Image.open(io.BytesIO(status.images[0].data)).format == "PNG"


async def test_s3_results_are_downloaded_without_the_runpod_key(fake: FakeRunpod, client: RunpodClient) -> None:
    fake.output_type = "s3_url"
    fake.image_count = 2
    status = await finished(client, await client.run(WORKFLOW))
    assert [image.filename for image in status.images] == ["ComfyUI_00001_.png", "ComfyUI_00002_.png"]
    assert status.images[1].data == fake.image_bytes(status.id, 1)
    assert [download["authorization"] for download in fake.downloads] == [None, None]


async def test_a_failed_job_carries_the_workers_error(fake: FakeRunpod, client: RunpodClient) -> None:
    fake.fail_next = 1
    status = await finished(client, await client.run(WORKFLOW))
    assert status.status == "FAILED" and status.images == []
    assert status.error is not None and "header too large" in status.error


async def test_cancel_and_health(fake: FakeRunpod, client: RunpodClient) -> None:
    fake.job_seconds = 30
    job_id = await client.run(WORKFLOW)
    health = await client.health()
    assert health["jobs"]["inProgress"] + health["jobs"]["inQueue"] == 1 and "workers" in health
    await client.cancel(job_id)
    assert (await client.status(job_id)).status == "CANCELLED"
    assert fake.cancels[0]["job_id"] == job_id


async def test_errors_say_what_to_fix(fake: FakeRunpod) -> None:
    async with RunpodClient(fake.url, "ep123", "wrong-key", timeout=5) as wrong_key:
        with pytest.raises(ComfyError) as error:
            await wrong_key.run(WORKFLOW)
    assert error.value.kind == "unauthorized" and error.value.message.startswith("RunPod API key rejected")
    assert not error.value.retryable

    async with RunpodClient(fake.url, "no-such-endpoint", "rp-key", timeout=5) as wrong_endpoint:
        with pytest.raises(ComfyError) as error:
            await wrong_endpoint.health()
    assert error.value.status_code == 404 and "endpoint ID" in error.value.message

    fake.http_error_status = 502
    async with RunpodClient(fake.url, "ep123", "rp-key", timeout=5) as runpod:
        with pytest.raises(ComfyError) as error:
            await runpod.health()
    assert (error.value.kind, error.value.retryable) == ("http", True)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    async with RunpodClient(f"http://127.0.0.1:{closed}/v2", "ep123", "rp-key", timeout=5) as unreachable:
        with pytest.raises(ComfyError) as error:
            await unreachable.health()
    assert error.value.kind == "refused" and error.value.retryable
