"""Finishing a prompt: read /history (the truth), then store results, retry, cancel or requeue."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.config import get_settings
from app.integrations.comfyui import ComfyClient, ComfyError, HistoryEntry
from app.services import events
from data.engine import session_scope
from data.models import ComfyServer, GenerationJob

from . import claims, results
from .base import DispatcherBase, Tracked

log = logging.getLogger("storycanvas.dispatch")


class Settling(DispatcherBase):
    def _settle_soon(self, prompt_id: str) -> None:
        if prompt_id in self._settling or prompt_id not in self._tracked:
            return
        tracked = self._tracked[prompt_id]
        self._finishing[prompt_id] = tracked.server_id
        self._settling.add(prompt_id)
        self._spawn(self._settle(prompt_id))
        self.kick()  # the slot is free already: feed the server while results download

    async def _settle(self, prompt_id: str, entry: HistoryEntry | None = None, *, checked_queue: bool = False) -> None:
        """Read /history (the truth) and act on it: store results, retry, cancel or requeue."""
        try:
            tracked = self._tracked.get(prompt_id)
            if tracked is None:
                return
            server = self._server(tracked.server_id)
            if server is None:
                return
            client = self._client(server)
            if entry is None:
                entry = await self._history_with_patience(client, prompt_id)
            if entry is None and not checked_queue:
                # /queue first, then /history: a prompt that ends between the two is then still found.
                state = await client.queue()
                if prompt_id in state.running or prompt_id in state.pending:
                    self._finishing.pop(prompt_id, None)
                    return
                entry = await client.history(prompt_id)
            if entry is None:
                await self._requeue(prompt_id, tracked, f"{server.name} lost the prompt (was it restarted?).")
                return
            await self._apply_history(prompt_id, tracked, server, client, entry)
        except ComfyError as error:
            self._finishing.pop(prompt_id, None)
            log.info("Settling %s postponed: %s", prompt_id, error.message)
        finally:
            self._settling.discard(prompt_id)

    async def _history_with_patience(self, client: ComfyClient, prompt_id: str) -> HistoryEntry | None:
        """execution_success can arrive a moment before the history entry is written."""
        for pause in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
            if pause:
                await asyncio.sleep(pause)
            entry = await client.history(prompt_id)
            if entry is not None:
                return entry
        return None

    async def _apply_history(
        self, prompt_id: str, tracked: Tracked, server: ComfyServer, client: ComfyClient, entry: HistoryEntry
    ) -> None:
        settings = get_settings()
        if entry.interrupted:
            with session_scope() as session:
                job = session.get(GenerationJob, tracked.job_id)
                cancelled = job is not None and job.cancel_requested
                if cancelled:
                    claims.mark_cancelled(session, tracked.job_id, prompt_id)  # type: ignore[arg-type]
            if not cancelled:
                await self._requeue(prompt_id, tracked, f"{server.name} interrupted the prompt.")
                return
        elif entry.error is not None or not entry.completed:
            reason = entry.error.message if entry.error is not None else f"ended with status {entry.status_str}"
            self._avoid[tracked.job_id] = tracked.server_id
            with session_scope() as session:
                claims.retry_or_fail(
                    session,
                    tracked.job_id,
                    prompt_id,
                    f"{server.name}: {reason}",
                    base=settings.retry_base_seconds,
                    cap=settings.retry_cap_seconds,
                )
        else:
            wanted = [out for out in entry.outputs if out.type == "output" and out.media in ("image", "video")]
            if not wanted:
                with session_scope() as session:
                    claims.fail_now(
                        session,
                        tracked.job_id,
                        prompt_id,
                        "The workflow finished without an image or video output: add a Save node.",
                    )
            else:
                blobs = await asyncio.gather(*(client.view(out) for out in wanted))
                outputs = [
                    results.Output(node_id=out.node_id, filename=out.filename, media=out.media, data=blob)
                    for out, blob in zip(wanted, blobs, strict=True)
                ]
                stored = await asyncio.to_thread(results.store_results, tracked.job_id, prompt_id, server.name, outputs)
                if stored.completed:
                    self.completed += 1
                    events.emit(events.project_changed, tracked.project_id)
            # Only memory on the server (a restart forgets it anyway): failing to free it is harmless.
            with contextlib.suppress(ComfyError):
                await client.delete_history([prompt_id])
        self._forget(prompt_id)
        events.emit(events.jobs_changed, tracked.project_id)
        self.kick()

    async def _requeue(self, prompt_id: str, tracked: Tracked, reason: str) -> None:
        settings = get_settings()
        self._avoid[tracked.job_id] = tracked.server_id
        with session_scope() as session:
            claims.retry_or_fail(
                session,
                tracked.job_id,
                prompt_id,
                reason,
                base=settings.retry_base_seconds,
                cap=settings.retry_cap_seconds,
            )
        self._forget(prompt_id)
        events.emit(events.jobs_changed, tracked.project_id)
        self.kick()
