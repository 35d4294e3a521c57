"""The generation engine's state: servers, models, configs, workflows, batches and jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import ConfigDict, field_validator
from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel

from ._common import big_int_column, json_column, utcnow

JOB_STATUSES = ("queued", "dispatched", "running", "completed", "failed", "cancelled")
# Server states that get work: online, or degraded (slow but answering, as its health message promises).
WORKING_SERVER_STATUSES = ("online", "degraded")


# Jobs one server runs at once at most.
MAX_JOBS_LIMIT = 16
SERVER_NAME_MAX = 100
SERVER_URL_MAX = 500
SECRET_MAX = 2000
RUNPOD_ENDPOINT_MAX = 100


def clean_url(value: str | None) -> str | None:
    """An http(s) address with a host; the trailing slash goes so one machine has one spelling."""
    if value is None:
        return None
    url = value.strip().rstrip("/")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("enter an http:// or https:// address with a host, e.g. http://gpu-1:8188")
    try:
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError as error:
        raise ValueError("the port must be a number between 1 and 65535, e.g. http://gpu-1:8188") from error
    return url


class ServerBase(SQLModel):
    """What an administrator sets, with its limits: the table, ServerCreate and ServerPublic share them."""

    name: str = Field(min_length=1, max_length=SERVER_NAME_MAX)
    runpod_endpoint_id: str | None = Field(default=None, max_length=RUNPOD_ENDPOINT_MAX)
    max_jobs: int = Field(default=2, ge=1, le=MAX_JOBS_LIMIT)
    enabled: bool = Field(default=True)


class ComfyServer(ServerBase, table=True):
    __tablename__ = "comfy_servers"

    id: int | None = Field(default=None, primary_key=True)
    base_url: str = Field(max_length=SERVER_URL_MAX)
    encrypted_api_key: str | None = None
    encrypted_runpod_key: str | None = None
    status: str = Field(default="unknown", max_length=20)  # online | offline | degraded | unknown
    queue_depth: int = Field(default=0)
    gpu_name: str | None = Field(default=None, max_length=200)
    vram_total: int | None = Field(default=None, sa_column=big_int_column())
    vram_free: int | None = Field(default=None, sa_column=big_int_column())
    ram_total: int | None = Field(default=None, sa_column=big_int_column())
    ram_free: int | None = Field(default=None, sa_column=big_int_column())
    comfy_version: str | None = Field(default=None, max_length=50)
    last_error: str | None = None
    last_checked_at: datetime | None = None
    # When it last answered a check (online or slow): an offline server shows this, not its old GPU figures.
    last_seen_at: datetime | None = None
    last_checkpoint: str | None = Field(default=None, max_length=500)
    catalog_refreshed_at: datetime | None = None
    # Node class names from /object_info: which workflows (e.g. face swap) this server can run.
    node_types: list[str] = Field(default_factory=list, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow)


class ServerCreate(ServerBase):
    """An address for ComfyUI, or a RunPod endpoint id with its key; keys are stored encrypted."""

    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel's config type is pydantic's with table options added

    url: str | None = Field(default=None, max_length=SERVER_URL_MAX)
    api_key: str | None = Field(default=None, max_length=SECRET_MAX)
    runpod_api_key: str | None = Field(default=None, max_length=SECRET_MAX)

    _url = field_validator("url")(clean_url)


class ServerUpdate(SQLModel):
    """Every field optional; an empty api_key or runpod_api_key removes the stored key."""

    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]  # SQLModel's config type is pydantic's with table options added

    name: str | None = Field(default=None, min_length=1, max_length=SERVER_NAME_MAX)
    url: str | None = Field(default=None, max_length=SERVER_URL_MAX)
    api_key: str | None = Field(default=None, max_length=SECRET_MAX)
    runpod_endpoint_id: str | None = Field(default=None, max_length=RUNPOD_ENDPOINT_MAX)
    runpod_api_key: str | None = Field(default=None, max_length=SECRET_MAX)
    max_jobs: int | None = Field(default=None, ge=1, le=MAX_JOBS_LIMIT)
    enabled: bool | None = None

    _url = field_validator("url")(clean_url)


class ServerPublic(ServerBase):
    """What anyone signed in may see of a server: never a key, only whether one is set and its first/last letters."""

    id: int
    url: str
    has_api_key: bool
    api_key_hint: str | None
    status: str
    queue_depth: int
    active_jobs: int
    gpu_name: str | None
    vram_total: int | None
    vram_free: int | None
    ram_total: int | None
    ram_free: int | None
    comfy_version: str | None
    last_error: str | None
    last_checked_at: datetime | None
    last_seen_at: datetime | None = None
    catalog_refreshed_at: datetime | None


class ServerNodeSpecs(SQLModel, table=True):
    """Each node's inputs (required, optional) and output types from a server's /object_info, as node_specs()
    keeps them: graphs are checked against them at import and before queueing (what ComfyUI's own validation
    refuses).

    A table of its own because they are large (about 180 kB of JSON a server): on the server row, every read
    of a server (each dispatcher tick reads all of them) decoded them, 10 ms each."""

    __tablename__ = "server_node_specs"

    server_id: int = Field(foreign_key="comfy_servers.id", ondelete="CASCADE", primary_key=True)
    specs: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())


class AbandonedPrompt(SQLModel, table=True):
    """A prompt left on a server that stopped answering while its job moved elsewhere: it must never run there.

    Kept until the server answers again and has deleted it from its queue (or interrupted it), so a restart
    of the app in between still cleans up. Rows go with their server."""

    __tablename__ = "abandoned_prompts"

    server_id: int = Field(foreign_key="comfy_servers.id", ondelete="CASCADE", primary_key=True)
    prompt_id: str = Field(max_length=100, primary_key=True)
    # It was running when abandoned: it needs an interrupt, not only a delete from the queue.
    running: bool = Field(default=False)
    abandoned_at: datetime = Field(default_factory=utcnow)


class ModelEntry(SQLModel, table=True):
    __tablename__ = "model_entries"
    __table_args__ = (UniqueConstraint("kind", "file_name", name="uq_model_entries_kind_file"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # checkpoint | lora | vae | embedding | upscaler
    file_name: str = Field(max_length=500, index=True)
    sha256: str | None = Field(default=None, max_length=64, index=True)
    base_model: str | None = Field(default=None, max_length=100)
    display_name: str | None = Field(default=None, max_length=300)
    civitai_model_id: int | None = None
    civitai_version_id: int | None = None
    trigger_words: list[str] = Field(default_factory=list, sa_column=json_column())
    info: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow)


class ServerModel(SQLModel, table=True):
    """Which server has which model file: the dispatcher's routing table."""

    __tablename__ = "server_models"

    server_id: int = Field(foreign_key="comfy_servers.id", ondelete="CASCADE", primary_key=True)
    model_id: int = Field(foreign_key="model_entries.id", ondelete="CASCADE", primary_key=True, index=True)


