"""HTTP and websocket client for one ComfyUI server, plus the connection test and the model catalog.

Every failure becomes a ComfyError whose kind says what a person (or the dispatcher) can do:
fix the address (dns, refused, tls), wait or move elsewhere (timeout, 5xx), fix the key
(unauthorized), point at a real ComfyUI (not_comfyui) or change the graph (rejected).
"""

from __future__ import annotations

import functools
import re
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from .comfyui_types import (
    Catalog,
    ComfyError,
    ConnectionReport,
    DeviceInfo,
    ExecutionError,
    HistoryEntry,
    OutputFile,
    PreviewFrame,
    PromptRejected,
    QueueState,
    SystemStats,
    WsEvent,
    media_kind,
    output_files,
)
from .comfyui_ws import follow

__all__ = [
    "MIN_COMFYUI_VERSION",
    "Catalog",
    "ComfyClient",
    "ComfyError",
    "ConnectionReport",
    "DeviceInfo",
    "ExecutionError",
    "HistoryEntry",
    "OutputFile",
    "PreviewFrame",
    "PromptRejected",
    "QueueState",
    "SystemStats",
    "WsEvent",
    "catalog_from",
    "fetch_catalog",
    "media_kind",
    "output_files",
    "test_connection",
    "transport_error",
]

MIN_COMFYUI_VERSION = "0.3.0"

