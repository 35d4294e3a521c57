"""ComfyUI's websocket: JSON progress messages and binary preview frames.

Binary frames (ComfyUI protocol.BinaryEventTypes, server.py send_image / send_image_with_metadata),
all integers 4-byte big-endian:
- 1 PREVIEW_IMAGE: event type, image type (1 JPEG, 2 PNG), image bytes;
- 4 PREVIEW_IMAGE_WITH_METADATA: event type, metadata length, metadata JSON (prompt_id, node_id,
  image_type as a MIME string), image bytes.
Other binary types (2 unencoded preview, 3 progress text) are skipped.

The websocket is for progress only: messages can be missed, so callers check /queue and /history
after a reconnect or a silence.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from .comfyui_types import ComfyError, PreviewFrame, WsEvent

PREVIEW_IMAGE = 1
PREVIEW_IMAGE_WITH_METADATA = 4
IMAGE_TYPES = {1: "image/jpeg", 2: "image/png"}


def ws_url(base_url: str, client_id: str) -> str:
    """http://host:8188/sub → ws://host:8188/sub/ws?clientId=…; https → wss."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/ws", urlencode({"clientId": client_id}), ""))


def parse_binary_frame(data: bytes) -> PreviewFrame | None:
    """A preview frame, or None for binary events we do not use (or frames too short to be one)."""
    if len(data) < 8:
        return None
    (event_type,) = struct.unpack(">I", data[:4])
    if event_type == PREVIEW_IMAGE:
        (image_type,) = struct.unpack(">I", data[4:8])
        return PreviewFrame(image=data[8:], mime=IMAGE_TYPES.get(image_type, "application/octet-stream"))
    if event_type == PREVIEW_IMAGE_WITH_METADATA:
        (length,) = struct.unpack(">I", data[4:8])
        try:
            metadata = json.loads(data[8 : 8 + length])
        except ValueError:
            return None
        if not isinstance(metadata, dict):
            return None
        image_type = metadata.get("image_type")
        mime = IMAGE_TYPES.get(image_type, "application/octet-stream") if isinstance(image_type, int) else image_type
        node_id = metadata.get("node_id")
        prompt_id = metadata.get("prompt_id")
        return PreviewFrame(
            image=data[8 + length :],
            mime=str(mime or "application/octet-stream"),
            prompt_id=str(prompt_id) if prompt_id is not None else None,
            node_id=str(node_id) if node_id is not None else None,
        )
    return None


def parse_text_frame(text: str | bytes) -> WsEvent | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None
    data = message.get("data")
    return WsEvent(type=message["type"], data=data if isinstance(data, dict) else {})


def _connect_error(error: BaseException, url: str, base_url: str, timeout: float) -> ComfyError:
    host = urlsplit(base_url).hostname or base_url
    if isinstance(error, InvalidStatus):
        status = error.response.status_code
        if status in (401, 403):
            return ComfyError(
                "unauthorized",
                f"{base_url} refused the websocket (HTTP {status}): the API key is missing or wrong.",
                status,
            )
        return ComfyError("http", f"{base_url} refused the websocket with HTTP {status}.", status)
    if isinstance(error, socket.gaierror):
        return ComfyError("dns", f"The name {host} does not resolve (DNS): check the server address.")
    if isinstance(error, ssl.SSLError):
        return ComfyError("tls", f"TLS error opening {url}: {error.reason or error}. Check http:// vs https://.")
    if isinstance(error, ConnectionRefusedError):
        return ComfyError(
            "refused", f"Connection refused at {base_url}: is ComfyUI running and listening on that address (--listen)?"
        )
    if isinstance(error, TimeoutError):
        return ComfyError("timeout", f"The websocket at {url} did not open within {timeout:g} s.")
    if isinstance(error, InvalidHandshake | InvalidURI):
        return ComfyError("protocol", f"{url} did not open a websocket ({error}): is this a ComfyUI server?")
    return ComfyError("refused", f"Cannot open the websocket at {url}: {error}")


async def follow(
    base_url: str, client_id: str, headers: dict[str, str], *, timeout: float
) -> AsyncIterator[WsEvent | PreviewFrame]:
    """Events until the server closes the connection; ComfyError when it cannot connect.

    Plain PREVIEW_IMAGE frames carry no ids; they are attributed to the node the last `executing`
    message named, which is the node producing them.
    """
    url = ws_url(base_url, client_id)
    try:
        connection = await connect(url, additional_headers=headers, open_timeout=timeout, max_size=None)
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
        raise _connect_error(error, url, base_url, timeout) from error
    current: dict[str, Any] = {"prompt_id": None, "node": None}
    try:
        async with connection:
            async for message in connection:
                if isinstance(message, bytes):
                    frame = parse_binary_frame(message)
                    if frame is None:
                        continue
                    if frame.prompt_id is None:
                        frame.prompt_id, frame.node_id = current["prompt_id"], current["node"]
                    yield frame
                    continue
                event = parse_text_frame(message)
                if event is None:
                    continue
                if event.type == "executing":
                    current = {"prompt_id": event.data.get("prompt_id"), "node": event.data.get("node")}
                yield event
    except ConnectionClosed:
        return
