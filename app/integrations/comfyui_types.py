"""What a ComfyUI server tells us, as plain values, and the errors it can raise.

Parsing lives next to the types so the client, the dispatcher and the tests read the server's
JSON one way only. Shapes follow ComfyUI 0.3.x as captured in the protocol samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

VIDEO_EXTENSIONS = frozenset({"mp4", "webm", "mov", "mkv", "gif", "avi", "m4v"})
IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"})
AUDIO_EXTENSIONS = frozenset({"wav", "mp3", "flac", "ogg", "m4a", "opus", "aac"})
# Keys of a node's history output that hold files (SaveImage: images, VHS: gifs, SaveAudio: audio).
OUTPUT_FILE_KEYS = ("images", "gifs", "videos", "audio")

RETRYABLE_KINDS = frozenset({"dns", "refused", "tls", "timeout", "protocol"})


class ComfyError(Exception):
    """A failure talking to a ComfyUI server (or a RunPod endpoint), sorted by what a person can do about it."""

    def __init__(self, kind: str, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code

    @property
    def retryable(self) -> bool:
        """Whether trying again later, or on another server, may succeed."""
        if self.kind in RETRYABLE_KINDS:
            return True
        if self.kind == "http":
            return self.status_code is None or self.status_code >= 500 or self.status_code in (408, 429)
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, message={self.message!r}, status_code={self.status_code!r})"


class PromptRejected(ComfyError):
    """POST /prompt answered 400: the graph cannot run on that server as it is; retrying will not help."""

    def __init__(self, error_type: str, node_errors: dict[str, Any], raw: dict[str, Any], message: str) -> None:
        super().__init__("rejected", message, 400)
        self.error_type = error_type
        self.node_errors = node_errors
        self.raw = raw

    @classmethod
    def from_body(cls, body: Any) -> PromptRejected:
        raw = body if isinstance(body, dict) else {"error": {"type": "unknown", "message": str(body)}}
        error = raw.get("error")
        if not isinstance(error, dict):
            error = {"type": "unknown", "message": str(error or "Prompt rejected")}
        node_errors = _dict_at(raw, "node_errors")
        error_type = str(error.get("type") or "unknown")
        return cls(error_type, node_errors, raw, rejection_message(error, node_errors))


def _dict_at(body: dict[str, Any], key: str) -> dict[str, Any]:
    """body[key] when it is an object, else empty: ComfyUI's answers are read defensively."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def rejection_message(error: dict[str, Any], node_errors: dict[str, Any]) -> str:
    """One line per problem, in words a person can act on."""
    lines: list[str] = []
    for node_id, node_error in node_errors.items():
        if not isinstance(node_error, dict):
            lines.append(f"Node {node_id}: {node_error}")
            continue
        class_type = node_error.get("class_type") or "?"
        for problem in node_error.get("errors") or []:
            lines.append(f"Node {node_id} ({class_type}), {_problem_text(problem)}")
    if lines:
        return "\n".join(lines)
    error_type = error.get("type")
    message = str(error.get("message") or "Prompt rejected").strip()
    details = str(error.get("details") or "").strip()
    if error_type == "prompt_no_outputs":
        return f"{message}: add an output node such as Save Image"
    if error_type == "invalid_prompt" and "does not exist" in message:
        return f"{message} Install the custom node on this server or use another server."
    return f"{message}: {details}" if details else message


def _problem_text(problem: Any) -> str:
    if not isinstance(problem, dict):
        return str(problem)
    extra = _dict_at(problem, "extra_info")
    input_name = extra.get("input_name")
    message = str(problem.get("message") or problem.get("type") or "invalid").strip()
    details = str(problem.get("details") or "").strip()
    if problem.get("type") == "value_not_in_list" and "received_value" in extra:
        text = f"{message}: {extra['received_value']!r} is not available on this server"
    elif details and details != input_name:
        text = f"{message} ({details})"
    else:
        text = message
    return f"input {input_name}: {text}" if input_name else text


@dataclass
class DeviceInfo:
    name: str
    type: str
    vram_total: int | None
    vram_free: int | None

    @property
    def label(self) -> str:
        """'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync' → 'NVIDIA GeForce RTX 4090'."""
        name = self.name.split(" : ")[0].strip()
        head, _, rest = name.partition(" ")
        if rest and ":" in head:
            name = rest.strip()
        return name or self.type


@dataclass
class SystemStats:
    comfyui_version: str | None
    ram_total: int | None
    ram_free: int | None
    devices: list[DeviceInfo]
    raw: dict[str, Any]

    @property
    def summary(self) -> str:
        """The first device in words, e.g. 'NVIDIA RTX 4090 (24.0 GB VRAM)' or 'CPU only (23.5 GB RAM)'."""
        device = self.devices[0] if self.devices else None
        if device is None or device.type == "cpu":
            ram = f" ({_gigabytes(self.ram_total)} GB RAM)" if self.ram_total else ""
            return f"CPU only{ram}"
        vram = f" ({_gigabytes(device.vram_total)} GB VRAM)" if device.vram_total else ""
        return f"{device.label}{vram}"

    @classmethod
    def parse(cls, body: Any) -> SystemStats | None:
        """None when the body is not ComfyUI's /system_stats shape."""
        if not isinstance(body, dict):
            return None
        system, devices = body.get("system"), body.get("devices")
        if not isinstance(system, dict) or not isinstance(devices, list):
            return None
        parsed = [
            DeviceInfo(
                name=str(device.get("name") or ""),
                type=str(device.get("type") or ""),
                vram_total=_int_or_none(device.get("vram_total")),
                vram_free=_int_or_none(device.get("vram_free")),
            )
            for device in devices
            if isinstance(device, dict)
        ]
        version = system.get("comfyui_version")
        return cls(
            comfyui_version=str(version) if version else None,
            ram_total=_int_or_none(system.get("ram_total")),
            ram_free=_int_or_none(system.get("ram_free")),
            devices=parsed,
            raw=body,
        )


