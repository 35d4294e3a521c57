"""The studio's ComfyUI servers: who may manage them, their public shape, and what deleting one does to its jobs.

Servers are shared by every project. Anyone signed in may see them (never their keys); only administrators
change them. Network work (connection tests, health, catalogs) lives in server_health and server_catalog.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete as sql_delete
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.config import get_settings
from app.integrations.comfyui import ComfyClient
from data.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from data.models import (
    MAX_JOBS_LIMIT,
    ComfyServer,
    GenerationJob,
    ServerCreate,
    ServerModel,
    ServerNodeSpecs,
    ServerPublic,
    ServerUpdate,
    User,
    clean_url,
)

from . import events, unreadable_rows

# The server shapes and their limits live with the table (data/models); named here too for the callers.
__all__ = ["MAX_JOBS_LIMIT", "ServerCreate", "ServerPublic", "ServerUpdate", "clean_url"]
from .projects import validation_error
from .security import decrypt_secret, encrypt_secret, mask_secret

ACTIVE_JOB_STATUSES = ("dispatched", "running")
ADMIN_ONLY = "Only an administrator can manage servers."


class ServerUnreachable(DomainError):
    """The server did not answer as ComfyUI should; the message says what to check."""

    status_code = 502


def _clean_text(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def parse_create(**values: Any) -> ServerCreate:
    try:
        return ServerCreate(**values)
    except ValidationError as error:
        raise validation_error(error) from error


def parse_update(**values: Any) -> ServerUpdate:
    try:
        return ServerUpdate(**values)
    except ValidationError as error:
        raise validation_error(error) from error


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(ADMIN_ONLY)


def _secret(value: str | None) -> str | None:
    return encrypt_secret(value) if value else None


def _key_hint(encrypted: str | None) -> str | None:
    if not encrypted:
        return None
    try:
        return mask_secret(decrypt_secret(encrypted))
    except DomainError:
        return "unreadable: enter the key again"


def public_server(server: ComfyServer, active_jobs: int = 0) -> ServerPublic:
    return ServerPublic(
        id=server.id,  # type: ignore[arg-type]  # a stored row's id is never None
        name=server.name,
        url=server.base_url,
        has_api_key=bool(server.encrypted_api_key),
        api_key_hint=_key_hint(server.encrypted_api_key),
        runpod_endpoint_id=server.runpod_endpoint_id,
        max_jobs=server.max_jobs,
        enabled=server.enabled,
        status=server.status,
        queue_depth=server.queue_depth,
        active_jobs=active_jobs,
        gpu_name=server.gpu_name,
        vram_total=server.vram_total,
        vram_free=server.vram_free,
        ram_total=server.ram_total,
        ram_free=server.ram_free,
        comfy_version=server.comfy_version,
        last_error=server.last_error,
        last_checked_at=server.last_checked_at,
        last_seen_at=server.last_seen_at,
        catalog_refreshed_at=server.catalog_refreshed_at,
    )


def list_servers(session: Session, actor: User) -> list[ComfyServer]:
    """Everyone signed in sees the whole fleet (servers are studio-wide)."""
    query = select(ComfyServer).order_by(func.lower(ComfyServer.name), col(ComfyServer.id))
    return unreadable_rows.load_each(session, query, ComfyServer)  # an unreadable row is left out, logged


def get_server(session: Session, actor: User | None, server_id: int) -> ComfyServer:
    server = session.get(ComfyServer, server_id)
    if server is None:
        raise NotFound(f"Server {server_id} does not exist (it may have been deleted).")
    return server


def active_job_counts(session: Session) -> dict[int, int]:
    """Server id → jobs dispatched to it or running on it (servers with none are absent)."""
    query = (
        select(GenerationJob.server_id, func.count())
        .where(col(GenerationJob.status).in_(ACTIVE_JOB_STATUSES), col(GenerationJob.server_id).is_not(None))
        .group_by(col(GenerationJob.server_id))
    )
    return {server_id: count for server_id, count in session.exec(query) if server_id is not None}


def public_servers(session: Session, actor: User) -> list[ServerPublic]:
    """The fleet as the REST list and the servers page show it, each with its active jobs counted."""
    counts = active_job_counts(session)
    return [public_server(s, counts.get(s.id, 0)) for s in list_servers(session, actor)]  # type: ignore[arg-type]  # a stored row's id is never None


def public_server_of(session: Session, actor: User | None, server_id: int) -> ServerPublic:
    """One server as the REST answer and the servers page show it; NotFound when it is gone."""
    server = get_server(session, actor, server_id)
    return public_server(server, active_job_counts(session).get(server_id, 0))


def jobs_to_requeue(session: Session, server_id: int) -> int:
    """How many jobs go back to the queue if this server is deleted (said in the confirmation)."""
    return active_job_counts(session).get(server_id, 0)


def _check_duplicate(session: Session, url: str, endpoint_id: str | None, exclude_id: int | None = None) -> None:
    query = select(ComfyServer).where(ComfyServer.base_url == url)
    query = query.where(
        ComfyServer.runpod_endpoint_id == endpoint_id if endpoint_id else col(ComfyServer.runpod_endpoint_id).is_(None)
    )
    if exclude_id is not None:
        query = query.where(ComfyServer.id != exclude_id)
    existing = session.exec(query).first()
    if existing is not None:
        what = f"{url} (endpoint {endpoint_id})" if endpoint_id else url
        raise Conflict(f"{what} is already registered as “{existing.name}”: edit that server instead.", field="url")


def _resolved_url(url: str | None, endpoint_id: str | None) -> str:
    if url:
        return url
    if endpoint_id:
        return get_settings().runpod_api_base.rstrip("/")
    raise Invalid("url: enter the address of the machine running ComfyUI, e.g. http://gpu-1:8188", field="url")


def create_server(session: Session, actor: User, data: ServerCreate) -> ComfyServer:
    """Only administrators add servers; one address (and RunPod endpoint) is registered once."""
    require_admin(actor)
    endpoint = data.runpod_endpoint_id or None
    url = _resolved_url(data.url, endpoint)
    _check_duplicate(session, url, endpoint)
    server = ComfyServer(
        name=data.name,
        base_url=url,
        encrypted_api_key=_secret(data.api_key),
        runpod_endpoint_id=endpoint,
        encrypted_runpod_key=_secret(data.runpod_api_key),
        max_jobs=data.max_jobs,
        enabled=data.enabled,
    )
    session.add(server)
    session.commit()
    session.refresh(server)
    events.emit(events.servers_changed, server.id)
    return server


def update_server(session: Session, actor: User, server_id: int, data: ServerUpdate) -> ComfyServer:
    """A new address means another machine: its health and catalog are forgotten until the next check."""
    require_admin(actor)
    server = get_server(session, actor, server_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is not None:
        server.name = changes["name"]
    if changes.get("max_jobs") is not None:
        server.max_jobs = changes["max_jobs"]
    if changes.get("enabled") is not None:
        server.enabled = changes["enabled"]
    if "api_key" in changes and changes["api_key"] is not None:
        server.encrypted_api_key = _secret(changes["api_key"])
    if "runpod_api_key" in changes and changes["runpod_api_key"] is not None:
        server.encrypted_runpod_key = _secret(changes["runpod_api_key"])
    endpoint = server.runpod_endpoint_id
    if "runpod_endpoint_id" in changes and changes["runpod_endpoint_id"] is not None:
        endpoint = changes["runpod_endpoint_id"] or None
    url = server.base_url
    if "url" in changes and changes["url"] is not None:
        url = changes["url"]
    if (url, endpoint) != (server.base_url, server.runpod_endpoint_id):
        _check_duplicate(session, url, endpoint, exclude_id=server.id)
        server.base_url, server.runpod_endpoint_id = url, endpoint
        _forget_machine(session, server)
    session.add(server)
    session.commit()
    session.refresh(server)
    events.emit(events.servers_changed, server.id)
    return server


def _forget_machine(session: Session, server: ComfyServer) -> None:
    server.status, server.queue_depth, server.last_error = "unknown", 0, None
    server.gpu_name = server.comfy_version = None
    server.vram_total = server.vram_free = server.ram_total = server.ram_free = None
    server.last_checked_at = server.catalog_refreshed_at = None
    server.node_types = []
    session.exec(sql_delete(ServerNodeSpecs).where(col(ServerNodeSpecs.server_id) == server.id))
    drop_links(session, server.id)  # type: ignore[arg-type]  # a stored row's id is never None


def drop_links(session: Session, server_id: int) -> None:
    """The catalog's links of a server whose machine changed or went away; the shared model entries stay."""
    session.exec(sql_delete(ServerModel).where(col(ServerModel.server_id) == server_id))


