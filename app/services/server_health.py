"""Is each server up, how busy, on what GPU: health checks for the scheduler and connection tests for admins.

Network calls never hold a database session: each check reads what it needs in one short session, talks to the
server, then writes the outcome in another. Many servers are checked at once, each with a short timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from app.config import get_settings
from app.integrations.comfyui import ComfyClient, ComfyError, SystemStats, test_connection
from app.integrations.runpod import RunpodClient
from data.engine import session_scope
from data.errors import DomainError, Invalid
from data.models import WORKING_SERVER_STATUSES, ComfyServer, User
from data.models._common import utcnow

from . import events
from .security import decrypt_secret
from .server_catalog import refresh_catalog
from .servers import clean_url, get_server, require_admin, runpod_key

log = logging.getLogger("storycanvas.servers")

HEALTH_TIMEOUT = 5.0
TEST_TIMEOUT = 5.0
# Answering slower than this (both calls together) marks a server degraded: it works, but expect waits.
SLOW_SECONDS = 3.0


@dataclass(frozen=True)
class ConnectionResult:
    """A connection test's outcome in words an administrator can act on."""

    ok: bool
    kind: str | None
    message: str
    version: str | None = None
    gpu_name: str | None = None


@dataclass(frozen=True)
class _Target:
    """What a check needs from the database, read before any network call."""

    server_id: int
    name: str
    base_url: str
    api_key: str | None
    runpod_endpoint_id: str | None
    runpod_key: str | None
    was_up: bool
    catalog_due: bool


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _target(server: ComfyServer) -> _Target:
    refreshed = _aware(server.catalog_refreshed_at)
    interval = timedelta(seconds=get_settings().catalog_interval_seconds)
    return _Target(
        server_id=server.id,  # type: ignore[arg-type]  # a stored row's id is never None
        name=server.name,
        base_url=server.base_url,
        api_key=decrypt_secret(server.encrypted_api_key) if server.encrypted_api_key else None,
        runpod_endpoint_id=server.runpod_endpoint_id,
        runpod_key=runpod_key(server),
        was_up=server.status in WORKING_SERVER_STATUSES,
        catalog_due=refreshed is None or utcnow() - refreshed > interval,
    )


def _store(server_id: int, **fields: Any) -> ComfyServer | None:
    with session_scope() as session:
        server = session.get(ComfyServer, server_id)
        if server is None:  # deleted while the check was on the way
            return None
        for key, value in fields.items():
            setattr(server, key, value)
        server.last_checked_at = utcnow()
        if server.status in WORKING_SERVER_STATUSES:
            server.last_seen_at = server.last_checked_at
        session.add(server)
        session.commit()
    events.emit(events.servers_changed, server_id)
    return server


def _stats_fields(stats: SystemStats) -> dict[str, Any]:
    device = stats.devices[0] if stats.devices else None
    return {
        "comfy_version": stats.comfyui_version[:50] if stats.comfyui_version else None,
        "ram_total": stats.ram_total,
        "ram_free": stats.ram_free,
        "gpu_name": device.label[:200] if device else None,
        "vram_total": device.vram_total if device else None,
        "vram_free": device.vram_free if device else None,
    }


async def _check_comfyui(target: _Target) -> dict[str, Any]:
    client = _client(target, HEALTH_TIMEOUT)
    async with client:
        elapsed = None
        for _attempt in range(2):  # one slow answer is a moment; slow twice running is the server
            started = time.monotonic()
            try:
                stats = await client.system_stats()
            except ComfyError as error:
                return {"status": "offline", "last_error": error.message}
            fields = _stats_fields(stats)
            try:
                queue = await client.queue()
            except ComfyError as error:
                message = f"The queue (/queue) did not answer: {error.message}"
                return {**fields, "status": "degraded", "last_error": message}
            elapsed = time.monotonic() - started
            if elapsed <= SLOW_SECONDS:
                break
    fields["queue_depth"] = len(queue.running) + len(queue.pending)
    if elapsed is not None and elapsed > SLOW_SECONDS:
        return {
            **fields,
            "status": "degraded",
            "last_error": f"Answers slowly ({elapsed:.1f} s for /system_stats and /queue): the machine may be "
            "overloaded or the network congested; jobs will still be sent to it.",
        }
    return {**fields, "status": "online", "last_error": None}


def run_checks_off_the_loop(*, only_offline: bool = False) -> int:
    """The checks in an event loop of their own, in the calling (worker) thread.

    Timed on the app's loop, every stall of the app (a big page, a busy tick) counted against the servers:
    a busy app called healthy servers slow. Here the timings are the servers' own."""
    return asyncio.run(check_all_health(only_offline=only_offline))


def _client(target: _Target, timeout: float) -> ComfyClient:
    return ComfyClient(target.base_url, target.api_key, timeout=timeout)


def _runpod_summary(health: dict[str, Any]) -> tuple[int, str]:
    jobs = health.get("jobs") or {}
    workers = health.get("workers") or {}
    depth = int(jobs.get("inQueue", 0) or 0) + int(jobs.get("inProgress", 0) or 0)
    summary = (
        f"{int(workers.get('idle', 0) or 0)} workers idle, {int(workers.get('running', 0) or 0)} running, "
        f"{depth} jobs queued or in progress"
    )
    return depth, summary