def _gigabytes(size: int | None) -> str:
    return f"{(size or 0) / 2**30:.1f}"


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class QueueState:
    running: list[str]
    pending: list[str]

    @classmethod
    def parse(cls, body: dict[str, Any]) -> QueueState:
        def ids(items: Any) -> list[str]:
            return [str(item[1]) for item in items or [] if isinstance(item, list | tuple) and len(item) > 1]

        return cls(running=ids(body.get("queue_running")), pending=ids(body.get("queue_pending")))


def media_kind(filename: str, animated: bool = False) -> str:
    """'image' | 'video' | 'audio' | 'other', by extension; an animated WebP is a video."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension == "webp":
        return "video" if animated else "image"
    if extension in VIDEO_EXTENSIONS:
        return "video"
    if extension in IMAGE_EXTENSIONS:
        return "image"
    if extension in AUDIO_EXTENSIONS:
        return "audio"
    return "other"


@dataclass
class OutputFile:
    node_id: str
    filename: str
    subfolder: str
    type: str
    media: str


def output_files(outputs: dict[str, Any]) -> list[OutputFile]:
    """The files of a history entry's (or an `executed` message's) outputs, node by node."""
    files: list[OutputFile] = []
    for node_id, output in outputs.items():
        if not isinstance(output, dict):
            continue
        animated_flags = output.get("animated")
        animated = isinstance(animated_flags, list | tuple) and any(flag is True for flag in animated_flags)
        for key in OUTPUT_FILE_KEYS:
            for item in output.get(key) or []:
                if not isinstance(item, dict) or not item.get("filename"):
                    continue  # e.g. images sent over the websocket have no file
                filename = str(item["filename"])
                files.append(
                    OutputFile(
                        node_id=str(node_id),
                        filename=filename,
                        subfolder=str(item.get("subfolder") or ""),
                        type=str(item.get("type") or "output"),
                        media=media_kind(filename, animated),
                    )
                )
    return files


@dataclass
class ExecutionError:
    node_id: str | None
    node_type: str | None
    exception_type: str
    exception_message: str

    @property
    def message(self) -> str:
        """'Node 1 (CheckpointLoaderSimple) failed: SafetensorError: Error while deserializing header: …'."""
        short_type = self.exception_type.rpartition(".")[2] or "Error"
        text = self.exception_message.strip() or "no details"
        where = f"Node {self.node_id} ({self.node_type})" if self.node_id else "The prompt"
        return f"{where} failed: {short_type}: {text}"

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> ExecutionError:
        """From an `execution_error` websocket message or history status message."""
        node_id = data.get("node_id")
        node_type = data.get("node_type")
        return cls(
            node_id=str(node_id) if node_id is not None else None,
            node_type=str(node_type) if node_type is not None else None,
            exception_type=str(data.get("exception_type") or "Error"),
            exception_message=str(data.get("exception_message") or ""),
        )


def _moment(value: object) -> datetime | None:
    """ComfyUI's message timestamps are milliseconds since the epoch; anything else is no time at all."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 10**14:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


@dataclass
class HistoryEntry:
    prompt_id: str
    status_str: str
    completed: bool
    outputs: list[OutputFile]
    error: ExecutionError | None
    interrupted: bool
    raw: dict[str, Any]
    # When the server started and ended the prompt (its status messages' timestamps): a prompt that finished
    # while the app was down still gets its true times.
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.completed and self.status_str == "success"

    @classmethod
    def parse(cls, prompt_id: str, entry: dict[str, Any]) -> HistoryEntry:
        status = _dict_at(entry, "status")
        error: ExecutionError | None = None
        interrupted = False
        started_at = ended_at = None
        for message in status.get("messages") or []:
            if not isinstance(message, list | tuple) or len(message) < 2 or not isinstance(message[1], dict):
                continue
            moment = _moment(message[1].get("timestamp"))
            if message[0] == "execution_start" and moment is not None:
                started_at = moment
            elif message[0] in ("execution_success", "execution_error", "execution_interrupted") and moment:
                ended_at = moment
            if message[0] == "execution_error":
                error = ExecutionError.from_message(message[1])
            elif message[0] == "execution_interrupted":
                interrupted = True
        outputs = _dict_at(entry, "outputs")
        return cls(
            prompt_id=prompt_id,
            status_str=str(status.get("status_str") or ""),
            completed=bool(status.get("completed")),
            outputs=output_files(outputs),
            error=error,
            interrupted=interrupted,
            raw=entry,
            started_at=started_at,
            ended_at=ended_at,
        )


@dataclass
class WsEvent:
    type: str
    data: dict[str, Any]


@dataclass
class PreviewFrame:
    image: bytes
    mime: str
    prompt_id: str | None = None
    node_id: str | None = None


@dataclass
class Catalog:
    checkpoints: list[str]
    loras: list[str]
    vaes: list[str]
    embeddings: list[str]
    upscalers: list[str]
    node_types: list[str] = field(default_factory=list)
    node_specs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConnectionReport:
    ok: bool
    kind: str
    message: str
    version: str | None = None
    stats: SystemStats | None = None