def set_enabled(session: Session, actor: User, server_id: int, enabled: bool) -> ComfyServer:
    """A disabled server keeps its settings and catalog; the dispatcher sends it nothing new."""
    return update_server(session, actor, server_id, ServerUpdate(enabled=enabled))


def delete_server(session: Session, actor: User, server_id: int) -> int:
    """Unfinished jobs on it go back to the queue, as if never dispatched; returns how many went back."""
    require_admin(actor)
    server = get_server(session, actor, server_id)
    jobs = list(
        session.exec(
            select(GenerationJob).where(
                GenerationJob.server_id == server_id, col(GenerationJob.status).in_(ACTIVE_JOB_STATUSES)
            )
        )
    )
    for job in jobs:
        job.status, job.server_id, job.remote_prompt_id = "queued", None, None
        job.claimed_by, job.lease_until = None, None
        job.progress, job.current_node = 0.0, None
        session.add(job)
    session.flush()
    session.delete(server)
    session.commit()
    events.emit(events.servers_changed, server_id)
    for project_id in sorted({job.project_id for job in jobs}):
        events.emit(events.jobs_changed, project_id)
    return len(jobs)


def client_for(server: ComfyServer, *, timeout: float = 10.0) -> ComfyClient:
    """A client for the server with its key decrypted; the caller closes it (async with)."""
    api_key = decrypt_secret(server.encrypted_api_key) if server.encrypted_api_key else None
    return ComfyClient(server.base_url, api_key, timeout=timeout)


def runpod_key(server: ComfyServer) -> str | None:
    return decrypt_secret(server.encrypted_runpod_key) if server.encrypted_runpod_key else None
