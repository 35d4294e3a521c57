"""Jobs on a RunPod serverless endpoint (worker-comfyui): /run, then /status until done.

RunPod gives its own job id, so a crash between our claim and its answer cannot be matched
later: such a job is queued again (it may then run twice there; locally it is stored once,
since results are kept by content hash).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from app.config import get_settings
from app.integrations.comfyui import ComfyError
from app.integrations.runpod import RunpodClient
from app.services import events
from app.services.security import decrypt_secret
from data.engine import session_scope
from data.models import ComfyServer, GenerationJob

from . import claims, results

if TYPE_CHECKING:
    from .base import Tracked
    from .dispatcher import Dispatcher

log = logging.getLogger("storycanvas.dispatch")


def runpod_client(server: ComfyServer) -> RunpodClient:
    key = decrypt_secret(server.encrypted_runpod_key) if server.encrypted_runpod_key else ""
    base = server.base_url or get_settings().runpod_api_base
    return RunpodClient(base, server.runpod_endpoint_id or "", key)


async def _input_images(job: GenerationJob) -> list[tuple[str, bytes]]:
    from app.services.scenes import media_path

    images = []
    for name_key, path_key in (("init_image", "init_image_path"), ("face_image", "face_image_path")):
        name, stored = job.params.get(name_key), job.params.get(path_key)
        path = media_path(stored) if stored else None
        if name and path is not None and path.is_file():
            images.append((str(name), await asyncio.to_thread(path.read_bytes)))
    return images


async def submit_runpod(dispatcher: Dispatcher, server: ComfyServer, job: GenerationJob, prompt_id: str) -> None:
    settings = get_settings()
    client = runpod_client(server)
    try:
        remote_id = await client.run(job.resolved_graph or {}, await _input_images(job))
    except ComfyError as error:
        dispatcher._forget(prompt_id)
        with session_scope() as session:
            claims.retry_or_fail(
                session,
                job.id,
                prompt_id,
                f"{server.name}: {error.message}",  # type: ignore[arg-type]
                base=settings.retry_base_seconds,
                cap=settings.retry_cap_seconds,
            )
        events.emit(events.jobs_changed, job.project_id)
        return
    finally:
        await client.aclose()
    with session_scope() as session:
        moved = claims.guarded_update(session, job.id, prompt_id, ("dispatched",), remote_prompt_id=remote_id)  # type: ignore[arg-type]
    tracked = dispatcher._tracked.pop(prompt_id, None)
    if moved and tracked is not None:
        dispatcher._tracked[remote_id] = tracked


async def poll_runpod(dispatcher: Dispatcher, server: ComfyServer, mine: list[tuple[str, Tracked]]) -> None:
    settings = get_settings()
    client = runpod_client(server)
    try:
        for remote_id, tracked in mine:
            if remote_id in dispatcher._settling:
                continue
            try:
                status = await client.status(remote_id)
            except ComfyError as error:
                log.info("RunPod status of %s postponed: %s", remote_id, error.message)
                continue
            tracked.last_message = time.monotonic()
            if status.status == "IN_PROGRESS" and not tracked.running:
                dispatcher._mark_running(remote_id, tracked)
            elif status.status == "COMPLETED":
                outputs = [
                    results.Output(
                        node_id="runpod",
                        filename=image.filename,
                        media=results.media_kind(image.filename),
                        data=image.data,
                    )
                    for image in status.images
                ]
                if not outputs:
                    with session_scope() as session:
                        claims.fail_now(session, tracked.job_id, remote_id, "The RunPod worker returned no images.")
                else:
                    stored = await asyncio.to_thread(
                        results.store_results, tracked.job_id, remote_id, server.name, outputs
                    )
                    if stored.completed:
                        dispatcher.completed += 1
                        events.emit(events.project_changed, tracked.project_id)
                dispatcher._forget(remote_id)
                events.emit(events.jobs_changed, tracked.project_id)
            elif status.status in ("FAILED", "TIMED_OUT", "CANCELLED"):
                with session_scope() as session:
                    job = session.get(GenerationJob, tracked.job_id)
                    if status.status == "CANCELLED" and job is not None and job.cancel_requested:
                        claims.mark_cancelled(session, tracked.job_id, remote_id)
                    else:
                        claims.retry_or_fail(
                            session,
                            tracked.job_id,
                            remote_id,
                            f"{server.name}: {status.error or status.status.lower()}",
                            base=settings.retry_base_seconds,
                            cap=settings.retry_cap_seconds,
                        )
                dispatcher._forget(remote_id)
                events.emit(events.jobs_changed, tracked.project_id)
    finally:
        await client.aclose()


async def cancel_runpod(dispatcher: Dispatcher, server: ComfyServer, job: GenerationJob) -> None:
    if job.remote_prompt_id is None:
        return
    client = runpod_client(server)
    try:
        await client.cancel(job.remote_prompt_id)
        dispatcher._interrupt_sent.add(job.remote_prompt_id)
    except ComfyError as error:
        log.info("RunPod cancel of %s waits: %s", job.remote_prompt_id, error.message)
    finally:
        await client.aclose()
