"""A fake ComfyUI server built from the captured protocol samples in tests/fakes/captures/.

It answers the endpoints StoryCanvas uses field for field like ComfyUI 0.3.64, validates prompts
the way ComfyUI does, runs them one at a time (websocket messages, preview frames, history,
output files that depend on the graph, a whole-graph cache) and can misbehave on demand through
knobs: attributes in-process, or POST /__fake__/config for a fake started as a subprocess
(`python -m tests.fakes.fake_comfyui --port 8188`). GET /__fake__/log returns the records.
`hang()`/`wake()` (knob `hung`) act as SIGSTOP/SIGCONT of the process: connections are accepted,
nothing answers, the websocket is silent and the running prompt's clock stops until it wakes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import json
import re
import signal
import struct
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from tests.fakes import fake_media
from tests.fakes.fake_comfyui_graph import (
    MODEL_INPUTS,
    execution_order,
    is_link,
    load_capture,
    object_info,
    output_nodes,
    upstream,
    validate,
)
from tests.fakes.fake_server_thread import BackgroundServer

DEFAULT_CHECKPOINTS = ["dreamshaper_8.safetensors", "sdxl_base.safetensors"]
GIB = 2**30
SAMPLERS = frozenset({"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"})
MODEL_FOLDERS = {"checkpoints": "checkpoints", "loras": "loras", "vae": "vaes", "embeddings": "embeddings"}
MODEL_FOLDERS["upscale_models"] = "upscalers"
MODEL_FOLDERS["diffusion_models"] = "diffusion_models"
OTHER_FOLDERS = ["configs", "text_encoders", "clip_vision", "style_models", "controlnet"]
KNOBS = [
    *("job_seconds", "checkpoints", "loras", "vaes", "embeddings", "upscalers", "extra_node_types", "api_key"),
    "diffusion_models",
    *("version", "gpu_name", "vram_total", "fail_next", "stall_next", "slow_seconds", "http_error_status", "refuse"),
    *("ws_silent", "preview_frames", "not_comfyui", "preview_with_metadata"),
    *("fail_exception_type", "fail_exception_message", "reject_next", "reject_message"),
    "bad_output",
    "hung",
]
CONTROL_PREFIX = "/__fake__"
MAX_SIDE = 64
MAX_BATCH = 8


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Prompt:
    number: int | float
    prompt_id: str
    graph: dict[str, Any]
    extra_data: dict[str, Any]
    outputs: list[str]
    client_id: str | None
    fail: bool
    stall: bool
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    current_node: str | None = None

    def queue_item(self) -> list[Any]:
        return [self.number, self.prompt_id, self.graph, self.extra_data, self.outputs]


@dataclass(eq=False)
class _Socket:
    client_id: str
    queue: asyncio.Queue[Any]


class _Interrupted(Exception):
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id


class _Gate:
    """ASGI middleware for the knobs that act before ComfyUI would: delay, errors, API key, impostor."""

    def __init__(self, app: ASGIApp, fake: FakeComfyUI) -> None:
        self.app = app
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        fake = self.fake
        await fake.until_awake()  # hung: the connection is accepted, the request waits unanswered
        if fake.slow_seconds:
            await asyncio.sleep(fake.slow_seconds)
        status, body, content_type = None, b"", "text/plain"
        headers = dict(scope.get("headers") or [])
        if fake.http_error_status:
            status, body = int(fake.http_error_status), f"{fake.http_error_status}: Server Error".encode()
        elif fake.api_key and headers.get(b"authorization", b"").decode() != f"Bearer {fake.api_key}":
            status, body = 401, b"401: Unauthorized"
        elif fake.not_comfyui and scope["type"] == "http":
            status, content_type = 200, "text/html"
            body = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>"
        if status is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await Response(body, status_code=status, media_type=content_type)(scope, receive, send)
        elif "websocket.http.response" in scope.get("extensions", {}):
            response_headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
            await send({"type": "websocket.http.response.start", "status": status, "headers": response_headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})


class FakeComfyUI:
    """See the module docstring; knobs are plain attributes (KNOBS) plus `refuse`."""

    def __init__(
        self,
        *,
        port: int = 0,
        job_seconds: float = 0.05,
        checkpoints: list[str] | None = None,
        loras: list[str] | None = None,
        vaes: list[str] | None = None,
        embeddings: list[str] | None = None,
        upscalers: list[str] | None = None,
        extra_node_types: list[str] | None = None,
        api_key: str | None = None,
        diffusion_models: list[str] | None = None,
        version: str = "0.3.64",
        gpu_name: str | None = "NVIDIA GeForce RTX 4090",
        vram_total: int = 24 * GIB,
        fail_next: int = 0,
        stall_next: int = 0,
        slow_seconds: float = 0.0,
        http_error_status: int | None = None,
        ws_silent: bool = False,
        preview_frames: int = 2,
        not_comfyui: bool = False,
        preview_with_metadata: bool = False,
        fail_exception_type: str | None = None,
        fail_exception_message: str | None = None,
        reject_next: int = 0,
        reject_message: str = "Value not in list",
        bad_output: str | None = None,
    ) -> None:
        self.job_seconds = job_seconds
        self.checkpoints = list(DEFAULT_CHECKPOINTS if checkpoints is None else checkpoints)
        self.loras = list(loras or [])
        self.vaes = list(vaes or [])
        self.embeddings = list(embeddings or [])
        self.upscalers = list(upscalers or [])
        self.diffusion_models = list(diffusion_models or [])
        self.extra_node_types = list(extra_node_types or [])
        self.api_key = api_key
        self.version = version
        self.gpu_name = gpu_name
        self.vram_total = vram_total
        self.fail_next = fail_next
        self.stall_next = stall_next
        self.slow_seconds = slow_seconds
        self.http_error_status = http_error_status
        self.ws_silent = ws_silent
        self.preview_frames = preview_frames
        self.not_comfyui = not_comfyui
        self.preview_with_metadata = preview_with_metadata
        # "empty", "truncated", "executable" or "bomb": what SaveImage writes instead (fake_media.bad_image)
        self.bad_output = bad_output
        sample_error = load_capture("ws_execution_error.json")[-1]["data"]
        self.fail_exception_type = fail_exception_type or sample_error["exception_type"]
        self.fail_exception_message = fail_exception_message or sample_error["exception_message"]
        self._traceback: list[str] = sample_error["traceback"]
        # The next `reject_next` prompts are refused at POST /prompt with a node error saying `reject_message`.
        self.reject_next = reject_next
        self.reject_message = reject_message
        # Records for assertions.
        self.prompts: list[dict[str, Any]] = []
        self.executions: list[dict[str, Any]] = []
        self.interrupts: list[dict[str, Any]] = []
        self.queue_deletes: list[dict[str, Any]] = []
        self.history_deletes: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []
        self._reset_state()
        self._sockets: set[_Socket] = set()
        self._object_info_cache: tuple[Any, bytes, dict[str, Any]] | None = None
        self._switch: asyncio.Future[None] | None = None
        self._server = BackgroundServer(_Gate(self._app(), self), port=port)
        self._worker: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        # Hung (like a process stopped with SIGSTOP): connections are accepted but nothing answers,
        # the websocket goes silent and the running prompt's clock stops until it is woken.
        self._hung = False
        self._awake: asyncio.Event | None = None
        self._hanging: asyncio.Event | None = None

    def _reset_state(self) -> None:
        self._number = 0
        self._pending: list[_Prompt] = []
        self._running: _Prompt | None = None
        self._history: dict[str, dict[str, Any]] = {}
        self._files: dict[tuple[str, str, str], bytes] = {}
        self._cache: dict[str, dict[str, Any]] = {}

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> FakeComfyUI:
        self._server.start()
        self._server.call(self._start_worker())
        return self

    def stop(self) -> None:
        if self._hung:  # requests waiting on a hung fake are answered, so it can shut down cleanly
            self.wake()
        if self._worker is not None:
            with contextlib.suppress(Exception):
                self._server.call(self._stop_worker())
        self._server.stop()

    def __enter__(self) -> FakeComfyUI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _start_worker(self) -> None:
        self._wakeup = asyncio.Event()
        if self._awake is None or self._hanging is None:
            self._awake, self._hanging = asyncio.Event(), asyncio.Event()
            self._set_hung(self._hung)
        self._worker = asyncio.ensure_future(self._work())

    async def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(BaseException):
                await self._worker
            self._worker = None

    def go_down(self) -> None:
        """Connections are refused from now on; queue, history and the running prompt carry on."""
        self._server.down()

    def come_up(self, lose_state: bool = False) -> None:
        """Listens again on the same port; lose_state=True is a restart that forgot every prompt."""
        if lose_state:
            self._server.call(self._restart())
        self._server.up()

    async def _restart(self) -> None:
        await self._server.down_async()
        await self._stop_worker()
        self._reset_state()
        await self._start_worker()

    @property
    def refuse(self) -> bool:
        return not self._server.is_up

    @refuse.setter
    def refuse(self, value: bool) -> None:
        if self._server.in_loop():
            self._switch = asyncio.ensure_future(self._server.down_async() if value else self._server.up_async())
        elif value:
            self.go_down()
        else:
            self.come_up()

    def hang(self) -> None:
        """Stop answering, as a process stopped with SIGSTOP: connections are accepted, requests wait
        unanswered, the websocket says nothing and the running prompt makes no progress."""
        self.hung = True

    def wake(self) -> None:
        """Carry on where it stopped (SIGCONT): waiting requests are answered, the running prompt goes on."""
        self.hung = False

    @property
    def hung(self) -> bool:
        return self._hung

    @hung.setter
    def hung(self, value: bool) -> None:
        if self._awake is None or self._server.in_loop():
            self._set_hung(bool(value))
        else:
            self._server.call(self._set_hung_async(bool(value)))

    async def _set_hung_async(self, value: bool) -> None:
        self._set_hung(value)

    def _set_hung(self, value: bool) -> None:
        self._hung = value
        if self._awake is None or self._hanging is None:
            return
        if value:
            self._awake.clear()
            self._hanging.set()
        else:
            self._hanging.clear()
            self._awake.set()

    async def until_awake(self) -> None:
        """Returns at once unless hung; then when woken."""
        if self._hung and self._awake is not None:
            await self._awake.wait()

    def drop_ws(self) -> None:
        """Closes every websocket now (clients must reconnect)."""
        if self._server.in_loop():
            self._drop_all()
        else:
            self._server.call(self._drop_async())

    async def _drop_async(self) -> None:
        self._drop_all()

    def _drop_all(self) -> None:
        for sock in list(self._sockets):
            sock.queue.put_nowait(None)

    # -- views for tests ----------------------------------------------------------------------

    @property
    def running_prompt_id(self) -> str | None:
        running = self._running
        return running.prompt_id if running else None

    @property
    def running_node(self) -> str | None:
        """The node the running prompt is executing (a stalled prompt stays in one)."""
        running = self._running
        return running.current_node if running else None

    @property
    def pending_prompt_ids(self) -> list[str]:
        return [prompt.prompt_id for prompt in list(self._pending)]

    @property
    def history_ids(self) -> list[str]:
        return list(self._history)

    def file_bytes(self, filename: str, subfolder: str = "", type: str = "output") -> bytes | None:
        return self._files.get((type, subfolder, filename))

    def records(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "prompts": self.prompts,
            "executions": self.executions,
            "interrupts": self.interrupts,
            "queue_deletes": self.queue_deletes,
            "history_deletes": self.history_deletes,
            "views": self.views,
            "uploads": self.uploads,
        }

    def configure(self, **knobs: Any) -> None:
        unknown = set(knobs) - set(KNOBS)
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        for name, value in knobs.items():
            setattr(self, name, value)

    def uploaded_file(self, name: str, subfolder: str = "", kind: str = "input") -> bytes | None:
        """The bytes POST /upload/image stored under this name, as LoadImage would read them."""
        return self._files.get((kind, subfolder, name))

    # -- node definitions ---------------------------------------------------------------------

    def object_info(self) -> dict[str, Any]:
        return self._object_info()[1]

    def _object_info(self) -> tuple[bytes, dict[str, Any]]:
        uploads = sorted(f"{sub}/{name}" if sub else name for kind, sub, name in self._files if kind == "input")
        files = {knob: list(getattr(self, knob)) for knob in set(MODEL_INPUTS.values())}
        signature = json.dumps([files, uploads, self.extra_node_types], sort_keys=True)
        if self._object_info_cache is None or self._object_info_cache[0] != signature:
            info = object_info(files, uploads, self.extra_node_types)
            self._object_info_cache = (signature, json.dumps(info).encode(), info)
        return self._object_info_cache[1], self._object_info_cache[2]

    # -- validation ---------------------------------------------------------------------------

    # -- websocket fan-out --------------------------------------------------------------------

    def _put(self, message: Any, client_id: str | None) -> None:
        for sock in list(self._sockets):
            if client_id is None or sock.client_id == client_id:
                sock.queue.put_nowait(message)

    def _send(self, prompt: _Prompt, kind: str, data: dict[str, Any]) -> None:
        self._put(json.dumps({"type": kind, "data": data}), prompt.client_id)

    def _queue_remaining(self) -> int:
        return len(self._pending) + (1 if self._running else 0)

    def _broadcast_status(self) -> None:
        status = {"status": {"exec_info": {"queue_remaining": self._queue_remaining()}}}
        self._put(json.dumps({"type": "status", "data": status}), None)

    def _preview(self, prompt: _Prompt, node_id: str, step: int) -> bytes:
        image = fake_media.jpeg_bytes(32, 32, seed=f"{prompt.prompt_id}:{node_id}:{step}")
        if not self.preview_with_metadata:
            return struct.pack(">II", 1, 1) + image
        metadata = {
            "image_type": "image/jpeg",
            "node_id": node_id,
            "display_node_id": node_id,
            "parent_node_id": None,
            "real_node_id": node_id,
            "prompt_id": prompt.prompt_id,
        }
        encoded = json.dumps(metadata).encode()
        return struct.pack(">II", 4, len(encoded)) + encoded + image

    # -- the worker ---------------------------------------------------------------------------

    async def _work(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self.until_awake()
            if not self._pending:
                continue
            prompt = self._pending.pop(0)
            self._running = prompt
            try:
                await self._execute(prompt)
            finally:
                self._running = None

    async def _pause(self, prompt: _Prompt, seconds: float | None, node_id: str) -> None:
        """Works for `seconds` (None: until interrupted); the clock stops while the fake is hung."""
        remaining = seconds
        loop = asyncio.get_running_loop()
        while True:
            if prompt.interrupted.is_set():
                raise _Interrupted(node_id)
            await self.until_awake()
            if remaining is not None and remaining <= 0:
                return
            started = loop.time()
            interrupted = asyncio.ensure_future(prompt.interrupted.wait())
            hanging = asyncio.ensure_future(self._hanging.wait()) if self._hanging is not None else None
            waiting = {interrupted} | ({hanging} if hanging is not None else set())
            done, _ = await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            for task in waiting - done:
                task.cancel()
            if interrupted in done:
                raise _Interrupted(node_id)
            if hanging is None or hanging not in done:
                return
            if remaining is not None:
                remaining -= loop.time() - started

    async def _execute(self, prompt: _Prompt) -> None:
        started = time.time()
        pid = prompt.prompt_id
        self._broadcast_status()
        messages: list[list[Any]] = []

        def event(kind: str, data: dict[str, Any], *, keep: bool = False) -> None:
            self._send(prompt, kind, data)
            if keep:
                messages.append([kind, data])

        order = execution_order(prompt.graph, prompt.outputs)
        key = hashlib.sha256(json.dumps(prompt.graph, sort_keys=True).encode()).hexdigest()
        cached = None if prompt.fail or prompt.stall else self._cache.get(key)
        event("execution_start", {"prompt_id": pid, "timestamp": _now_ms()}, keep=True)
        cached_nodes = order if cached is not None else []
        event("execution_cached", {"nodes": cached_nodes, "prompt_id": pid, "timestamp": _now_ms()}, keep=True)
        outputs: dict[str, Any] = {}
        outcome = "success"
        try:
            if cached is not None:
                for node_id, ui in cached.items():
                    event("executed", {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": pid})
                outputs = copy.deepcopy(cached)
            else:
                produced = await self._run_nodes(prompt, order, event, key)
                if produced is None:
                    outcome = "error"
                else:
                    outputs = produced
        except _Interrupted as stop:
            outcome = "interrupted"
            node = prompt.graph.get(stop.node_id, {})
            executed = order[: order.index(stop.node_id)] if stop.node_id in order else []
            data = {"prompt_id": pid, "node_id": stop.node_id, "node_type": node.get("class_type")}
            event("execution_interrupted", {**data, "executed": executed, "timestamp": _now_ms()}, keep=True)
        if outcome == "success":
            event("execution_success", {"prompt_id": pid, "timestamp": _now_ms()}, keep=True)
            self._cache[key] = copy.deepcopy(outputs)
        meta = {
            node_id: {"node_id": node_id, "display_node": node_id, "parent_node": None, "real_node_id": node_id}
            for node_id in outputs
        }
        self._history[pid] = {
            "prompt": prompt.queue_item(),
            "outputs": outputs if outcome == "success" else {},
            "status": {"status_str": "success" if outcome == "success" else "error", "completed": outcome == "success"},
            "meta": meta if outcome == "success" else {},
        }
        self._history[pid]["status"]["messages"] = messages
        self._running = None
        ended = time.time()
        record = {"prompt_id": pid, "started_at": started, "ended_at": ended, "outcome": outcome}
        self.executions.append({**record, "cached": cached is not None})
        self._broadcast_status()
        self._send(prompt, "executing", {"node": None, "prompt_id": pid})

    async def _run_nodes(self, prompt: _Prompt, order: list[str], event: Any, key: str) -> dict[str, Any] | None:
        """Runs the nodes in order; None when the prompt failed (the error message is already out)."""
        pid = prompt.prompt_id
        states: dict[str, dict[str, Any]] = {}
        per_node = self.job_seconds / max(1, len(order))
        outputs: dict[str, Any] = {}
        # A stalled prompt hangs in the last node before its outputs, like a sampler that never returns.
        stall_node = next((node_id for node_id in reversed(order) if node_id not in prompt.outputs), order[0])

        def state(node_id: str, value: float, maximum: float, name: str) -> None:
            states[node_id] = {
                "value": value,
                "max": maximum,
                "state": name,
                "node_id": node_id,
                "prompt_id": pid,
                "display_node_id": node_id,
                "parent_node_id": None,
                "real_node_id": node_id,
            }
            event("progress_state", {"prompt_id": pid, "nodes": copy.deepcopy(states)})

        for index, node_id in enumerate(order):
            node = prompt.graph[node_id]
            prompt.current_node = node_id
            state(node_id, 0.0, 1.0, "running")
            event("executing", {"node": node_id, "display_node": node_id, "prompt_id": pid})
            if prompt.fail:
                current_inputs = {
                    name: [value] for name, value in (node.get("inputs") or {}).items() if not is_link(value)
                }
                event(
                    "execution_error",
                    {
                        "prompt_id": pid,
                        "node_id": node_id,
                        "node_type": node["class_type"],
                        "executed": order[:index],
                        "exception_message": self.fail_exception_message,
                        "exception_type": self.fail_exception_type,
                        "traceback": list(self._traceback),
                        "current_inputs": current_inputs,
                        "current_outputs": sorted(prompt.graph),
                        "timestamp": _now_ms(),
                    },
                    keep=True,
                )
                return None
            if prompt.stall and node_id == stall_node:
                await self._pause(prompt, None, node_id)  # wedged: only an interrupt gets it out
            if node["class_type"] in SAMPLERS:
                await self._sample(prompt, node_id, per_node, event)
                state(node_id, 1.0, 1.0, "running")
            else:
                await self._pause(prompt, per_node, node_id)
            ui = self._produce(prompt, node_id, key)
            if ui is not None:
                outputs[node_id] = ui
                event("executed", {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": pid})
            state(node_id, 1.0, 1.0, "finished")
        return outputs

    async def _sample(self, prompt: _Prompt, node_id: str, seconds: float, event: Any) -> None:
        steps = prompt.graph[node_id].get("inputs", {}).get("steps")
        steps = steps if isinstance(steps, int) and steps > 0 else 20
        updates = min(steps, 20)
        for update in range(1, updates + 1):
            await self._pause(prompt, seconds / updates, node_id)
            value = max(1, round(update * steps / updates))
            event("progress", {"value": value, "max": steps, "prompt_id": prompt.prompt_id, "node": node_id})
            if update > updates - self.preview_frames:
                self._put(self._preview(prompt, node_id, update), prompt.client_id)

    # -- outputs ------------------------------------------------------------------------------

    def _find_input(self, graph: dict[str, Any], node_id: str, name: str) -> Any:
        for source in reversed(upstream(graph, node_id)):
            value = (graph[source].get("inputs") or {}).get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    def _next_counter(self, kind: str, subfolder: str, name: str) -> int:
        pattern = re.compile(rf"^{re.escape(name)}_(\d{{5}})_\.")
        numbers = [
            int(match.group(1))
            for file_kind, file_subfolder, filename in self._files
            if file_kind == kind and file_subfolder == subfolder and (match := pattern.match(filename))
        ]
        return max(numbers, default=0) + 1

    def _produce(self, prompt: _Prompt, node_id: str, key: str) -> dict[str, Any] | None:
        """Writes the node's files like ComfyUI names them; the bytes depend on the whole graph."""
        graph = prompt.graph
        class_type = graph[node_id]["class_type"]
        inputs = graph[node_id].get("inputs") or {}
        width = self._find_input(graph, node_id, "width") or 64
        height = self._find_input(graph, node_id, "height") or 64
        scale = min(1.0, MAX_SIDE / max(width, height))
        width, height = max(2, round(width * scale)), max(2, round(height * scale))
        seed = f"{key}:{node_id}"
        if class_type in ("SaveImage", "PreviewImage"):
            kind = "output" if class_type == "SaveImage" else "temp"
            prefix = str(inputs.get("filename_prefix") or "ComfyUI")
            if kind == "temp":
                prefix = "ComfyUI_temp_" + hashlib.sha1(seed.encode()).hexdigest()[:5]
            batch = min(MAX_BATCH, self._find_input(graph, node_id, "batch_size") or 1)
            files = [(fake_media.png_bytes(width, height, seed=f"{seed}:{index}"), "png") for index in range(batch)]
            if self.bad_output and kind == "output":
                files = [(fake_media.bad_image(self.bad_output), "png")]
            return {"images": self._store(kind, prefix, files)}
        videos = {
            "SaveVideo": ("video/ComfyUI", "mp4", fake_media.mp4_bytes),
            "SaveWEBM": ("ComfyUI", "webm", fake_media.webm_bytes),
            "SaveAnimatedWEBP": ("ComfyUI", "webp", fake_media.animated_webp_bytes),
        }
        if class_type in videos:
            default_prefix, extension, make = videos[class_type]
            prefix = str(inputs.get("filename_prefix") or default_prefix)
            files = [(make(width, height, seed=seed), extension)]
            return {"images": self._store("output", prefix, files), "animated": [True]}
        return None

    def _store(self, kind: str, prefix: str, files: list[tuple[bytes, str]]) -> list[dict[str, Any]]:
        subfolder, _, name = prefix.rpartition("/")
        counter = self._next_counter(kind, subfolder, name)
        entries = []
        for offset, (data, extension) in enumerate(files):
            filename = f"{name}_{counter + offset:05}_.{extension}"
            self._files[(kind, subfolder, filename)] = data
            entries.append({"filename": filename, "subfolder": subfolder, "type": kind})
        return entries

    # -- HTTP ---------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        routes = [
            Route("/", self._index),
            Route("/system_stats", self._system_stats),
            Route("/object_info", self._object_info_all),
            Route("/object_info/{node}", self._object_info_one),
            Route("/models", self._model_folders),
            Route("/models/{folder}", self._models),
            Route("/prompt", self._get_prompt, methods=["GET"]),
            Route("/prompt", self._post_prompt, methods=["POST"]),
            Route("/queue", self._get_queue, methods=["GET"]),
            Route("/queue", self._post_queue, methods=["POST"]),
            Route("/interrupt", self._interrupt, methods=["POST"]),
            Route("/history", self._get_history, methods=["GET"]),
            Route("/history", self._post_history, methods=["POST"]),
            Route("/history/{prompt_id}", self._get_history_one),
            Route("/view", self._view),
            Route("/upload/image", self._upload, methods=["POST"]),
            WebSocketRoute("/ws", self._websocket),
            Route(f"{CONTROL_PREFIX}/config", self._config, methods=["POST"]),
            Route(f"{CONTROL_PREFIX}/log", self._log),
            Route(f"{CONTROL_PREFIX}/drop_ws", self._drop_ws_route, methods=["POST"]),
        ]
        return Starlette(routes=routes)

    async def _index(self, request: Request) -> Response:
        return HTMLResponse("<!DOCTYPE html><html><head><title>ComfyUI</title></head><body></body></html>")

    async def _system_stats(self, request: Request) -> Response:
        stats = load_capture("system_stats.json")
        stats["system"]["comfyui_version"] = self.version
        if self.gpu_name:
            free = max(0, self.vram_total - GIB)
            stats["devices"] = [
                {
                    "name": f"cuda:0 {self.gpu_name} : cudaMallocAsync",
                    "type": "cuda",
                    "index": 0,
                    "vram_total": self.vram_total,
                    "vram_free": free,
                    "torch_vram_total": 0,
                    "torch_vram_free": 0,
                }
            ]
        return JSONResponse(stats)

    async def _object_info_all(self, request: Request) -> Response:
        return Response(self._object_info()[0], media_type="application/json")

    async def _object_info_one(self, request: Request) -> Response:
        node = request.path_params["node"]
        info = self._object_info()[1]
        return JSONResponse({node: info[node]} if node in info else {})

    async def _model_folders(self, request: Request) -> Response:
        return JSONResponse([*MODEL_FOLDERS, *OTHER_FOLDERS])

    async def _models(self, request: Request) -> Response:
        folder = request.path_params["folder"]
        if folder in MODEL_FOLDERS:
            return JSONResponse(list(getattr(self, MODEL_FOLDERS[folder])))
        if folder in OTHER_FOLDERS:
            return JSONResponse([])
        return Response(status_code=404)

    async def _get_prompt(self, request: Request) -> Response:
        return JSONResponse({"exec_info": {"queue_remaining": self._queue_remaining()}})

    async def _post_prompt(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        graph = body.get("prompt")
        record: dict[str, Any] = {
            "prompt_id": body.get("prompt_id"),
            "graph": graph,
            "client_id": body.get("client_id"),
            "extra_data": body.get("extra_data"),
            "received_at": time.time(),
            "accepted": False,
        }
        self.prompts.append(record)
        if not isinstance(graph, dict):
            message = "No prompt provided"
            error = {"type": "no_prompt", "message": message, "details": message, "extra_info": {}}
            return JSONResponse({"error": error, "node_errors": {}}, status_code=400)
        rejection = validate(graph, self._object_info()[1]) or self._forced_rejection(graph)
        if rejection is not None:
            record["rejection"] = rejection
            return JSONResponse(rejection, status_code=400)
        _, info = self._object_info()
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        number: int | float = body["number"] if isinstance(body.get("number"), int | float) else self._number
        if body.get("front"):
            number = -number
        self._number += 1
        extra = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra["client_id"] = body["client_id"]
        fail, stall = self.fail_next > 0, self.stall_next > 0 and self.fail_next <= 0
        self.fail_next -= 1 if fail else 0
        self.stall_next -= 1 if stall else 0
        prompt = _Prompt(
            number=number,
            prompt_id=prompt_id,
            graph=graph,
            extra_data=extra,
            outputs=output_nodes(graph, info),
            client_id=body.get("client_id"),
            fail=fail,
            stall=stall,
        )
        record.update(prompt_id=prompt_id, number=number, accepted=True)
        self._pending.append(prompt)
        self._pending.sort(key=lambda item: item.number)
        self._broadcast_status()
        if self._wakeup is not None:
            self._wakeup.set()
        return JSONResponse({"prompt_id": prompt_id, "number": number, "node_errors": {}})

    def _forced_rejection(self, graph: dict[str, Any]) -> dict[str, Any] | None:
        """The `reject_next` knob: a validation failure shaped like ComfyUI's, on the graph's first node."""
        if self.reject_next <= 0 or not graph:
            return None
        self.reject_next -= 1
        node_id = next(iter(graph))
        node = graph[node_id] if isinstance(graph[node_id], dict) else {}
        problem = {"type": "value_not_in_list", "message": self.reject_message, "details": self.reject_message}
        problem["extra_info"] = {"input_name": next(iter(node.get("inputs") or {"input": None}))}
        error = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"}
        entry = {"errors": [problem], "dependent_outputs": [node_id], "class_type": node.get("class_type", "?")}
        return {"error": {**error, "details": "", "extra_info": {}}, "node_errors": {node_id: entry}}

    async def _get_queue(self, request: Request) -> Response:
        running = [self._running.queue_item()] if self._running else []
        return JSONResponse({"queue_running": running, "queue_pending": [item.queue_item() for item in self._pending]})

    async def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    async def _post_queue(self, request: Request) -> Response:
        body = await self._body(request)
        before = {prompt.prompt_id for prompt in self._pending}
        if body.get("clear"):
            self._pending.clear()
        ids = [str(item) for item in body.get("delete") or []]
        self._pending = [prompt for prompt in self._pending if prompt.prompt_id not in ids]
        deleted = sorted(before - {prompt.prompt_id for prompt in self._pending})
        self.queue_deletes.append({"delete": ids, "clear": bool(body.get("clear")), "deleted": deleted})
        self.queue_deletes[-1]["at"] = time.time()
        self._broadcast_status()
        return Response(status_code=200)

    async def _interrupt(self, request: Request) -> Response:
        body = await self._body(request)
        wanted = body.get("prompt_id")
        running = self._running
        applied = running is not None and (wanted is None or wanted == running.prompt_id)
        if applied and running is not None:
            running.interrupted.set()
        self.interrupts.append({"prompt_id": wanted, "applied": applied, "at": time.time()})
        return Response(status_code=200)

    async def _get_history(self, request: Request) -> Response:
        items = list(self._history.items())
        max_items = request.query_params.get("max_items")
        if max_items and max_items.isdigit():
            items = items[-int(max_items) :]
        return JSONResponse(dict(items))

    async def _get_history_one(self, request: Request) -> Response:
        prompt_id = request.path_params["prompt_id"]
        entry = self._history.get(prompt_id)
        return JSONResponse({prompt_id: entry} if entry is not None else {})

    async def _post_history(self, request: Request) -> Response:
        body = await self._body(request)
        if body.get("clear"):
            self._history.clear()
        ids = [str(item) for item in body.get("delete") or []]
        for prompt_id in ids:
            self._history.pop(prompt_id, None)
        self.history_deletes.append({"delete": ids, "clear": bool(body.get("clear")), "at": time.time()})
        return Response(status_code=200)

    async def _view(self, request: Request) -> Response:
        params = request.query_params
        key = (params.get("type") or "output", params.get("subfolder") or "", params.get("filename") or "")
        data = self._files.get(key)
        self.views.append(
            {"type": key[0], "subfolder": key[1], "filename": key[2], "found": data is not None, "at": time.time()}
        )
        if data is None:
            return Response(status_code=404)
        media = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "mp4": "video/mp4"}
        media["webm"] = "video/webm"
        return Response(data, media_type=media.get(key[2].rpartition(".")[2], "application/octet-stream"))

    async def _upload(self, request: Request) -> Response:
        form = await request.form()
        image = form.get("image")
        if image is None or isinstance(image, str):
            return Response(status_code=400)
        kind = str(form.get("type") or "input")
        subfolder = str(form.get("subfolder") or "")
        name = Path(image.filename or "image.png").name
        data = await image.read()
        if str(form.get("overwrite") or "").lower() not in ("true", "1"):
            stem, dot, extension = name.rpartition(".")
            counter = 1
            while (kind, subfolder, name) in self._files and self._files[(kind, subfolder, name)] != data:
                name = f"{stem} ({counter}){dot}{extension}"
                counter += 1
        self._files[(kind, subfolder, name)] = data
        self.uploads.append({"name": name, "subfolder": subfolder, "type": kind, "size": len(data), "at": time.time()})
        return JSONResponse({"name": name, "subfolder": subfolder, "type": kind})

    async def _websocket(self, websocket: WebSocket) -> None:
        client_id = websocket.query_params.get("clientId") or uuid.uuid4().hex
        await websocket.accept()
        sock = _Socket(client_id=client_id, queue=asyncio.Queue())
        self._sockets.add(sock)
        hello = {"status": {"exec_info": {"queue_remaining": self._queue_remaining()}}, "sid": client_id}
        sock.queue.put_nowait(json.dumps({"type": "status", "data": hello}))
        running = self._running
        if running is not None and running.client_id == client_id and running.current_node:
            node = running.current_node
            current = {"node": node, "display_node": node, "prompt_id": running.prompt_id}
            sock.queue.put_nowait(json.dumps({"type": "executing", "data": current}))
        reader = asyncio.ensure_future(self._until_disconnect(websocket))
        try:
            while True:
                getter = asyncio.ensure_future(sock.queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                message = getter.result()
                if message is None:
                    await websocket.close(code=1001)
                    break
                await self.until_awake()
                if self.ws_silent:
                    continue
                if isinstance(message, bytes):
                    await websocket.send_bytes(message)
                else:
                    await websocket.send_text(message)
        except Exception:  # the client went away while we were sending
            pass
        finally:
            self._sockets.discard(sock)
            reader.cancel()

    async def _until_disconnect(self, websocket: WebSocket) -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    # -- control ------------------------------------------------------------------------------

    async def _config(self, request: Request) -> Response:
        body = await self._body(request)
        unknown = sorted(set(body) - set(KNOBS))
        if unknown:
            return JSONResponse({"error": f"unknown knobs: {', '.join(unknown)}", "knobs": KNOBS}, status_code=400)
        refuse = body.pop("refuse", None)
        self.configure(**body)
        if refuse:
            asyncio.get_running_loop().call_later(0.05, lambda: setattr(self, "refuse", True))
        return JSONResponse({name: getattr(self, name) for name in KNOBS})

    async def _log(self, request: Request) -> Response:
        return JSONResponse(self.records())

    async def _drop_ws_route(self, request: Request) -> Response:
        self._drop_all()
        return JSONResponse({"dropped": len(self._sockets)})


def _names(value: str | None) -> list[str] | None:
    return [item for item in value.split(",") if item] if value is not None else None


def main(argv: list[str] | None = None) -> None:
    """Runs the fake until SIGTERM/SIGINT. Lines on stdin: down, up, restart, drop_ws, hang, wake."""
    parser = argparse.ArgumentParser(description="A fake ComfyUI server for tests and demos.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--job-seconds", type=float, default=0.05)
    for name in ("checkpoints", "loras", "vaes", "embeddings", "upscalers", "diffusion-models", "extra-node-types"):
        parser.add_argument(f"--{name}", help="comma-separated file or node names")
    parser.add_argument("--api-key")
    parser.add_argument("--version", default="0.3.64")
    parser.add_argument("--gpu-name", default="NVIDIA GeForce RTX 4090")
    parser.add_argument("--vram-total", type=int, default=24 * GIB)
    parser.add_argument("--preview-frames", type=int, default=2)
    args = parser.parse_args(argv)
    fake = FakeComfyUI(
        port=args.port,
        job_seconds=args.job_seconds,
        checkpoints=_names(args.checkpoints),
        loras=_names(args.loras),
        vaes=_names(args.vaes),
        embeddings=_names(args.embeddings),
        upscalers=_names(args.upscalers),
        diffusion_models=_names(args.diffusion_models),
        extra_node_types=_names(args.extra_node_types),
        api_key=args.api_key,
        version=args.version,
        gpu_name=args.gpu_name or None,
        vram_total=args.vram_total,
        preview_frames=args.preview_frames,
    )
    fake.start()
    print(f"READY {fake.url}", flush=True)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    def commands() -> None:
        actions = {
            "down": fake.go_down,
            "up": fake.come_up,
            "restart": lambda: fake.come_up(lose_state=True),
            "drop_ws": fake.drop_ws,
            "hang": fake.hang,
            "wake": fake.wake,
        }
        for line in sys.stdin:
            action = actions.get(line.strip())
            if action is not None:
                action()
                print(f"OK {line.strip()}", flush=True)

    threading.Thread(target=commands, daemon=True).start()
    stopping.wait()
    fake.stop()


if __name__ == "__main__":
    main()
