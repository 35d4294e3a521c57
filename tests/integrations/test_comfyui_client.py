"""The ComfyUI client against the fake ComfyUI on 127.0.0.1: requests, events, errors and connection diagnostics."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from app.integrations.comfyui import (
    ComfyClient,
    ComfyError,
    ExecutionError,
    HistoryEntry,
    PreviewFrame,
    PromptRejected,
    WsEvent,
    fetch_catalog,
    test_connection,
    tls_context,
)
from app.integrations.comfyui_ws import parse_binary_frame
from tests.fakes.fake_comfyui import FakeComfyUI

REPOSITORY = Path(__file__).parents[2]


def txt2img(seed: int = 42, *, checkpoint: str = "dreamshaper_8.safetensors", batch: int = 1) -> dict[str, Any]:
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": batch}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse at dusk", "clip": ["1", 1]}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
        "5": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "seed": seed,
                "steps": 6,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["2", 0],
                "denoise": 1.0,
            },
        },
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "storycanvas/clip"}},
    }


@pytest.fixture
def fake() -> Iterator[FakeComfyUI]:
    with FakeComfyUI(job_seconds=0.05) as server:
        yield server


@pytest.fixture
async def client(fake: FakeComfyUI) -> AsyncIterator[ComfyClient]:
    async with ComfyClient(fake.url, timeout=5) as comfy:
        yield comfy


async def listen(client: ComfyClient, client_id: str) -> AsyncIterator[WsEvent | PreviewFrame]:
    """The event stream, connected (its greeting consumed) so nothing queued afterwards is missed."""
    events = client.events(client_id)
    greeting = await anext(events)
    assert isinstance(greeting, WsEvent) and greeting.type == "status" and greeting.data["sid"] == client_id
    return events


async def until_done(events: AsyncIterator[WsEvent | PreviewFrame], prompt_id: str) -> list[WsEvent | PreviewFrame]:
    seen: list[WsEvent | PreviewFrame] = []
    async with asyncio.timeout(10):
        async for event in events:
            seen.append(event)
            finished = isinstance(event, WsEvent) and event.type == "executing" and event.data["node"] is None
            if finished and event.data["prompt_id"] == prompt_id:
                return seen
    raise AssertionError(f"the stream ended before {prompt_id} finished: {seen}")


async def wait_running(client: ComfyClient, prompt_id: str) -> None:
    async with asyncio.timeout(5):
        while prompt_id not in (await client.queue()).running:
            await asyncio.sleep(0.01)


async def test_system_stats_names_the_version_and_gpu(fake: FakeComfyUI, client: ComfyClient) -> None:
    stats = await client.system_stats()
    assert stats.comfyui_version == "0.3.64"
    assert stats.devices[0].type == "cuda" and stats.devices[0].vram_total == 24 * 2**30
    assert stats.summary == "NVIDIA GeForce RTX 4090 (24.0 GB VRAM)"


async def test_catalog_lists_the_servers_models_and_custom_nodes(fake: FakeComfyUI, client: ComfyClient) -> None:
    fake.configure(
        checkpoints=["sdxl.safetensors", "flux.safetensors"],
        loras=["ink.safetensors"],
        vaes=["sdxl_vae.safetensors"],
        embeddings=["easynegative.safetensors"],
        upscalers=["4x-UltraSharp.pth"],
        extra_node_types=["ReActorFaceSwap"],
    )
    catalog = await fetch_catalog(client)
    assert catalog.checkpoints == ["sdxl.safetensors", "flux.safetensors"]
    assert catalog.loras == ["ink.safetensors"]
    assert catalog.vaes == ["sdxl_vae.safetensors"]  # not the built-in pixel_space
    assert catalog.embeddings == ["easynegative.safetensors"]
    assert catalog.upscalers == ["4x-UltraSharp.pth"]
    assert "ReActorFaceSwap" in catalog.node_types and catalog.node_types == sorted(catalog.node_types)
    assert await client.models("loras") == ["ink.safetensors"]
    assert "checkpoints" in await client.model_folders()


async def test_a_prompt_runs_with_progress_previews_history_and_files(fake: FakeComfyUI, client: ComfyClient) -> None:
    events = await listen(client, "studio-1")
    number = await client.queue_prompt(txt2img(batch=2), prompt_id="our-id-1", client_id="studio-1")
    assert number == 0 and fake.prompts[0]["prompt_id"] == "our-id-1"
    seen = await until_done(events, "our-id-1")
    await events.aclose()

    types = [event.type for event in seen if isinstance(event, WsEvent)]
    assert types.index("execution_start") < types.index("progress") < types.index("execution_success")
    progress = [event.data for event in seen if isinstance(event, WsEvent) and event.type == "progress"]
    assert progress[-1] == {"value": 6, "max": 6, "prompt_id": "our-id-1", "node": "5"}
    previews = [event for event in seen if isinstance(event, PreviewFrame)]
    assert len(previews) == 2 and all(frame.mime == "image/jpeg" for frame in previews)
    assert (previews[0].prompt_id, previews[0].node_id) == ("our-id-1", "5")
    assert Image.open(io.BytesIO(previews[0].image)).format == "JPEG"

    entry = await client.history("our-id-1")
    assert isinstance(entry, HistoryEntry) and entry.succeeded and entry.error is None and not entry.interrupted
    assert [(file.node_id, file.filename, file.subfolder, file.media) for file in entry.outputs] == [
        ("7", "clip_00001_.png", "storycanvas", "image"),
        ("7", "clip_00002_.png", "storycanvas", "image"),
    ]
    data = await client.view(entry.outputs[0])
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (43, 64)  # 512x768, capped at 64 px
    assert fake.views[-1]["filename"] == "clip_00001_.png"
    assert await client.queue_remaining() == 0


async def test_preview_frames_with_metadata_carry_their_ids(fake: FakeComfyUI, client: ComfyClient) -> None:
    fake.preview_with_metadata = True
    events = await listen(client, "studio-1")
    await client.queue_prompt(txt2img(), prompt_id="p-meta", client_id="studio-1")
    previews = [event for event in await until_done(events, "p-meta") if isinstance(event, PreviewFrame)]
    await events.aclose()
    assert previews
    assert all((frame.prompt_id, frame.node_id, frame.mime) == ("p-meta", "5", "image/jpeg") for frame in previews)


def test_binary_frames_of_other_types_are_skipped() -> None:
    assert parse_binary_frame(b"\x00\x00\x00\x03\x00\x00\x00\x01" + b"text") is None
    assert parse_binary_frame(b"\x00\x00\x00\x01") is None
    frame = parse_binary_frame(b"\x00\x00\x00\x01\x00\x00\x00\x02png-bytes")
    assert frame is not None and (frame.mime, frame.image) == ("image/png", b"png-bytes")


async def test_new_seeds_give_new_files_and_a_repeated_graph_comes_from_the_cache(
    fake: FakeComfyUI, client: ComfyClient
) -> None:
    events = await listen(client, "c")
    results: dict[str, HistoryEntry] = {}
    for prompt_id, seed in (("first", 1), ("other-seed", 2), ("repeat", 1)):
        await client.queue_prompt(txt2img(seed), prompt_id=prompt_id, client_id="c")
        seen = await until_done(events, prompt_id)
        entry = await client.history(prompt_id)
        assert entry is not None
        results[prompt_id] = entry
        cached = next(event for event in seen if isinstance(event, WsEvent) and event.type == "execution_cached")
        assert bool(cached.data["nodes"]) is (prompt_id == "repeat")
    await events.aclose()
    first, other, repeat = (results[key].outputs[0] for key in ("first", "other-seed", "repeat"))
    names = (first.filename, other.filename, repeat.filename)
    assert names == ("clip_00001_.png", "clip_00002_.png", "clip_00001_.png")
    assert await client.view(first) != await client.view(other)
    assert await client.view(repeat) == await client.view(first)
    assert [execution["cached"] for execution in fake.executions] == [False, False, True]


async def test_rejected_prompts_say_what_to_fix(fake: FakeComfyUI, client: ComfyClient) -> None:
    bad_width = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": -5, "height": 64, "batch_size": 1, "color": 0}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
    }
    with pytest.raises(PromptRejected) as rejected:
        await client.queue_prompt(bad_width, prompt_id="p1", client_id="c")
    assert rejected.value.message == "Node 1 (EmptyImage), input width: Value -5 smaller than min of 1"
    assert rejected.value.error_type == "prompt_outputs_failed_validation" and rejected.value.kind == "rejected"
    assert not rejected.value.retryable and rejected.value.node_errors["1"]["class_type"] == "EmptyImage"

    with pytest.raises(PromptRejected) as rejected:
        await client.queue_prompt(txt2img(checkpoint="missing.safetensors"), prompt_id="p2", client_id="c")
    assert rejected.value.message.startswith("Node 1 (CheckpointLoaderSimple), input ckpt_name: Value not in list")
    assert "'missing.safetensors' is not available on this server" in rejected.value.message

    with pytest.raises(PromptRejected) as rejected:
        await client.queue_prompt({"1": bad_width["1"]}, prompt_id="p3", client_id="c")
    assert rejected.value.message == "Prompt has no outputs: add an output node such as Save Image"

    face_swap = txt2img()
    face_swap["8"] = {"class_type": "ReActorFaceSwap", "inputs": {"input_image": ["6", 0]}}
    with pytest.raises(PromptRejected) as rejected:
        await client.queue_prompt(face_swap, prompt_id="p4", client_id="c")
    assert rejected.value.error_type == "invalid_prompt"
    assert rejected.value.message == (
        "Cannot execute because node ReActorFaceSwap does not exist. "
        "Install the custom node on this server or use another server."
    )
    assert fake.executions == []


async def test_an_execution_error_reaches_the_events_and_the_history(fake: FakeComfyUI, client: ComfyClient) -> None:
    fake.fail_next = 1
    events = await listen(client, "c")
    await client.queue_prompt(txt2img(), prompt_id="doomed", client_id="c")
    seen = await until_done(events, "doomed")
    await events.aclose()
    failure = next(event for event in seen if isinstance(event, WsEvent) and event.type == "execution_error")
    expected = (
        "Node 1 (CheckpointLoaderSimple) failed: SafetensorError: Error while deserializing header: header too large"
    )
    assert ExecutionError.from_message(failure.data).message == expected
    entry = await client.history("doomed")
    assert entry is not None and not entry.completed and entry.status_str == "error" and entry.outputs == []
    assert entry.error is not None and entry.error.message == expected


async def test_interrupt_stops_only_the_named_running_prompt(fake: FakeComfyUI, client: ComfyClient) -> None:
    fake.stall_next = 1
    events = await listen(client, "c")
    await client.queue_prompt(txt2img(1), prompt_id="wedged", client_id="c")
    await client.queue_prompt(txt2img(2), prompt_id="next", client_id="c")
    await wait_running(client, "wedged")
    await client.interrupt("someone-elses")  # not running: nothing happens
    assert (await client.queue()).running == ["wedged"]
    await client.interrupt("wedged")
    seen = await until_done(events, "next")
    await events.aclose()
    interrupted = [event for event in seen if isinstance(event, WsEvent) and event.type == "execution_interrupted"]
    assert [event.data["prompt_id"] for event in interrupted] == ["wedged"]
    entry = await client.history("wedged")
    assert entry is not None and entry.interrupted and not entry.completed
    assert [(record["prompt_id"], record["applied"]) for record in fake.interrupts] == [
        ("someone-elses", False),
        ("wedged", True),
    ]
    with pytest.raises(ValueError):
        await client.interrupt("")


async def test_a_pending_prompt_has_no_history_and_can_be_deleted(fake: FakeComfyUI, client: ComfyClient) -> None:
    fake.stall_next = 1
    await client.queue_prompt(txt2img(1), prompt_id="running", client_id="c")
    await client.queue_prompt(txt2img(2), prompt_id="waiting", client_id="c")
    await wait_running(client, "running")
    assert await client.history("waiting") is None
    assert await client.history("never-seen") is None
    assert (await client.queue()).pending == ["waiting"]
    assert await client.queue_remaining() == 2
    await client.delete_pending(["waiting"])
    assert (await client.queue()).pending == []
    assert fake.queue_deletes[-1]["deleted"] == ["waiting"]
    await client.interrupt("running")
    async with asyncio.timeout(5):
        while await client.history("running") is None:
            await asyncio.sleep(0.01)
    assert [execution["prompt_id"] for execution in fake.executions] == ["running"]


async def test_delete_history_forgets_finished_prompts(fake: FakeComfyUI, client: ComfyClient) -> None:
    events = await listen(client, "c")
    await client.queue_prompt(txt2img(), prompt_id="done", client_id="c")
    await until_done(events, "done")
    await events.aclose()
    assert await client.history("done") is not None
    await client.delete_history(["done"])
    assert await client.history("done") is None
    assert fake.history_deletes[-1]["delete"] == ["done"]


async def test_upload_image_returns_what_load_image_takes(fake: FakeComfyUI, client: ComfyClient) -> None:
    face = b"\x89PNG fake face"
    assert await client.upload_image("face.png", face) == "storycanvas/face.png"
    assert fake.uploads[-1]["name"] == "face.png" and fake.uploads[-1]["subfolder"] == "storycanvas"
    assert fake.file_bytes("face.png", "storycanvas", "input") == face
    load_image = (await client.object_info())["LoadImage"]["input"]["required"]["image"][0]
    assert "storycanvas/face.png" in load_image


async def test_video_outputs_are_real_videos(fake: FakeComfyUI, client: ComfyClient) -> None:
    graph = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 96, "height": 64, "batch_size": 8, "color": 255}},
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 8.0}},
        "3": {
            "class_type": "SaveVideo",
            "inputs": {"video": ["2", 0], "filename_prefix": "video/clip", "format": "auto", "codec": "auto"},
        },
        "4": {
            "class_type": "SaveAnimatedWEBP",
            "inputs": {
                "images": ["1", 0],
                "filename_prefix": "clip",
                "fps": 8.0,
                "lossless": False,
                "quality": 80,
                "method": "default",
            },
        },
        "5": {
            "class_type": "SaveWEBM",
            "inputs": {"images": ["1", 0], "filename_prefix": "web", "codec": "vp9", "fps": 8.0, "crf": 32.0},
        },
    }
    events = await listen(client, "c")
    await client.queue_prompt(graph, prompt_id="video", client_id="c")
    await until_done(events, "video")
    await events.aclose()
    entry = await client.history("video")
    assert entry is not None and entry.succeeded
    assert entry.raw["outputs"]["3"]["animated"] == [True]
    files = {file.node_id: file for file in entry.outputs}
    assert (files["3"].subfolder, files["3"].filename, files["3"].media) == ("video", "clip_00001_.mp4", "video")
    assert files["4"].filename == "clip_00001_.webp" and files["4"].media == "video"  # animated
    assert files["5"].filename == "web_00001_.webm" and files["5"].media == "video"
    assert (await client.view(files["3"]))[4:8] == b"ftyp"
    assert (await client.view(files["5"]))[:4] == b"\x1a\x45\xdf\xa3"
    assert getattr(Image.open(io.BytesIO(await client.view(files["4"]))), "is_animated", False)


async def test_an_api_key_is_required_when_the_server_has_one(fake: FakeComfyUI) -> None:
    fake.api_key = "sesame"
    async with ComfyClient(fake.url, timeout=5) as anonymous:
        with pytest.raises(ComfyError) as error:
            await anonymous.system_stats()
        assert error.value.kind == "unauthorized" and error.value.status_code == 401 and not error.value.retryable
        with pytest.raises(ComfyError) as error:
            await anext(anonymous.events("c"))
        assert error.value.kind == "unauthorized"
    async with ComfyClient(fake.url, "sesame", timeout=5) as keyed:
        assert (await keyed.system_stats()).comfyui_version == "0.3.64"
        events = await listen(keyed, "c")
        await events.aclose()


async def test_server_errors_and_outages_are_retryable(fake: FakeComfyUI, client: ComfyClient) -> None:
    fake.http_error_status = 503
    with pytest.raises(ComfyError) as error:
        await client.queue_prompt(txt2img(), prompt_id="p", client_id="c")
    assert (error.value.kind, error.value.status_code, error.value.retryable) == ("http", 503, True)
    fake.http_error_status = None

    events = await listen(client, "c")
    await client.queue_prompt(txt2img(), prompt_id="kept", client_id="c")
    await until_done(events, "kept")
    fake.go_down()
    assert [event async for event in events] == []  # the stream ends when the server goes away
    with pytest.raises(ComfyError) as error:
        await client.history("kept")
    assert error.value.kind == "refused" and error.value.retryable
    fake.come_up()
    assert await client.history("kept") is not None
    fake.come_up(lose_state=True)
    assert await client.history("kept") is None


async def test_events_end_when_the_server_drops_the_websocket(fake: FakeComfyUI, client: ComfyClient) -> None:
    events = await listen(client, "c")
    fake.drop_ws()
    async with asyncio.timeout(5):
        assert [event async for event in events] == []


async def test_a_silent_websocket_stays_open_while_history_moves_on(fake: FakeComfyUI, client: ComfyClient) -> None:
    events = await listen(client, "c")
    fake.ws_silent = True
    await client.queue_prompt(txt2img(), prompt_id="quiet", client_id="c")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.4):
            await anext(events)
    entry = await client.history("quiet")
    assert entry is not None and entry.succeeded
    await events.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_connection_test_names_what_is_wrong(fake: FakeComfyUI) -> None:
    report = await test_connection(fake.url)
    assert report.ok and report.kind == "ok" and report.version == "0.3.64"
    assert report.message == "ComfyUI 0.3.64 · NVIDIA GeForce RTX 4090 (24.0 GB VRAM)"

    refused = await test_connection(f"http://127.0.0.1:{_closed_port()}")
    assert (refused.ok, refused.kind) == (False, "refused") and "--listen" in refused.message

    dns = await test_connection("http://gpu-box.invalid:8188")
    assert dns.kind == "dns" and "gpu-box.invalid" in dns.message

    tls = await test_connection(fake.url.replace("http://", "https://"))
    assert tls.kind == "tls" and "http://" in tls.message

    fake.version = "0.2.7"
    old = await test_connection(fake.url)
    assert (old.ok, old.kind, old.version) == (False, "version", "0.2.7") and "update ComfyUI" in old.message
    fake.version = "0.3.64"

    fake.api_key = "sesame"
    assert (await test_connection(fake.url)).kind == "unauthorized"
    assert (await test_connection(fake.url, "wrong")).kind == "unauthorized"
    assert (await test_connection(fake.url, "sesame")).ok
    fake.api_key = None

    fake.not_comfyui = True
    impostor = await test_connection(fake.url)
    assert impostor.kind == "not_comfyui" and "not like ComfyUI" in impostor.message
    fake.not_comfyui = False

    fake.slow_seconds = 1.0
    slow = await test_connection(fake.url, timeout=0.3)
    assert slow.kind == "timeout" and "0.3 s" in slow.message

    assert (await test_connection("gpu1:8188")).kind == "protocol"


async def test_the_fake_runs_as_a_subprocess_controlled_over_http() -> None:
    command = [sys.executable, "-m", "tests.fakes.fake_comfyui", "--port", "0", "--checkpoints", "a.safetensors"]
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=20)
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.post("/__fake__/config", json={"version": "0.2.0", "loras": ["ink.safetensors"]})
            assert answer.json()["loras"] == ["ink.safetensors"]
            assert (await http.post("/__fake__/config", json={"no_such_knob": 1})).status_code == 400
            report = await test_connection(url)
            assert report.kind == "version"
            async with ComfyClient(url) as comfy:
                assert (await fetch_catalog(comfy)).checkpoints == ["a.safetensors"]
            log = (await http.get("/__fake__/log")).json()
            assert set(log) >= {"prompts", "executions", "interrupts", "views", "uploads"}
            assert json.dumps(log)
            await http.post("/__fake__/config", json={"refuse": True})
            await asyncio.sleep(0.5)
            assert (await test_connection(url)).kind == "refused"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_round_of_new_clients_costs_no_tls_setup_and_still_verifies_certificates(fake: FakeComfyUI) -> None:
    """A health round makes a client per server: each loading the CA bundle again took seconds of CPU with 64."""
    started = time.process_time()
    clients = [ComfyClient(fake.url, timeout=5) for _ in range(100)]
    spent = time.process_time() - started
    try:
        assert spent < 0.1, f"100 clients took {spent * 1000:.0f} ms of CPU"
        answers = await asyncio.gather(*(client.system_stats() for client in clients[:3]))
        assert all(answer.comfyui_version == "0.3.64" for answer in answers)
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
