"""The fake ComfyUI answers in the shapes a real ComfyUI 0.3.64 answered when the samples were captured.

Shapes are compared recursively: dict keys, value types, homogeneous lists by their first element,
tuple-like lists ([number, id, graph, extra_data, outputs]) element by element, and dicts keyed by
node or prompt ids by their values. A `null` in a sample accepts any value (a GPU has an index where
the captured CPU had none). If the fake drifts from the captures, these tests fail.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.fakes.fake_comfyui import FakeComfyUI, load_capture


def _is_id_keyed(mapping: dict[str, Any]) -> bool:
    """Node ids ("1", "3") or prompt ids (uuids): the keys are data, not field names."""

    def is_id(key: str) -> bool:
        if key.isdigit():
            return True
        try:
            uuid.UUID(key)
        except ValueError:
            return False
        return True

    return bool(mapping) and all(is_id(key) for key in mapping)


def _shape_of(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape_of(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape_of(item) for item in value]
    return type(value).__name__


def assert_same_shape(actual: Any, expected: Any, path: str = "$") -> None:
    if expected is None:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {type(actual).__name__}"
        if _is_id_keyed(expected):
            first = next(iter(expected.values()))
            for key, item in actual.items():
                assert_same_shape(item, expected.get(key, first), f"{path}.{key}")
            return
        if "class_type" in expected and "inputs" in expected:
            # A graph node echoed back: its inputs are the client's data, not part of the protocol.
            assert set(actual) == set(expected), f"{path}: graph node keys {sorted(actual)}"
            assert isinstance(actual["inputs"], dict), f"{path}.inputs: expected an object"
            return
        assert set(actual) == set(expected), (
            f"{path}: keys differ; missing {sorted(set(expected) - set(actual))}, "
            f"extra {sorted(set(actual) - set(expected))}"
        )
        for key, item in expected.items():
            assert_same_shape(actual[key], item, f"{path}.{key}")
        return
    if isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {type(actual).__name__}"
        if not expected or not actual:
            return
        shapes = [json.dumps(_shape_of(item), sort_keys=True) for item in expected]
        if len(set(shapes)) == 1:
            for index, item in enumerate(actual):
                assert_same_shape(item, expected[0], f"{path}[{index}]")
            return
        assert len(actual) == len(expected), f"{path}: expected {len(expected)} elements, got {len(actual)}"
        for index, (item, sample) in enumerate(zip(actual, expected, strict=True)):
            assert_same_shape(item, sample, f"{path}[{index}]")
        return
    assert type(actual) is type(expected), f"{path}: expected {type(expected).__name__}, got {type(actual).__name__}"


def test_the_shape_comparison_notices_drift() -> None:
    sample = load_capture("history_success.json")
    drifted = load_capture("history_success.json")
    entry = next(iter(drifted.values()))
    entry["status"]["completed"] = "yes"
    with pytest.raises(AssertionError, match="completed"):
        assert_same_shape(drifted, sample)
    del entry["status"]["completed"]
    with pytest.raises(AssertionError, match="missing"):
        assert_same_shape(drifted, sample)
    missing_file_key = load_capture("history_success.json")
    del next(iter(missing_file_key.values()))["outputs"]["2"]["images"][1]["subfolder"]
    with pytest.raises(AssertionError, match="subfolder"):
        assert_same_shape(missing_file_key, sample)


@pytest.fixture
def fake() -> Iterator[FakeComfyUI]:
    with FakeComfyUI(checkpoints=["dreamshaper_8.safetensors"], job_seconds=0.05) as server:
        yield server


def _graph(capture: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The prompt id, graph and extra_data of a captured history entry."""
    prompt_id, entry = next(iter(load_capture(capture).items()))
    _, _, graph, extra_data, _ = entry["prompt"]
    extra_data = {key: value for key, value in extra_data.items() if key != "client_id"}
    return prompt_id, graph, extra_data


async def _collect(url: str, client_id: str, until_prompt: str, start: Any) -> list[Any]:
    """Raw websocket messages (binary frames as {"binary": n}) until `executing` null for until_prompt."""
    messages: list[Any] = []
    ws_url = url.replace("http://", "ws://") + f"/ws?clientId={client_id}"
    async with asyncio.timeout(10), connect(ws_url) as websocket:
        messages.append(json.loads(await websocket.recv()))
        await start()
        async for frame in websocket:
            if isinstance(frame, bytes):
                messages.append({"binary": len(frame)})
                continue
            message = json.loads(frame)
            messages.append(message)
            data = message["data"]
            if message["type"] == "executing" and data.get("node") is None and data.get("prompt_id") == until_prompt:
                return messages
    return messages


async def _post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.post(path, json=body)


