"""ComfyUI servers: POST /prompt under our own prompt id, progress over the websocket, the truth in /history.

The websocket is for progress only (messages can be missed): a prompt's end is always read from
/queue and /history. Since we choose the prompt id, a crash between the claim and the POST's answer
is harmless: the next look at the server finds the prompt, or finds it lost and queues it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from app.integrations.comfyui import ComfyClient, ComfyError, HistoryEntry, PreviewFrame, PromptRejected, WsEvent
from data.models import AbandonedPrompt, ComfyServer, GenerationJob

from . import endings, progress, results
from .backends import Host, Sent, fetch_server
from .endings import Ending
from .failover import POLL_TIMEOUT_SECONDS, SWEEP_CONFIRM_SECONDS, SWEEP_TIMEOUT_SECONDS
from .prompts import WAITING, Phase, Prompt

log = logging.getLogger("storycanvas.dispatch")

# Errors after which the server may have taken the prompt: its queue and history tell on the next poll.
UNCERTAIN = ("timeout", "http", "protocol")


class ComfyBackend:
    """Every server no other backend claims is a ComfyUI server."""

    def __init__(self, host: Host) -> None:
        self.host = host
        # Per server and timeout: the usual one (10 s), the quick one for /queue polls (a hung server is
        # noticed), and the patient one for the sweep of abandoned prompts (its requests wait out a hang).
        self._clients: dict[tuple[int, float], tuple[tuple[str, str | None], ComfyClient]] = {}
        self._monitors: dict[int, asyncio.Task[None]] = {}

    @classmethod
    def serves(cls, server: ComfyServer) -> bool:
        return True

    def client(self, server: ComfyServer, timeout: float = 10.0) -> ComfyClient:
        """One client per server (and timeout), replaced when its address or key changes."""
        from app.services.servers import client_for

        assert server.id is not None
        key = (server.base_url, server.encrypted_api_key)
        known = self._clients.get((server.id, timeout))
        if known is not None and known[0] == key:
            return known[1]
        client = client_for(server, timeout=timeout)
        if known is not None:
            self.host.spawn(known[1].aclose())
        self._clients[(server.id, timeout)] = (key, client)
        return client

    def quick(self, server: ComfyServer) -> ComfyClient:
        """For GET /queue: ComfyUI answers it in milliseconds even mid-job, so no answer within
        POLL_TIMEOUT_SECONDS is a failed poll (failover.py says when failed polls mean a hung server)."""
        return self.client(server, POLL_TIMEOUT_SECONDS)

    # Submitting

    async def submit(self, prompt: Prompt, job: GenerationJob, server: ComfyServer) -> Sent | Ending:
        client = self.client(server)
        try:
            missing = await self._upload_inputs(client, job)
            if missing is not None:
                return endings.fail(missing)
            await client.queue_prompt(
                job.resolved_graph or {},
                prompt_id=prompt.prompt_id,
                client_id=self.host.client_id,
                extra_data={"storycanvas_job": job.id},
            )
        except PromptRejected as rejected:
            return endings.refused(f"{server.name} refused the workflow: {rejected.message}")
        except ComfyError as error:
            if error.kind in UNCERTAIN:
                log.info("Submit of job %s to %s uncertain: %s", job.id, server.name, error.message)
                return Sent()
            if self.host.note_unreachable(server, error):  # dead: the prompt never arrived
                return endings.moved(f"{server.name} is unreachable: {error.message}", abandon=False)
            return endings.retry(f"{server.name}: {error.message}")
        self.host.note_reachable(server.id)  # type: ignore[arg-type]  # stored rows have ids
        return Sent()

    async def _upload_inputs(self, client: ComfyClient, job: GenerationJob) -> str | None:
        """Init and face images go to the server under the names the stored graph already uses."""
        from app.services.scenes import media_path

        params = job.params or {}
        for name_key, path_key in (("init_image", "init_image_path"), ("face_image", "face_image_path")):
            name, stored = params.get(name_key), params.get(path_key)
            if not name or not stored:
                continue
            path = media_path(stored)
            if path is None or not path.is_file():
                return f"The input image {stored} is missing from the media folder: pick another image and retry."
            subfolder, _, file_name = str(name).rpartition("/")
            data = await asyncio.to_thread(path.read_bytes)
            await client.upload_image(file_name, data, subfolder=subfolder or "storycanvas")
        return None

    # Following: the websocket

    def follow(self, server: ComfyServer) -> None:
        assert server.id is not None
        task = self._monitors.get(server.id)
        if task is None or task.done():
            self._monitors[server.id] = asyncio.get_running_loop().create_task(self._monitor(server.id))

    async def _monitor(self, server_id: int) -> None:
        """Follow one server's websocket; reconnect with the same client id; after any gap, ask /queue and /history."""
        delay = 0.25
        while not self.host.closed:
            server = await fetch_server(server_id)
            if server is None or not server.enabled:
                return
            client = self.client(server)
            try:
                first = True
                async for message in client.events(self.host.client_id):
                    if first:
                        first = False
                        delay = 0.25
                        self.host.spawn(self.host.poll_server(server_id))
                    await self._on_message(server_id, message)
            except ComfyError as error:
                log.debug("Websocket of server %s: %s", server_id, error.message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Websocket of server %s failed", server_id)
            if self.host.closed:
                return
            self.host.spawn(self.host.poll_server(server_id))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _on_message(self, server_id: int, message: WsEvent | PreviewFrame) -> None:
        prompts = self.host.prompts
        if isinstance(message, PreviewFrame):
            prompt = prompts.get(message.prompt_id) if message.prompt_id else prompts.executing_on(server_id)
            if prompt is not None:
                prompt.last_message = time.monotonic()
                await progress.preview(prompt, message.image, message.mime)
            return
        data: dict[str, Any] = message.data or {}
        if message.type == "status" or data.get("prompt_id") is None:
            return
        prompt = prompts.get(data["prompt_id"])
        if prompt is None:
            return
        prompt.last_message = time.monotonic()
        kind = message.type
        if kind == "execution_start":
            prompts.executing(prompt)
            await progress.mark_running(prompt)
        elif kind == "executing":
            if data.get("node") is None:
                self.host.settle(prompt, frees_slot=True)
            else:
                prompts.executing(prompt)
                if not prompt.running:
                    await progress.mark_running(prompt)
                await progress.report(prompt, node=str(data["node"]))
        elif kind == "progress_state":
            nodes = data.get("nodes") or {}
            prompt.node_done = sum(1 for node in nodes.values() if node.get("state") == "finished")
            await progress.report(prompt)
        elif kind == "progress":
            total = max(1.0, float(data.get("max") or 1))
            await progress.report(
                prompt,
                fraction=float(data.get("value") or 0) / total,
                node=str(data.get("node")) if data.get("node") else None,
            )
        elif kind in ("execution_success", "execution_error", "execution_interrupted"):
            self.host.settle(prompt, frees_slot=True)

    # Asking: /queue, then /history

    async def poll(self, server: ComfyServer, prompts: list[Prompt]) -> None:
        assert server.id is not None
        asked_at = time.monotonic()
        try:
            state = await self.quick(server).queue()
        except ComfyError as error:
            if self.host.note_unreachable(server, error, asked_at):
                await self.host.move_off(server, f"{server.name} stopped answering: {error.message}")
            return
        self.host.note_reachable(server.id)
        now = time.monotonic()
        for prompt in prompts:
            if prompt.phase not in WAITING:
                continue
            if prompt.prompt_id in state.running:
                if not prompt.running:
                    await progress.mark_running(prompt)
                self.host.prompts.executing(prompt)
            elif prompt.prompt_id in state.pending:
                prompt.last_message = now
            else:
                self.host.settle(prompt, frees_slot=True, checked_queue=True)

    async def settle(
        self, prompt: Prompt, server: ComfyServer, hint: object | None, checked_queue: bool
    ) -> Ending | None:
        client = self.client(server)
        entry = hint if isinstance(hint, HistoryEntry) else None
        if entry is None:
            entry = await self._history_with_patience(client, prompt.prompt_id)
        if entry is None and not checked_queue:
            # /queue first, then /history: a prompt that ends between the two is then still found.
            state = await client.queue()
            if prompt.prompt_id in state.running or prompt.prompt_id in state.pending:
                return None
            entry = await client.history(prompt.prompt_id)
        if entry is None:
            return endings.retry(f"{server.name} lost the prompt (was it restarted?).")
        return await self._read(server, client, entry)

    async def _history_with_patience(self, client: ComfyClient, prompt_id: str) -> HistoryEntry | None:
        """execution_success can arrive a moment before the history entry is written."""
        for pause in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
            if pause:
                await asyncio.sleep(pause)
            entry = await client.history(prompt_id)
            if entry is not None:
                return entry
        return None

    async def _read(self, server: ComfyServer, client: ComfyClient, entry: HistoryEntry) -> Ending:
        """A history entry's verdict (a retry of a job whose cancel was asked ends cancelled)."""
        if entry.interrupted:
            return endings.retry(f"{server.name} interrupted the prompt.")
        if entry.error is not None or not entry.completed:
            reason = entry.error.message if entry.error is not None else f"ended with status {entry.status_str}"
            return endings.retry(f"{server.name}: {reason}")
        wanted = [out for out in entry.outputs if out.type == "output" and out.media in ("image", "video")]
        if not wanted:
            return endings.fail(
                "The workflow finished without an image or video output: add a Save node.", release=True
            )
        blobs = await asyncio.gather(*(client.view(out) for out in wanted))
        outputs = [
            results.Output(node_id=out.node_id, filename=out.filename, media=out.media, data=blob)
            for out, blob in zip(wanted, blobs, strict=True)
        ]
        return endings.stored(outputs, release=True, ran=(entry.started_at, entry.ended_at))

    # Stopping and freeing

    async def cancel(self, prompt: Prompt, server: ComfyServer) -> Ending | None:
        client = self.client(server)
        state = await self.quick(server).queue()
        if prompt.prompt_id in state.pending:
            await client.delete_pending([prompt.prompt_id])
            return endings.cancelled()
        if not prompt.may(Phase.INTERRUPTING):
            return None  # it ended while we asked: its settle reads how
        prompt.phase = Phase.INTERRUPTING
        if prompt.prompt_id in state.running:
            await client.interrupt(prompt.prompt_id)
            return None
        entry = await client.history(prompt.prompt_id)
        if entry is None:  # never reached the server: nothing ran
            return endings.cancelled()
        self.host.settle(prompt, frees_slot=False, hint=entry)
        return None

    async def interrupt(self, prompt: Prompt, server: ComfyServer) -> None:
        await self.client(server).interrupt(prompt.prompt_id)

    async def forget(self, prompt: Prompt, server: ComfyServer) -> None:
        """Only memory on the server (a restart forgets it anyway)."""
        await self.client(server).delete_history([prompt.prompt_id])

    async def abandon(self, server: ComfyServer, abandoned: list[AbandonedPrompt]) -> list[str]:
        """Delete first (so nothing of ours starts next), then interrupt, then look again a moment later.

        The first requests go out at once with a long timeout: to a hung server they wait in its socket and
        are handled as it wakes. Deleting an id it no longer holds, or interrupting one that is not running,
        does nothing (ComfyUI's interrupt with a prompt_id stops only that prompt), so asking twice is safe."""
        client = self.client(server, SWEEP_TIMEOUT_SECONDS)
        ids = [row.prompt_id for row in abandoned]
        await client.delete_pending(ids)
        for row in abandoned:
            if row.running:
                await client.interrupt(row.prompt_id)
        held: set[str] = set()
        for look in range(2):
            if look:
                await asyncio.sleep(SWEEP_CONFIRM_SECONDS)
            state = await client.queue()
            pending = [prompt_id for prompt_id in ids if prompt_id in state.pending]
            running = [prompt_id for prompt_id in ids if prompt_id in state.running]
            await client.delete_pending(pending)
            for prompt_id in running:
                await client.interrupt(prompt_id)
            held = set(pending) | set(running)
        gone = [prompt_id for prompt_id in ids if prompt_id not in held]
        with contextlib.suppress(ComfyError):  # only memory on the server
            await client.delete_history(gone)
        return gone

    async def close(self) -> None:
        for task in self._monitors.values():
            task.cancel()
        await asyncio.gather(*self._monitors.values(), return_exceptions=True)
        self._monitors.clear()
        for _key, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