async def _runpod_health(target: _Target, timeout: float) -> dict[str, Any]:
    async with RunpodClient(
        target.base_url, target.runpod_endpoint_id or "", target.runpod_key or "", timeout=timeout
    ) as client:
        return await client.health()


async def _check_runpod(target: _Target) -> dict[str, Any]:
    try:
        health = await _runpod_health(target, HEALTH_TIMEOUT)
    except ComfyError as error:
        return {"status": "offline", "last_error": error.message}
    depth, _summary = _runpod_summary(health)
    return {"status": "online", "queue_depth": depth, "last_error": None}


async def check_health(server_id: int) -> ComfyServer | None:
    """Ask the server how it is and store the answer; a server that answers well is online again.

    That includes one the dispatcher marked degraded for a stalled prompt. A server that comes (back) online, or
    whose catalog is older than catalog_interval_seconds, gets its catalog refreshed. None: no such server.
    """
    with session_scope() as session:
        server = session.get(ComfyServer, server_id)
        if server is None:
            return None
        try:
            target = _target(server)
        except DomainError as error:  # a key stored under another installation's secret
            return _store(server_id, status="offline", last_error=error.message)
    fields = await (_check_runpod(target) if target.runpod_endpoint_id else _check_comfyui(target))
    stored = _store(server_id, **fields)
    if stored is None or stored.status == "offline" or target.runpod_endpoint_id:
        return stored
    if target.catalog_due or not target.was_up:
        try:
            await refresh_catalog(server_id)
        except DomainError as error:
            log.info("catalog of server %s not refreshed: %s", server_id, error.message)
        with session_scope() as session:
            stored = session.get(ComfyServer, server_id)
    return stored


async def check_all_health(*, only_offline: bool = False) -> int:
    """Check every enabled server at once (the scheduler's job); returns how many were checked.

    `only_offline`: the quick probe that notices a server coming back within seconds, not at the next full check.
    """
    with session_scope() as session:
        query = select(ComfyServer.id).where(col(ComfyServer.enabled).is_(True))
        if only_offline:
            query = query.where(col(ComfyServer.status).in_(("offline", "unknown")))
        server_ids = list(session.exec(query))
    if not server_ids:
        return 0
    results = await asyncio.gather(
        *(check_health(sid) for sid in server_ids if sid is not None), return_exceptions=True
    )
    for server_id, result in zip(server_ids, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("health check of server %s failed: %r", server_id, result)
    return len(server_ids)


async def _test(target: _Target) -> ConnectionResult:
    if target.runpod_endpoint_id:
        try:
            health = await _runpod_health(target, TEST_TIMEOUT)
        except ComfyError as error:
            return ConnectionResult(False, error.kind, error.message)
        _depth, summary = _runpod_summary(health)
        return ConnectionResult(True, None, f"RunPod endpoint {target.runpod_endpoint_id} answers: {summary}.")
    report = await test_connection(target.base_url, target.api_key, timeout=TEST_TIMEOUT)
    gpu = report.stats.devices[0].label if report.ok and report.stats and report.stats.devices else None
    return ConnectionResult(report.ok, report.kind, report.message, report.version, gpu)


async def test_server(actor: User, server_id: int) -> ConnectionResult:
    """An administrator's connection test of a stored server; the outcome is stored as its health too."""
    with session_scope() as session:
        require_admin(actor)
        target = _target(get_server(session, actor, server_id))
    result = await _test(target)
    if result.ok:
        await check_health(server_id)
    else:
        _store(server_id, status="offline", last_error=result.message)
    return result


async def test_draft(
    actor: User,
    url: str | None,
    api_key: str | None = None,
    runpod_endpoint_id: str | None = None,
    runpod_api_key: str | None = None,
    *,
    server_id: int | None = None,
) -> ConnectionResult:
    """Test settings before saving them; blank keys of an existing server (server_id) mean its stored keys."""
    require_admin(actor)
    try:
        cleaned = clean_url(url)
    except ValueError as error:
        raise Invalid(f"url: {error}", field="url") from error
    endpoint = (runpod_endpoint_id or "").strip() or None
    if cleaned is None:
        if not endpoint:
            raise Invalid("url: enter the address of the machine running ComfyUI, e.g. http://gpu-1:8188", field="url")
        cleaned = get_settings().runpod_api_base.rstrip("/")
    stored_key = stored_runpod = None
    if server_id is not None:
        with session_scope() as session:
            server = get_server(session, actor, server_id)
            stored_key = decrypt_secret(server.encrypted_api_key) if server.encrypted_api_key else None
            stored_runpod = runpod_key(server)
    target = _Target(
        server_id=server_id or 0,
        name="",
        base_url=cleaned,
        api_key=(api_key or "").strip() or stored_key,
        runpod_endpoint_id=endpoint,
        runpod_key=(runpod_api_key or "").strip() or stored_runpod,
        was_up=False,
        catalog_due=False,
    )
    return await _test(target)
