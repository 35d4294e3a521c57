"""RunPod serverless endpoints (worker-comfyui): /run, then /status until done; no progress reports.

RunPod gives its own job id, so a crash between our claim and its answer cannot be matched
later: such a job is queued again (it may then run twice there; locally it is stored once,
since results are kept by content hash).

An endpoint whose API stops answering (status calls time out, or connections are refused) is treated
like a hung ComfyUI server (failover.py): after HUNG_AFTER_SECONDS of failed polls its jobs move to other
servers without using an attempt, and the RunPod jobs left behind are cancelled once the API answers.
"""

from __future__ import annotations

import asyncio
import logging
import time

from app.config import get_settings
from app.integrations.comfyui import ComfyError
from app.integrations.runpod import RunpodClient, RunpodStatus
from app.services.security import decrypt_secret
from data.models import AbandonedPrompt, ComfyServer, GenerationJob

from . import endings, progress, results
from .backends import Host, Sent
from .endings import Ending
from .failover import POLL_TIMEOUT_SECONDS
from .prompts import WAITING, Phase, Prompt

log = logging.getLogger("storycanvas.dispatch")

FAILED = ("FAILED", "TIMED_OUT", "CANCELLED")


# Failures that say the API itself is unreachable (not an answer about one job).
UNREACHABLE = ("timeout", "refused", "dns")


def runpod_client(server: ComfyServer, timeout: float = 30.0) -> RunpodClient:
    key = decrypt_secret(server.encrypted_runpod_key) if server.encrypted_runpod_key else ""
    base = server.base_url or get_settings().runpod_api_base
    return RunpodClient(base, server.runpod_endpoint_id or "", key, timeout=timeout)


async def _input_images(job: GenerationJob) -> list[tuple[str, bytes]]:
    from app.services.scenes import media_path

    images = []
    for name_key, path_key in (("init_image", "init_image_path"), ("face_image", "face_image_path")):
        name, stored = job.params.get(name_key), job.params.get(path_key)
        path = media_path(stored) if stored else None
        if name and path is not None and path.is_file():
            images.append((str(name), await asyncio.to_thread(path.read_bytes)))
    return images


class RunpodBackend:
    """Servers with a RunPod endpoint id. A client per call: calls are few (a status per prompt per poll)."""

    def __init__(self, host: Host) -> None:
        self.host = host

    @classmethod
    def serves(cls, server: ComfyServer) -> bool:
        return bool(server.runpod_endpoint_id)

    async def submit(self, prompt: Prompt, job: GenerationJob, server: ComfyServer) -> Sent | Ending:
        async with runpod_client(server) as client:
            try:
                return Sent(remote_id=await client.run(job.resolved_graph or {}, await _input_images(job)))
            except ComfyError as error:
                return endings.retry(f"{server.name}: {error.message}")

    def follow(self, server: ComfyServer) -> None:
        """RunPod reports nothing by itself: polls ask."""

    async def poll(self, server: ComfyServer, prompts: list[Prompt]) -> None:
        """Asks the status of each prompt; an API that does not answer counts towards calling it hung."""
        assert server.id is not None
        async with runpod_client(server, POLL_TIMEOUT_SECONDS) as client:
            for prompt in prompts:
                if prompt.phase not in WAITING:
                    continue
                asked_at = time.monotonic()
                try:
                    status = await client.status(prompt.prompt_id)
                except ComfyError as error:
                    if error.kind not in UNREACHABLE:
                        log.info("RunPod status of %s postponed: %s", prompt.prompt_id, error.message)
                        continue
                    if self.host.note_unreachable(server, error, asked_at):
                        await self.host.move_off(server, f"{server.name} stopped answering: {error.message}")
                    return
                self.host.note_reachable(server.id)
                prompt.last_message = time.monotonic()
                if status.status == "IN_PROGRESS" and not prompt.running:
                    await progress.mark_running(prompt)
                elif status.finished:
                    self.host.settle(prompt, frees_slot=False, hint=status)

    async def settle(
        self, prompt: Prompt, server: ComfyServer, hint: object | None, checked_queue: bool
    ) -> Ending | None:
        status = hint if isinstance(hint, RunpodStatus) else None
        if status is None:
            async with runpod_client(server) as client:
                status = await client.status(prompt.prompt_id)
        if status.status == "COMPLETED":
            outputs = [
                results.Output(
                    node_id="runpod", filename=image.filename, media=results.media_kind(image.filename), data=image.data
                )
                for image in status.images
            ]
            return endings.stored(outputs) if outputs else endings.fail("The RunPod worker returned no images.")
        if status.status in FAILED:
            return endings.retry(f"{server.name}: {status.error or status.status.lower()}")
        return None

    async def cancel(self, prompt: Prompt, server: ComfyServer) -> Ending | None:
        async with runpod_client(server) as client:
            await client.cancel(prompt.prompt_id)
        if prompt.may(Phase.INTERRUPTING):  # else it ended while we asked: its settle reads how
            prompt.phase = Phase.INTERRUPTING
        return None

    async def interrupt(self, prompt: Prompt, server: ComfyServer) -> None:
        async with runpod_client(server) as client:
            await client.cancel(prompt.prompt_id)

    async def forget(self, prompt: Prompt, server: ComfyServer) -> None:
        """RunPod keeps its job records itself."""

    async def abandon(self, server: ComfyServer, abandoned: list[AbandonedPrompt]) -> list[str]:
        """RunPod cancels a job whether it waits or runs."""
        async with runpod_client(server) as client:
            for row in abandoned:
                await client.cancel(row.prompt_id)
        return [row.prompt_id for row in abandoned]

    async def close(self) -> None:
        """Nothing stays open."""
