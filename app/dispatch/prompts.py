"""One record per prompt this process follows: its job, its server, its phase and its timestamps.

A prompt moves through phases, each change one assignment to `prompt.phase`, checked against the
table below (a change it does not allow raises `IllegalPhase`, so a second path can never move a
prompt the first one already moved):

    submitting   → following, settling, done
    following    → settling, interrupting, done
    interrupting → settling, done
    settling     → done, or back to where it waited when the truth says it is not over
    done         → nothing

- submitting: claimed, its POST not yet answered; no poll may call it lost (the answer may predate it).
- following: on its server; progress arrives (websocket) or is asked for (polls).
- interrupting: a cancel asked the server to stop it; the interrupt is never sent twice.
- settling: its end is being read from the server (the truth) or decided (a stall); no second settle starts.
- done: its end is decided; the record leaves the book once that end is written.

What this keeps is memory only: the database holds every job's state, and after a restart the records
are rebuilt from it and from the servers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import InitVar, dataclass, field
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    SUBMITTING = "submitting"
    FOLLOWING = "following"
    SETTLING = "settling"
    INTERRUPTING = "interrupting"
    DONE = "done"


NEXT: dict[Phase, frozenset[Phase]] = {
    Phase.SUBMITTING: frozenset({Phase.FOLLOWING, Phase.SETTLING, Phase.DONE}),
    Phase.FOLLOWING: frozenset({Phase.SETTLING, Phase.INTERRUPTING, Phase.DONE}),
    Phase.INTERRUPTING: frozenset({Phase.SETTLING, Phase.DONE}),
    Phase.SETTLING: frozenset({Phase.SUBMITTING, Phase.FOLLOWING, Phase.INTERRUPTING, Phase.DONE}),
    Phase.DONE: frozenset(),
}

# On the server and waiting for its end: the phases a poll asks about and a settle may start from.
WAITING = frozenset({Phase.FOLLOWING, Phase.INTERRUPTING})


class IllegalPhase(RuntimeError):
    """A phase change the table does not allow: a bug in the dispatcher, never a server's doing."""


@dataclass(eq=False)
class Prompt:
    """A prompt this process follows (its id is the server's name for it)."""

    prompt_id: str
    job_id: int
    server_id: int
    project_id: int
    graph: dict[str, Any]
    start: InitVar[Phase] = Phase.FOLLOWING
    tracked_at: float = field(default_factory=time.monotonic)
    # When its submit was answered (None while submitting); a prompt found on its server counts as sent.
    sent_at: float | None = None
    # When the server last spoke of it; 0.0 makes the next poll ask at once.
    last_message: float = field(default_factory=time.monotonic)
    # When it began running (None: still waiting in the server's queue).
    started_at: float | None = None
    # Set while it is the one its server last said it was executing (previews without a prompt id are its).
    executing_at: float | None = None
    # When a cancel asked the server to stop it: it is never asked twice.
    interrupted_at: float | None = None
    # True while settling after it ended on its server: its slot is free already (the GPU never waits on us).
    frees_slot: bool = False
    node_done: int = 0
    node_count: int = 1
    progress: float = 0.0
    node_label: str | None = None
    last_write: float = 0.0
    last_preview: float = 0.0
    _phase: Phase = field(init=False, repr=False)
    phase_since: float = field(init=False)

    def __post_init__(self, start: Phase) -> None:
        self._phase = start
        self.phase_since = time.monotonic()
        if start is not Phase.SUBMITTING and self.sent_at is None:
            self.sent_at = self.tracked_at
        if start is Phase.INTERRUPTING and self.interrupted_at is None:
            self.interrupted_at = self.tracked_at

    @property
    def phase(self) -> Phase:
        return self._phase

    @phase.setter
    def phase(self, to: Phase) -> None:
        if not self.may(to):
            raise IllegalPhase(f"prompt {self.prompt_id} of job {self.job_id}: {self._phase} → {to} is not allowed")
        self._phase = to
        self.phase_since = time.monotonic()
        if to is Phase.INTERRUPTING and self.interrupted_at is None:
            self.interrupted_at = self.phase_since
        if to is not Phase.SETTLING and to is not Phase.DONE:
            self.frees_slot = False

    def may(self, to: Phase) -> bool:
        """Whether `prompt.phase = to` is allowed now. A settle that finds the prompt not over puts it back
        where it waited, nowhere else: submitting while its submit is unanswered, interrupting once a cancel
        asked its server to stop it (so the interrupt is never sent twice), else following."""
        if to not in NEXT[self._phase]:
            return False
        return to is self.waiting if self._phase is Phase.SETTLING and to is not Phase.DONE else True

    @property
    def waiting(self) -> Phase:
        """The phase to go back to when a settle finds the prompt not over."""
        if self.interrupted_at is not None:
            return Phase.INTERRUPTING
        return Phase.FOLLOWING if self.sent_at is not None else Phase.SUBMITTING

    def afresh(self) -> Prompt:
        """A new record of the same prompt, waiting on its server, for the next poll to ask about at once."""
        return Prompt(
            prompt_id=self.prompt_id,
            job_id=self.job_id,
            server_id=self.server_id,
            project_id=self.project_id,
            graph=self.graph,
            start=self.waiting,
            sent_at=self.sent_at,
            last_message=0.0,
            started_at=self.started_at,
            interrupted_at=self.interrupted_at,
            node_count=self.node_count,
        )

    @property
    def running(self) -> bool:
        return self.started_at is not None

    @property
    def live(self) -> bool:
        return self._phase is not Phase.DONE


class Prompts:
    """The book of prompts this process follows, by prompt id."""

    def __init__(self) -> None:
        self._by_id: dict[str, Prompt] = {}

    def __iter__(self) -> Iterator[Prompt]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self._by_id

    def get(self, prompt_id: str | None) -> Prompt | None:
        return self._by_id.get(prompt_id) if prompt_id is not None else None

    def add(self, prompt: Prompt) -> Prompt:
        """The record kept for its id: one already followed stays (its phase is the truth of this process)."""
        return self._by_id.setdefault(prompt.prompt_id, prompt)

    def rename(self, prompt: Prompt, prompt_id: str) -> None:
        """A backend that names prompts itself answered the submit with its own id."""
        if self._by_id.get(prompt.prompt_id) is prompt:
            del self._by_id[prompt.prompt_id]
        prompt.prompt_id = prompt_id
        self._by_id[prompt_id] = prompt

    def remove(self, prompt: Prompt) -> None:
        """Out of the book; a record still held elsewhere reads done."""
        if prompt.live:
            prompt.phase = Phase.DONE
        if self._by_id.get(prompt.prompt_id) is prompt:
            del self._by_id[prompt.prompt_id]

    def on_server(self, server_id: int) -> list[Prompt]:
        return [prompt for prompt in self._by_id.values() if prompt.server_id == server_id]

    def freeing_slots(self) -> set[str]:
        """Prompts that ended on their server and are being stored: their slots count as free."""
        return {prompt.prompt_id for prompt in self._by_id.values() if prompt.frees_slot}

    def executing(self, prompt: Prompt) -> None:
        """Its server says it is executing this one: one prompt per server holds that mark."""
        for other in self._by_id.values():
            if other.server_id == prompt.server_id:
                other.executing_at = None
        prompt.executing_at = time.monotonic()

    def executing_on(self, server_id: int) -> Prompt | None:
        """The prompt the server last said it was executing (for previews that name none)."""
        return next((p for p in self._by_id.values() if p.server_id == server_id and p.executing_at is not None), None)