class InferenceConfig(SQLModel, table=True):
    __tablename__ = "inference_configs"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE", index=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    model_id: int | None = Field(default=None, foreign_key="model_entries.id", ondelete="SET NULL")
    base_model: str | None = Field(default=None, max_length=100)
    sampler: str = Field(default="euler", max_length=50)
    scheduler: str = Field(default="normal", max_length=50)
    steps: int = Field(default=20, ge=1)
    cfg: float = Field(default=7.0)
    width: int = Field(default=1024)
    height: int = Field(default=576)
    seed_policy: str = Field(default="random", max_length=20)  # fixed | random | increment
    seed: int | None = None
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    is_default: bool = Field(default=False)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)


WORKFLOW_NAME_MAX = 200


class WorkflowBase(SQLModel):
    """What every workflow shows, with its limits: the table and WorkflowPublic share them."""

    name: str = Field(max_length=WORKFLOW_NAME_MAX)
    kind: str = Field(max_length=20)  # image | img2img | video | faceswap
    builtin: bool = Field(default=False)


class WorkflowTemplate(WorkflowBase, table=True):
    __tablename__ = "workflow_templates"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE", index=True)
    graph: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    bindings: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow)


class WorkflowCreate(SQLModel):
    """Taken as any JSON: the workflow service says what is wrong in words (a UI-format export, a name too
    long, a missing node) instead of a schema error, using the limits above."""

    name: str
    kind: str
    graph: Any
    bindings: Any = None