# Loader node → input holding the model file name; the first element of its spec lists the files.
CHECKPOINT_INPUTS = (("CheckpointLoaderSimple", "ckpt_name"), ("ImageOnlyCheckpointLoader", "ckpt_name"))
LORA_INPUTS = (("LoraLoader", "lora_name"), ("LoraLoaderModelOnly", "lora_name"))
VAE_INPUTS = (("VAELoader", "vae_name"),)
UPSCALER_INPUTS = (("UpscaleModelLoader", "model_name"),)
# Entries of VAELoader's list that are built-in choices, not files.
BUILTIN_VAES = frozenset({"pixel_space", "taesd", "taesdxl", "taesd3", "taef1"})


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def transport_error(error: httpx.HTTPError, base_url: str, timeout: float, peer: str = "ComfyUI") -> ComfyError:
    """An httpx failure before any HTTP answer, as a kind and a message a person can act on."""
    host = urlsplit(base_url).hostname or base_url
    causes = _causes(error)
    if isinstance(error, httpx.TimeoutException):
        return ComfyError(
            "timeout",
            f"No answer from {base_url} within {timeout:g} s: the server may be busy, asleep or behind a firewall. "
            "Try again, or check that the address is reachable from this machine.",
        )
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return ComfyError(
            "dns", f"The name {host} does not resolve (DNS): check the spelling of the address or use an IP address."
        )
    tls = next((cause for cause in causes if isinstance(cause, ssl.SSLError)), None)
    if tls is not None:
        reason = getattr(tls, "reason", None) or str(tls)
        hint = (
            "the server's certificate is not trusted: install a valid certificate or use a trusted address"
            if isinstance(tls, ssl.SSLCertVerificationError)
            else "if the server speaks plain HTTP, use http:// instead of https://"
        )
        return ComfyError("tls", f"TLS error talking to {base_url} ({reason}): {hint}.")
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return ComfyError(
            "refused",
            f"Connection refused at {base_url}: is {peer} running and listening on that address"
            + (" (--listen)?" if peer == "ComfyUI" else "?"),
        )
    if isinstance(error, httpx.ConnectError):
        return ComfyError("refused", f"Cannot connect to {base_url}: {error or type(error).__name__}.")
    if isinstance(error, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return ComfyError("protocol", f"{base_url} is not a usable address ({error}): use http://host:port.")
    return ComfyError("protocol", f"The connection to {base_url} broke: {error or type(error).__name__}.")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings (certificates verified), built once for every client of the process.

    A client built without it loads the CA bundle again, tens of milliseconds of CPU each: a health round
    makes a client per server, so with 64 servers that was seconds of CPU at once, holding up the timed
    answers of the servers checked alongside (healthy ones were called slow, "degraded")."""
    return httpx.create_ssl_context()


class ComfyClient:
    """One ComfyUI server. Use as `async with ComfyClient(url, key) as client:` or call aclose()."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._has_key = bool(api_key)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=timeout, verify=tls_context()
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ComfyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise transport_error(error, self.base_url, self.timeout) from error
        if response.status_code in (401, 403):
            if self._has_key:
                text = f"{self.base_url} rejected the API key (HTTP {response.status_code}): check the key."
            else:
                text = f"{self.base_url} requires an API key (HTTP {response.status_code}): add it to the server."
            raise ComfyError("unauthorized", text, response.status_code)
        return response

    def _fail(self, response: httpx.Response, method: str, path: str) -> ComfyError:
        body = " ".join(response.text.split())[:200]
        return ComfyError(
            "http",
            f"ComfyUI at {self.base_url} answered HTTP {response.status_code} to {method} {path}"
            + (f": {body}" if body else "."),
            response.status_code,
        )

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._request(method, path, **kwargs)
        if response.status_code >= 400:
            raise self._fail(response, method, path)
        try:
            return response.json()
        except ValueError as error:
            raise ComfyError(
                "protocol",
                f"{self.base_url}{path} answered something other than JSON: is this address a ComfyUI server?",
                response.status_code,
            ) from error

    async def system_stats(self) -> SystemStats:
        not_comfy = ComfyError(
            "not_comfyui",
            f"{self.base_url} answers, but not like ComfyUI (no system stats at /system_stats): "
            "check the address and port of the ComfyUI server.",
        )
        response = await self._request("GET", "/system_stats")
        if response.status_code in (404, 405):
            raise not_comfy
        if response.status_code >= 400:
            raise self._fail(response, "GET", "/system_stats")
        try:
            stats = SystemStats.parse(response.json())
        except ValueError as error:
            raise not_comfy from error
        if stats is None:
            raise not_comfy
        return stats

    async def object_info(self) -> dict[str, Any]:
        body = await self._json("GET", "/object_info")
        if not isinstance(body, dict):
            raise ComfyError("protocol", f"{self.base_url}/object_info did not answer a node list.")
        return body

    async def model_folders(self) -> list[str]:
        body = await self._json("GET", "/models")
        return [str(item) for item in body] if isinstance(body, list) else []

    async def models(self, folder: str) -> list[str]:
        body = await self._json("GET", f"/models/{folder}")
        return [str(item) for item in body] if isinstance(body, list) else []

    async def queue_prompt(
        self, graph: dict[str, Any], *, prompt_id: str, client_id: str, extra_data: dict[str, Any] | None = None
    ) -> int:
        """Queues with our own prompt_id (so a lost reply is recoverable); returns the server's queue number."""
        payload: dict[str, Any] = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        if extra_data:
            payload["extra_data"] = extra_data
        response = await self._request("POST", "/prompt", json=payload)
        if response.status_code == 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": {"type": "unknown", "message": response.text.strip() or "Prompt rejected"}}
            raise PromptRejected.from_body(body)
        if response.status_code >= 400:
            raise self._fail(response, "POST", "/prompt")
        try:
            body = response.json()
        except ValueError as error:
            raise ComfyError("protocol", f"{self.base_url}/prompt answered something other than JSON.") from error
        if body.get("node_errors"):
            raise PromptRejected.from_body({"error": body.get("error") or {}, "node_errors": body["node_errors"]})
        number = body.get("number")
        return int(number) if isinstance(number, int | float) else 0

    async def queue(self) -> QueueState:
        body = await self._json("GET", "/queue")
        return QueueState.parse(body if isinstance(body, dict) else {})

    async def history(self, prompt_id: str) -> HistoryEntry | None:
        """None while pending or running, and for ids the server never saw (or forgot on restart)."""
        body = await self._json("GET", f"/history/{prompt_id}")
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return HistoryEntry.parse(prompt_id, entry) if isinstance(entry, dict) else None

    async def view(self, file: OutputFile) -> bytes:
        params = {"filename": file.filename, "subfolder": file.subfolder, "type": file.type}
        response = await self._request("GET", "/view", params=params)
        if response.status_code == 404:
            where = f"{file.subfolder}/{file.filename}" if file.subfolder else file.filename
            raise ComfyError("http", f"{self.base_url} has no {file.type} file {where} (HTTP 404).", 404)
        if response.status_code >= 400:
            raise self._fail(response, "GET", "/view")
        return response.content

    async def delete_pending(self, prompt_ids: list[str]) -> None:
        """Removes prompts that have not started; a running one needs interrupt()."""
        if not prompt_ids:
            return
        response = await self._request("POST", "/queue", json={"delete": list(prompt_ids)})
        if response.status_code >= 400:
            raise self._fail(response, "POST", "/queue")

    async def interrupt(self, prompt_id: str) -> None:
        """Only that prompt: without an id ComfyUI stops whatever runs, maybe another client's work."""
        if not prompt_id:
            raise ValueError("interrupt needs the prompt_id of the running prompt")
        response = await self._request("POST", "/interrupt", json={"prompt_id": prompt_id})
        if response.status_code >= 400:
            raise self._fail(response, "POST", "/interrupt")

    async def delete_history(self, prompt_ids: list[str]) -> None:
        if not prompt_ids:
            return
        response = await self._request("POST", "/history", json={"delete": list(prompt_ids)})
        if response.status_code >= 400:
            raise self._fail(response, "POST", "/history")

    async def upload_image(self, name: str, data: bytes, *, subfolder: str = "storycanvas") -> str:
        """Returns the value a LoadImage node takes: "subfolder/name" as the server stored it."""
        files = {"image": (name, data, _mime_for(name))}
        form = {"subfolder": subfolder, "type": "input", "overwrite": "true"}
        body = await self._json("POST", "/upload/image", files=files, data=form)
        stored = str(body.get("name") or name) if isinstance(body, dict) else name
        folder = str(body.get("subfolder") or "") if isinstance(body, dict) else subfolder
        return f"{folder}/{stored}" if folder else stored

    async def queue_remaining(self) -> int:
        body = await self._json("GET", "/prompt")
        remaining = (body.get("exec_info") or {}).get("queue_remaining") if isinstance(body, dict) else None
        return int(remaining) if isinstance(remaining, int | float) else 0

    def events(self, client_id: str) -> AsyncIterator[WsEvent | PreviewFrame]:
        """Websocket events for this client id; ends when the server closes the connection."""
        return follow(self.base_url, client_id, self.headers, timeout=self.timeout)


def _mime_for(name: str) -> str:
    extension = name.rpartition(".")[2].lower()
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}.get(
        extension, "image/png"
    )


