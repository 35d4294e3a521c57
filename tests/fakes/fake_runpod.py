"""A fake RunPod serverless API for an endpoint running worker-comfyui.

Jobs wait `queue_seconds` IN_QUEUE, run `job_seconds` IN_PROGRESS, then COMPLETE with worker-comfyui's
output (`{"images": [{"filename", "type": "base64" | "s3_url", "data"}]}`) or FAIL while `fail_next`
is above zero. Status is computed from the clock on each poll, like the real API. Knobs are
attributes, or POST /__fake__/config; GET /__fake__/log returns the records.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes import fake_media
from tests.fakes.fake_comfyui import BackgroundServer

KNOBS = [
    *("api_key", "endpoint_id", "job_seconds", "queue_seconds", "fail_next", "fail_error", "image_count"),
    *("output_type", "http_error_status", "slow_seconds"),
]
DEFAULT_FAILURE = (
    "Workflow execution error: Node Type: CheckpointLoaderSimple, Node ID: 1, "
    "Message: Error while deserializing header: header too large"
)


@dataclass
class _Job:
    id: str
    endpoint: str
    input: dict[str, Any]
    received_at: float
    queue_seconds: float
    job_seconds: float
    fail: bool
    cancelled_at: float | None = None

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "CANCELLED"
        elapsed = now - self.received_at
        if elapsed < self.queue_seconds:
            return "IN_QUEUE"
        if elapsed < self.queue_seconds + self.job_seconds:
            return "IN_PROGRESS"
        return "FAILED" if self.fail else "COMPLETED"


class FakeRunpod:
    def __init__(
        self,
        *,
        port: int = 0,
        api_key: str | None = "rp-test-key",
        endpoint_id: str | None = None,
        job_seconds: float = 0.05,
        queue_seconds: float = 0.0,
        fail_next: int = 0,
        fail_error: str = DEFAULT_FAILURE,
        image_count: int = 1,
        output_type: str = "base64",
        http_error_status: int | None = None,
        slow_seconds: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.endpoint_id = endpoint_id
        self.job_seconds = job_seconds
        self.queue_seconds = queue_seconds
        self.fail_next = fail_next
        self.fail_error = fail_error
        self.image_count = image_count
        self.output_type = output_type
        self.http_error_status = http_error_status
        self.slow_seconds = slow_seconds
        # hang()/wake(): the API accepts connections and answers nothing (jobs carry on on RunPod's side).
        self.hung = False
        self.jobs: dict[str, _Job] = {}
        # Records for assertions.
        self.runs: list[dict[str, Any]] = []
        self.status_polls: list[dict[str, Any]] = []
        self.cancels: list[dict[str, Any]] = []
        self.downloads: list[dict[str, Any]] = []
        self._files: dict[str, bytes] = {}
        self._server = BackgroundServer(self._app(), port=port)

    @property
    def url(self) -> str:
        """The API base, like https://api.runpod.ai/v2."""
        return self._server.url

    def start(self) -> FakeRunpod:
        self._server.start()
        return self

    def stop(self) -> None:
        self.hung = False  # waiting requests are answered, so it can shut down cleanly
        self._server.stop()

    def hang(self) -> None:
        self.hung = True

    def wake(self) -> None:
        self.hung = False

    def __enter__(self) -> FakeRunpod:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def records(self) -> dict[str, Any]:
        records = {"runs": self.runs, "status_polls": self.status_polls, "cancels": self.cancels}
        return {**records, "downloads": self.downloads}

    def image_bytes(self, job_id: str, index: int = 0) -> bytes:
        """What the job's index-th image decodes to."""
        job = self.jobs[job_id]
        graph_key = hashlib.sha256(json.dumps(job.input.get("workflow"), sort_keys=True).encode()).hexdigest()
        return fake_media.png_bytes(64, 64, seed=f"{graph_key}:{index}")

    def _app(self) -> Starlette:
        routes = [
            Route("/__fake__/config", self._config, methods=["POST"]),
            Route("/__fake__/log", self._log),
            Route("/__fake__/s3/{job_id}/{filename}", self._s3),
            Route("/{endpoint}/run", self._run, methods=["POST"]),
            Route("/{endpoint}/status/{job_id}", self._status),
            Route("/{endpoint}/cancel/{job_id}", self._cancel, methods=["POST"]),
            Route("/{endpoint}/health", self._health),
        ]
        return Starlette(routes=routes)

    async def _gate(self, request: Request) -> Response | None:
        while self.hung:
            await asyncio.sleep(0.05)
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        if self.http_error_status:
            return JSONResponse({"error": "fake failure"}, status_code=int(self.http_error_status))
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        endpoint = request.path_params.get("endpoint")
        if self.endpoint_id and endpoint != self.endpoint_id:
            return JSONResponse({"error": "endpoint not found"}, status_code=404)
        return None

    async def _run(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        body = await request.json()
        job_input = body.get("input") if isinstance(body, dict) else None
        job_input = job_input if isinstance(job_input, dict) else {}
        fail = self.fail_next > 0
        self.fail_next -= 1 if fail else 0
        job = _Job(
            id=f"{uuid.uuid4()}-u1",
            endpoint=request.path_params["endpoint"],
            input=job_input,
            received_at=time.time(),
            queue_seconds=self.queue_seconds,
            job_seconds=self.job_seconds,
            fail=fail or "workflow" not in job_input,
        )
        self.jobs[job.id] = job
        record = {"job_id": job.id, "endpoint": job.endpoint, "input": job_input}
        self.runs.append({**record, "received_at": job.received_at})
        return JSONResponse({"id": job.id, "status": "IN_QUEUE"})

    async def _status(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "request does not exist"}, status_code=404)
        now = time.time()
        status = job.status(now)
        self.status_polls.append({"job_id": job.id, "status": status, "at": now})
        body: dict[str, Any] = {"id": job.id, "status": status, "delayTime": int(job.queue_seconds * 1000)}
        if status in ("IN_PROGRESS", "COMPLETED", "FAILED"):
            body["workerId"] = "fakeworker0001"
        if status == "COMPLETED":
            body["executionTime"] = int(job.job_seconds * 1000)
            body["output"] = {"images": [self._image(job, index) for index in range(self.image_count)]}
        elif status == "FAILED":
            body["executionTime"] = int(job.job_seconds * 1000)
            body["error"] = self.fail_error if "workflow" in job.input else "Missing 'workflow' parameter"
        return JSONResponse(body)

    def _image(self, job: _Job, index: int) -> dict[str, Any]:
        filename = f"ComfyUI_{index + 1:05}_.png"
        data = self.image_bytes(job.id, index)
        if self.output_type == "s3_url":
            self._files[f"{job.id}/{filename}"] = data
            return {"filename": filename, "type": "s3_url", "data": f"{self.url}/__fake__/s3/{job.id}/{filename}"}
        return {"filename": filename, "type": "base64", "data": base64.b64encode(data).decode()}

    async def _s3(self, request: Request) -> Response:
        key = f"{request.path_params['job_id']}/{request.path_params['filename']}"
        self.downloads.append({"key": key, "authorization": request.headers.get("authorization"), "at": time.time()})
        data = self._files.get(key)
        return Response(data, media_type="image/png") if data is not None else Response(status_code=404)

    async def _cancel(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "request does not exist"}, status_code=404)
        now = time.time()
        if job.status(now) in ("IN_QUEUE", "IN_PROGRESS"):
            job.cancelled_at = now
        self.cancels.append({"job_id": job.id, "at": now})
        return JSONResponse({"id": job.id, "status": job.status(now)})

    async def _health(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        now = time.time()
        states = [job.status(now) for job in self.jobs.values()]
        jobs = {
            "completed": states.count("COMPLETED"),
            "failed": states.count("FAILED"),
            "inProgress": states.count("IN_PROGRESS"),
            "inQueue": states.count("IN_QUEUE"),
            "retried": 0,
        }
        workers = {"idle": 1, "initializing": 0, "ready": 1, "running": states.count("IN_PROGRESS"), "throttled": 0}
        return JSONResponse({"jobs": jobs, "workers": workers})

    async def _config(self, request: Request) -> Response:
        body = await request.json()
        unknown = sorted(set(body) - set(KNOBS))
        if unknown:
            return JSONResponse({"error": f"unknown knobs: {', '.join(unknown)}", "knobs": KNOBS}, status_code=400)
        for name, value in body.items():
            setattr(self, name, value)
        return JSONResponse({name: getattr(self, name) for name in KNOBS})

    async def _log(self, request: Request) -> Response:
        return JSONResponse(self.records())
