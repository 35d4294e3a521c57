"""The seam between the dispatcher and a kind of server: what a backend does, and what it may ask back.

The dispatcher owns the queue, the prompt records and their phases, and the one decision of what an
ending means for a job (endings.write). A backend knows one kind of server: how to send it a prompt,
how it reports progress, how to read how a prompt ended, how to stop one and what to free afterwards.
ComfyUI (comfy_backend.py) and RunPod serverless (runpod_backend.py) are the two today; another kind
(a video API) is one more class listed in dispatcher.BACKENDS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from app.integrations.comfyui import ComfyError
from data.engine import session_scope
from data.models import AbandonedPrompt, ComfyServer, GenerationJob

from .endings import Ending
from .prompts import Prompt, Prompts


@dataclass(frozen=True)
class Sent:
    """A submit the server took (or may have taken: a timeout leaves it to the next poll).

    `remote_id` is the server's own name for the prompt, for backends that choose it themselves."""

    remote_id: str | None = None


class Host(Protocol):
    """What a backend may ask of the dispatcher that drives it."""

    client_id: str
    prompts: Prompts

    @property
    def closed(self) -> bool: ...

    def spawn(self, coroutine: Awaitable[Any]) -> None:
        """Run in the background; a failure is logged."""

    def kick(self) -> None:
        """Tick soon."""

    def settle(
        self, prompt: Prompt, *, frees_slot: bool, hint: object | None = None, checked_queue: bool = False
    ) -> None:
        """Start reading how the prompt ended (backend.settle) unless that is underway or decided already."""

    async def end(self, prompt: Prompt, ending: Ending, server: ComfyServer | None) -> None:
        """Write the ending (the one decision of what it means for the job) and stop following the prompt."""

    async def poll_server(self, server_id: int) -> None:
        """Ask a server about every prompt followed there."""

    def note_unreachable(self, server: ComfyServer, error: ComfyError, asked_at: float | None = None) -> bool:
        """True once the server is dead, or has failed to answer long enough (since `asked_at`, when the
        failed request was sent) to be called hung: its work then goes elsewhere."""

    def note_reachable(self, server_id: int) -> None:
        """The server answered."""

    async def move_off(self, server: ComfyServer, reason: str) -> None:
        """Every prompt followed on this dead or hung server goes back to the queue for another server."""


class Backend(Protocol):
    """One kind of server. Methods raise ComfyError when the server cannot be asked: the dispatcher
    then tries again later (and the backend has noted an unreachable server through its host)."""

    @classmethod
    def serves(cls, server: ComfyServer) -> bool:
        """Whether servers like this one are this backend's."""
        ...

    async def submit(self, prompt: Prompt, job: GenerationJob, server: ComfyServer) -> Sent | Ending:
        """Send the prompt; an Ending when it can never run there (or failed to arrive)."""
        ...

    def follow(self, server: ComfyServer) -> None:
        """Start listening to the server's progress reports, if it sends any."""

    async def poll(self, server: ComfyServer, prompts: list[Prompt]) -> None:
        """Ask the server about these prompts (none was being submitted when asked); report through the host."""

    async def settle(
        self, prompt: Prompt, server: ComfyServer, hint: object | None, checked_queue: bool
    ) -> Ending | None:
        """How the prompt ended, read from the server (the truth); None when it is not over after all."""
        ...

    async def cancel(self, prompt: Prompt, server: ComfyServer) -> Ending | None:
        """Stop the prompt: an Ending when it is over now, None once the server was asked (phase interrupting)
        and will report its end."""
        ...

    async def interrupt(self, prompt: Prompt, server: ComfyServer) -> None:
        """Stop a prompt that stalled, whatever it is doing (its job goes elsewhere)."""

    async def forget(self, prompt: Prompt, server: ComfyServer) -> None:
        """Free what the server keeps of a prompt whose ending was written (Ending.release)."""

    async def abandon(self, server: ComfyServer, abandoned: list[AbandonedPrompt]) -> list[str]:
        """Make sure prompts whose jobs moved elsewhere never run there: delete them from the queue, stop
        the running one. Returns the ids the server no longer holds (the others are asked about again)."""
        ...

    async def close(self) -> None:
        """Close connections and listeners."""


def load_server(server_id: int) -> ComfyServer | None:
    with session_scope() as session:
        return session.get(ComfyServer, server_id)


def load_job(job_id: int) -> GenerationJob | None:
    with session_scope() as session:
        return session.get(GenerationJob, job_id)


# The dispatcher reads and writes the database in worker threads: on the event loop, a read waiting for
# a writer's lock (results being stored, a batch being claimed) would freeze every open tab with it.


async def fetch_server(server_id: int) -> ComfyServer | None:
    return await asyncio.to_thread(load_server, server_id)


async def fetch_job(job_id: int) -> GenerationJob | None:
    return await asyncio.to_thread(load_job, job_id)