async def _get(url: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get(path)
        response.raise_for_status()
        return response.json()


async def test_system_stats_has_the_captured_shape(fake: FakeComfyUI) -> None:
    assert_same_shape(await _get(fake.url, "/system_stats"), load_capture("system_stats.json"))
    fake.gpu_name = None  # a CPU-only server, like the one captured
    stats = await _get(fake.url, "/system_stats")
    assert _shape_of(stats) == _shape_of(load_capture("system_stats.json"))


async def test_object_info_entries_have_the_captured_shape(fake: FakeComfyUI) -> None:
    object_info = await _get(fake.url, "/object_info")
    for node, definition in load_capture("object_info_subset.json").items():
        assert_same_shape(object_info[node], definition, f"$.{node}")
    with_models = await _get(fake.url, "/object_info/CheckpointLoaderSimple")
    assert with_models == load_capture("object_info_CheckpointLoaderSimple_with_models.json")


async def test_a_successful_run_sends_the_captured_messages_and_history(fake: FakeComfyUI) -> None:
    captured_id, graph, _ = _graph("history_success.json")
    prompt_id, client_id = str(uuid.uuid4()), str(uuid.uuid4())

    async def start() -> None:
        response = await _post(fake.url, "/prompt", {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id})
        assert response.status_code == 200
        assert_same_shape(response.json(), {"prompt_id": captured_id, "number": 2, "node_errors": {}})

    messages = await _collect(fake.url, client_id, prompt_id, start)
    sample = load_capture("ws_messages.json")
    assert [message.get("type") for message in messages] == [message["type"] for message in sample]
    for index, (message, expected) in enumerate(zip(messages, sample, strict=True)):
        assert_same_shape(message, expected, f"$[{index}]<{expected['type']}>")

    history = await _get(fake.url, f"/history/{prompt_id}")
    expected_history = load_capture("history_success.json")
    assert_same_shape(history, expected_history)
    assert history[prompt_id]["outputs"] == expected_history[captured_id]["outputs"]
    assert_same_shape(await _get(fake.url, "/history"), expected_history)


async def test_a_failing_run_sends_the_captured_error_and_history(fake: FakeComfyUI) -> None:
    _, graph, _ = _graph("history_error.json")
    prompt_id, client_id = str(uuid.uuid4()), str(uuid.uuid4())
    fake.fail_next = 1

    async def start() -> None:
        body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        assert (await _post(fake.url, "/prompt", body)).status_code == 200

    messages = await _collect(fake.url, client_id, prompt_id, start)
    sample = load_capture("ws_execution_error.json")
    first = next(index for index, message in enumerate(messages) if message.get("type") == "progress_state")
    run = messages[first : first + len(sample)]
    assert [message["type"] for message in run] == [message["type"] for message in sample]
    for index, (message, expected) in enumerate(zip(run, sample, strict=True)):
        assert_same_shape(message, expected, f"$[{index}]<{expected['type']}>")
    assert run[-1]["data"]["exception_message"] == sample[-1]["data"]["exception_message"]
    assert_same_shape(await _get(fake.url, f"/history/{prompt_id}"), load_capture("history_error.json"))


async def test_an_interrupted_run_matches_the_captured_interrupt_then_next(fake: FakeComfyUI) -> None:
    _, graph, extra_data = _graph("history_interrupted.json")
    prompt_id, next_id, client_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    fake.stall_next = 1
    next_graph = json.loads(json.dumps(graph).replace('"color": 0', '"color": 1'))

    async def start() -> None:
        body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id, "extra_data": extra_data}
        assert (await _post(fake.url, "/prompt", body)).status_code == 200
        next_extra = {"storycanvas_job": 1}
        body = {"prompt": next_graph, "client_id": client_id, "prompt_id": next_id, "extra_data": next_extra}
        assert (await _post(fake.url, "/prompt", body)).status_code == 200
        for _ in range(200):
            queue = await _get(fake.url, "/queue")
            if queue["queue_running"] and fake.executions == [] and fake.running_node == "3":
                break
            await asyncio.sleep(0.01)
        assert_same_shape(queue, load_capture("queue_busy.json"))
        assert (await _post(fake.url, "/interrupt", {"prompt_id": prompt_id})).status_code == 200

    messages = await _collect(fake.url, client_id, next_id, start)
    sample = [message for message in load_capture("ws_interrupt_then_next.json") if message["type"] != "status"]
    observed = [message for message in messages if message.get("type") != "status"]
    start_index = next(index for index, message in enumerate(observed) if message["type"] == "execution_start")
    observed = observed[start_index:]
    sample = sample[next(index for index, message in enumerate(sample) if message["type"] == "execution_start") :]
    # The sample ends while the next prompt still runs: compare that far.
    observed = observed[: len(sample)]
    assert [message["type"] for message in observed] == [message["type"] for message in sample]
    for index, (message, expected) in enumerate(zip(observed, sample, strict=True)):
        assert_same_shape(message, expected, f"$[{index}]<{expected['type']}>")
    interrupted = next(message for message in observed if message["type"] == "execution_interrupted")
    assert interrupted["data"]["node_id"] == "3" and interrupted["data"]["executed"] == ["1"]
    assert_same_shape(await _get(fake.url, f"/history/{prompt_id}"), load_capture("history_interrupted.json"))


async def test_validation_errors_are_the_captured_answers(fake: FakeComfyUI) -> None:
    graph = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": -5, "height": 64, "batch_size": 1, "color": 0}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    response = await _post(fake.url, "/prompt", {"prompt": graph, "client_id": "c"})
    assert response.status_code == 400
    assert response.json() == load_capture("prompt_validation_error.json")

    no_output = {"1": graph["1"]}
    response = await _post(fake.url, "/prompt", {"prompt": no_output, "client_id": "c"})
    assert response.status_code == 400
    assert response.json() == load_capture("prompt_no_output_error.json")