class WorkflowUpdate(SQLModel):
    """Only the fields given change; checked by the service like a new workflow."""

    name: str | None = None
    kind: str | None = None
    graph: Any = None
    bindings: Any = None


class WorkflowPublic(WorkflowBase):
    id: int
    graph: dict[str, Any]
    bindings: dict[str, Any]
    created_at: datetime


BATCH_NAME_MAX = 200
# A batch's priority boost: the queue serves higher first (0 is a normal request).
PRIORITY_MIN, PRIORITY_MAX = -10, 10


class BatchBase(SQLModel):
    """What a person sets on a batch, with its limits: the table, BatchRequest and the batch views share it."""

    name: str = Field(default="", max_length=BATCH_NAME_MAX)
    priority: int = Field(default=0, ge=PRIORITY_MIN, le=PRIORITY_MAX)


class Batch(BatchBase, table=True):
    __tablename__ = "batches"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow)
    # Set when the "batch finished" notice went out; a retry of its failures clears it.
    notified_at: datetime | None = None


class JobBase(SQLModel):
    """What anyone following a job sees of it (REST, the queue page): the table and JobPublic share it."""

    kind: str = Field(max_length=20)  # image | video | faceswap
    status: str = Field(default="queued", max_length=20)
    project_id: int = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    clip_id: int | None = Field(default=None, foreign_key="clips.id", ondelete="CASCADE", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batches.id", ondelete="CASCADE", index=True)
    server_id: int | None = Field(default=None, foreign_key="comfy_servers.id", ondelete="SET NULL")
    priority: int = Field(default=0)
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=3)
    progress: float = Field(default=0.0)
    current_node: str | None = Field(default=None, max_length=200)
    error: str | None = None
    # False when the server refused the graph itself (validation): the same job would be refused again.
    can_retry: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    # Routing: the checkpoint (affinity).
    checkpoint: str | None = Field(default=None, max_length=500)
    remote_prompt_id: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    dispatched_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    next_attempt_at: datetime | None = None


class GenerationJob(JobBase, table=True):
    __tablename__ = "generation_jobs"
    __table_args__ = (
        # The queue in the order the dispatcher reads it, and each person's queue (fair shares).
        Index("ix_generation_jobs_queue", "status", text("priority DESC"), "created_at", "id"),
        Index("ix_generation_jobs_owner_queue", "status", "owner_id", text("priority DESC"), "created_at", "id"),
        Index("ix_generation_jobs_server_status", "server_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    depends_on_id: int | None = Field(
        default=None, foreign_key="generation_jobs.id", ondelete="SET NULL", index=True
    )
    workflow_id: int | None = Field(default=None, foreign_key="workflow_templates.id", ondelete="SET NULL")
    # Routing: every model file / node class the graph needs.
    required_models: list[dict[str, str]] = Field(default_factory=list, sa_column=json_column())
    required_nodes: list[str] = Field(default_factory=list, sa_column=json_column())
    # Which app process follows the job, and until when its claim holds without renewal.
    claimed_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = None
    cancel_requested: bool = Field(default=False)
    last_message_at: datetime | None = None
    preview_path: str | None = Field(default=None, max_length=1000)
    resolved_graph: dict[str, Any] | None = Field(default=None, sa_column=json_column(nullable=True))
    # False until the owner was told how the job ended (a sweep turns finished jobs into notifications).
    notified: bool = Field(default=False, index=True)


class JobPublic(JobBase):
    """A job over REST: outside scripts rely on this shape, so fields are only ever added."""

    id: int
    queue_position: int | None
    estimated_wait_s: float | None
    preview_url: str | None

    @classmethod
    def of(cls, view: Any) -> Self:
        """From a job view (the service's JobView): its fields by name, and where its live preview is."""
        values = {name: getattr(view, name) for name in cls.model_fields if name != "preview_url"}
        return cls(**values, preview_url=f"/api/v1/jobs/{view.id}/preview" if view.has_preview else None)


class JobDetailPublic(JobPublic):
    resolved_graph: dict[str, Any] | None
    gallery_item_ids: list[int]
