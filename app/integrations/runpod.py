"""Client for a RunPod serverless endpoint running worker-comfyui (github.com/runpod-workers/worker-comfyui).

What its handler documents and does (checked against handler.py / README of worker-comfyui 5.x):
- input: `{"input": {"workflow": <API-format graph>, "images": [{"name": "face.png", "image": <base64,
  optionally a data: URI>}]}}`; the images are uploaded to ComfyUI's input folder under their
  name, so a LoadImage node names them as given.
- output on success: `{"images": [{"filename": "ComfyUI_00001_.png", "type": "base64", "data": …}]}`,
  or `"type": "s3_url"` with the URL in `data` when the worker has a bucket configured; optional
  `"errors": [...]` for warnings. Temp (PreviewImage) files are skipped by the worker.
- failure: the handler returns `{"error": …, "details": [...]}` and RunPod reports the job FAILED
  with that `error`. Older versions (3.x) answered `{"message": <base64 or URL>, "status": "success"}`.
- RunPod's job API: POST /{endpoint}/run → {id, status}; GET /status/{id} → {id, status, output?,
  error?, delayTime, executionTime}; POST /cancel/{id}; GET /health → {jobs: {...}, workers: {...}}.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import httpx

from .comfyui import tls_context, transport_error
from .comfyui_types import ComfyError

FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})


@dataclass
class RunpodImage:
    filename: str
    data: bytes


@dataclass
class RunpodStatus:
    id: str
    status: str  # IN_QUEUE | IN_PROGRESS | COMPLETED | FAILED | CANCELLED | TIMED_OUT
    images: list[RunpodImage]
    error: str | None
    raw: dict[str, Any]

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


class RunpodClient:
    def __init__(self, api_base: str, endpoint_id: str, api_key: str, *, timeout: float = 30.0) -> None:
        self.api_base = api_base.rstrip("/")
        self.endpoint_id = endpoint_id
        self.timeout = timeout
        self._endpoint_url = f"{self.api_base}/{endpoint_id}"
        headers = {"Authorization": f"Bearer {api_key}"}
        self._http = httpx.AsyncClient(headers=headers, timeout=timeout, verify=tls_context())
        # Result URLs (S3) must not receive the RunPod key.
        self._downloads = httpx.AsyncClient(timeout=timeout, follow_redirects=True, verify=tls_context())

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._downloads.aclose()

    async def __aenter__(self) -> RunpodClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, f"{self._endpoint_url}{path}", **kwargs)
        except httpx.HTTPError as error:
            raise transport_error(error, self.api_base, self.timeout, peer="RunPod") from error
        status = response.status_code
        if status in (401, 403):
            raise ComfyError(
                "unauthorized",
                f"RunPod API key rejected (HTTP {status}): check the key in the server settings "
                "(RunPod console → Settings → API Keys) and that it may use this endpoint.",
                status,
            )
        if status == 404:
            raise ComfyError(
                "http", f"RunPod has no endpoint {self.endpoint_id!r} (or no such job): check the endpoint ID.", 404
            )
        if status >= 400:
            body = " ".join(response.text.split())[:200]
            raise ComfyError("http", f"RunPod answered HTTP {status} to {method} {path}: {body}", status)
        try:
            body = response.json()
        except ValueError as error:
            raise ComfyError("protocol", f"RunPod answered {path} with something other than JSON.", status) from error
        if not isinstance(body, dict):
            raise ComfyError("protocol", f"RunPod answered {path} with an unexpected shape.", status)
        return body

    async def run(self, workflow: dict[str, Any], images: list[tuple[str, bytes]] | None = None) -> str:
        """Starts a job; returns RunPod's job id."""
        job_input: dict[str, Any] = {"workflow": workflow}
        if images:
            job_input["images"] = [
                {"name": name, "image": base64.b64encode(data).decode("ascii")} for name, data in images
            ]
        body = await self._call("POST", "/run", json={"input": job_input})
        job_id = body.get("id")
        if not job_id:
            raise ComfyError("protocol", "RunPod accepted the job but gave no job id.")
        return str(job_id)

    async def status(self, job_id: str) -> RunpodStatus:
        body = await self._call("GET", f"/status/{job_id}")
        state = str(body.get("status") or "")
        output = body.get("output")
        error = _error_text(body.get("error"))
        images: list[RunpodImage] = []
        if state == "COMPLETED" and isinstance(output, dict):
            if output.get("error") and not output.get("images"):
                error = _error_text(output.get("error"), output.get("details"))
            images = await self._images(output)
        return RunpodStatus(id=str(body.get("id") or job_id), status=state, images=images, error=error, raw=body)

    async def _images(self, output: dict[str, Any]) -> list[RunpodImage]:
        items = output.get("images")
        if items is None and isinstance(output.get("message"), str) and output.get("status") == "success":
            items = [{"filename": "ComfyUI_00001_.png", "type": "legacy", "data": output["message"]}]
        images: list[RunpodImage] = []
        for index, item in enumerate(items or []):
            if not isinstance(item, dict) or not isinstance(item.get("data"), str):
                continue
            filename = str(item.get("filename") or f"output_{index + 1:05}.png")
            kind, data = item.get("type"), item["data"]
            if kind == "s3_url" or (kind == "legacy" and data.startswith(("http://", "https://"))):
                images.append(RunpodImage(filename, await self._download(data)))
            else:
                images.append(RunpodImage(filename, _decode(data, filename)))
        return images

    async def _download(self, url: str) -> bytes:
        try:
            response = await self._downloads.get(url)
        except httpx.HTTPError as error:
            raise transport_error(error, url, self.timeout, peer="the result storage") from error
        if response.status_code >= 400:
            raise ComfyError(
                "http", f"Downloading a RunPod result failed with HTTP {response.status_code}.", response.status_code
            )
        return response.content

    async def cancel(self, job_id: str) -> None:
        await self._call("POST", f"/cancel/{job_id}")

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "/health")


def _decode(data: str, filename: str) -> bytes:
    payload = data.split(",", 1)[1] if data.startswith("data:") else data
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ComfyError("protocol", f"RunPod returned {filename} in a form that is not base64.") from error


def _error_text(error: Any, details: Any = None) -> str | None:
    if error in (None, ""):
        return None
    text = error if isinstance(error, str) else json.dumps(error)
    if isinstance(details, list) and details:
        text += ": " + "; ".join(str(item) for item in details)
    return text