def _choices(object_info: dict[str, Any], node: str, input_name: str) -> list[str]:
    """A combo input's values: `[[...], {...}]` (classic) or `["COMBO", {"options": [...]}]` (v3 nodes)."""
    definition = object_info.get(node)
    if not isinstance(definition, dict):
        return []
    inputs = definition.get("input") or {}
    spec = (inputs.get("required") or {}).get(input_name) or (inputs.get("optional") or {}).get(input_name)
    if not isinstance(spec, list) or not spec:
        return []
    if isinstance(spec[0], list):
        return [str(value) for value in spec[0]]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        return [str(value) for value in spec[1].get("options") or []]
    return []


def _union(object_info: dict[str, Any], pairs: tuple[tuple[str, str], ...]) -> list[str]:
    seen: dict[str, None] = {}
    for node, input_name in pairs:
        for value in _choices(object_info, node, input_name):
            seen.setdefault(value, None)
    return list(seen)


def catalog_from(object_info: dict[str, Any], embeddings: list[str]) -> Catalog:
    """The model files a server offers, read from its loader nodes' input lists."""
    return Catalog(
        checkpoints=_union(object_info, CHECKPOINT_INPUTS),
        loras=_union(object_info, LORA_INPUTS),
        vaes=[name for name in _union(object_info, VAE_INPUTS) if name not in BUILTIN_VAES],
        embeddings=list(dict.fromkeys(embeddings)),
        upscalers=_union(object_info, UPSCALER_INPUTS),
        node_types=sorted(object_info),
        node_specs=node_specs(object_info),
    )


# Inputs whose choice list is not worth keeping: the pictures in the input folder (ours are uploaded just before
# queueing, so they are never in a stored list). Model file lists are kept: each loader lists the files it can load
# (the image-to-video loader its own), which is what a generate form offers and the pre-check holds a job to.
UNLISTED_CHOICES = frozenset({"image", "video", "audio"})


def _input_spec(name: str, spec: Any) -> dict[str, Any]:
    """One input as the graph check needs it: its type, and its limits or choices."""
    if not isinstance(spec, list | tuple) or not spec:
        return {"type": "*"}
    kind, options = spec[0], spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    found: dict[str, Any] = {}
    if isinstance(kind, list):
        found = {"type": "COMBO", "choices": kind}
    elif kind == "COMBO":
        found = {"type": "COMBO", "choices": options.get("options")}
    else:
        found = {"type": str(kind)}
    if found["type"] == "COMBO" and (
        name in UNLISTED_CHOICES or options.get("image_upload") or found["choices"] is None
    ):
        found.pop("choices", None)
    for limit in ("min", "max"):
        value = options.get(limit)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[limit] = value
    return found


def node_specs(object_info: dict[str, Any]) -> dict[str, Any]:
    """Each node's inputs and output types from /object_info, kept small enough to store with the server."""
    specs: dict[str, Any] = {}
    for class_type, info in object_info.items():
        if not isinstance(info, dict):
            continue
        found_inputs = info.get("input")
        inputs: dict[str, Any] = found_inputs if isinstance(found_inputs, dict) else {}
        spec_of: dict[str, Any] = {
            group: {str(name): _input_spec(str(name), spec) for name, spec in inputs[group].items()}
            for group in ("required", "optional")
            if isinstance(inputs.get(group), dict)
        }
        found_outputs = info.get("output")
        outputs: list[Any] = found_outputs if isinstance(found_outputs, list) else []
        spec_of["output"] = [kind if isinstance(kind, str) else "COMBO" for kind in outputs]
        specs[str(class_type)] = spec_of
    return specs


async def fetch_catalog(client: ComfyClient) -> Catalog:
    object_info = await client.object_info()
    try:
        embeddings = await client.models("embeddings")
    except ComfyError as error:
        if error.status_code != 404:
            raise
        embeddings = []  # servers older than the /models endpoint
    return catalog_from(object_info, embeddings)


def _version_tuple(version: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", version.lstrip("vV").split("-")[0].split("+")[0])
    return tuple(int(number) for number in numbers[:3])


async def test_connection(base_url: str, api_key: str | None = None, *, timeout: float = 5.0) -> ConnectionReport:
    """Reaches the server the way the dispatcher will and says what to fix when it cannot."""
    url = base_url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        return ConnectionReport(
            False, "protocol", f"{base_url!r} is not an address: write it as http://host:8188 or https://host."
        )
    try:
        async with ComfyClient(url, api_key, timeout=timeout) as client:
            stats = await client.system_stats()
    except ComfyError as error:
        return ConnectionReport(False, error.kind, error.message)
    version = stats.comfyui_version
    if version is None or _version_tuple(version) < _version_tuple(MIN_COMFYUI_VERSION):
        seen = f"ComfyUI {version}" if version else "This ComfyUI (it does not report a version)"
        return ConnectionReport(
            False,
            "version",
            f"{seen} at {url} is older than {MIN_COMFYUI_VERSION}, the oldest StoryCanvas supports: update ComfyUI.",
            version=version,
            stats=stats,
        )
    return ConnectionReport(True, "ok", f"ComfyUI {version} · {stats.summary}", version=version, stats=stats)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported into one
