"""One record per prompt with a checked phase, and one seam per backend: a made-up backend drives a prompt
through the real dispatcher from claim to stored result (or to cancelled), with no change to the dispatcher."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from app.dispatch import endings, progress, results
from app.dispatch.backends import Backend, Host, Sent
from app.dispatch.comfy_backend import ComfyBackend
from app.dispatch.dispatcher import BACKENDS, Dispatcher
from app.dispatch.endings import Ending
from app.dispatch.prompts import NEXT, IllegalPhase, Phase, Prompt, Prompts
from app.dispatch.runpod_backend import RunpodBackend
from app.services import jobs
from data.engine import session_scope
from data.models import AbandonedPrompt, ComfyServer, GalleryItem, GenerationJob
from tests.fakes import fake_media

from .conftest import all_finished, drive, job_states, make_job

DISPATCH = Path(__file__).resolve().parents[2] / "app" / "dispatch"


def _prompt(start: Phase = Phase.FOLLOWING, **values: Any) -> Prompt:
    return Prompt(prompt_id="p-1", job_id=1, server_id=1, project_id=1, graph={}, start=start, **values)


# The record: one phase, changed by one assignment, checked against the table


def test_a_prompt_goes_through_its_phases_one_assignment_each() -> None:
    prompt = _prompt(Phase.SUBMITTING)
    assert prompt.sent_at is None and prompt.waiting is Phase.SUBMITTING
    seen = [prompt.phase]
    for phase in (Phase.FOLLOWING, Phase.SETTLING, Phase.FOLLOWING, Phase.INTERRUPTING, Phase.SETTLING, Phase.DONE):
        if phase is Phase.FOLLOWING:
            prompt.sent_at = 1.0  # its submit was answered
        before = prompt.phase_since
        prompt.phase = phase
        assert prompt.phase is phase and prompt.phase_since >= before
        seen.append(prompt.phase)
    assert seen[-1] is Phase.DONE and not prompt.live
    assert prompt.interrupted_at is not None  # set by entering interrupting, once


@pytest.mark.parametrize(("start", "to"), list(itertools.product(Phase, Phase)))
def test_every_change_the_table_does_not_allow_is_refused_and_changes_nothing(start: Phase, to: Phase) -> None:
    prompt = _prompt(start)
    # A record made in a phase other than submitting was sent; from settling it goes back only where it waited.
    allowed = to in NEXT[start] and (start is not Phase.SETTLING or to in (Phase.FOLLOWING, Phase.DONE))
    assert prompt.may(to) is allowed
    if allowed:
        prompt.phase = to
        assert prompt.phase is to
    else:
        with pytest.raises(IllegalPhase):
            prompt.phase = to
        assert prompt.phase is start


def test_done_is_final_and_a_second_settle_cannot_start() -> None:
    prompt = _prompt()
    prompt.phase = Phase.SETTLING
    with pytest.raises(IllegalPhase):
        prompt.phase = Phase.SETTLING
    prompt.phase = Phase.DONE
    for phase in Phase:
        assert not prompt.may(phase)


def test_an_interrupted_prompt_never_follows_plainly_again_so_its_interrupt_is_not_sent_twice() -> None:
    prompt = _prompt()
    prompt.phase = Phase.INTERRUPTING
    prompt.phase = Phase.SETTLING
    assert prompt.waiting is Phase.INTERRUPTING
    with pytest.raises(IllegalPhase):
        prompt.phase = Phase.FOLLOWING
    prompt.phase = prompt.waiting
    assert prompt.phase is Phase.INTERRUPTING


def test_a_settle_puts_a_prompt_back_only_where_it_waited() -> None:
    prompt = _prompt()
    prompt.phase = Phase.SETTLING
    for elsewhere in (Phase.SUBMITTING, Phase.INTERRUPTING):  # a cancel racing the settle cannot pull it out
        assert not prompt.may(elsewhere)
    prompt.phase = Phase.FOLLOWING


def test_a_settle_that_finds_a_prompt_still_being_sent_puts_it_back_to_submitting() -> None:
    prompt = _prompt(Phase.SUBMITTING)
    prompt.phase = Phase.SETTLING  # the websocket said it ended before its POST was answered
    prompt.frees_slot = True
    prompt.phase = prompt.waiting
    assert prompt.phase is Phase.SUBMITTING and not prompt.frees_slot  # no poll calls it lost yet


def test_the_book_renames_removes_and_keeps_one_executing_prompt_per_server() -> None:
    book = Prompts()
    first = book.add(_prompt())
    assert book.add(_prompt(Phase.SUBMITTING)) is first  # one record per prompt id
    second = book.add(Prompt(prompt_id="p-2", job_id=2, server_id=1, project_id=1, graph={}))
    book.executing(first)
    book.executing(second)
    assert book.executing_on(1) is second and first.executing_at is None
    book.rename(second, "remote-2")
    assert book.get("remote-2") is second and book.get("p-2") is None
    second.phase = Phase.SETTLING
    second.frees_slot = True
    assert book.freeing_slots() == {"remote-2"}
    book.remove(second)
    assert second.phase is Phase.DONE and "remote-2" not in book and book.executing_on(1) is None


def test_a_record_followed_afresh_keeps_what_it_must_not_repeat() -> None:
    prompt = _prompt()
    prompt.phase = Phase.INTERRUPTING
    again = prompt.afresh()
    assert again.phase is Phase.INTERRUPTING and again.interrupted_at == prompt.interrupted_at
    assert again.last_message == 0.0  # asked about at once


# The seam: both backends have the protocol's methods, with its parameters


PROTOCOL = ("serves", "submit", "follow", "poll", "settle", "cancel", "interrupt", "forget", "abandon", "close")


@pytest.mark.parametrize("backend", ["ComfyBackend", "RunpodBackend", "FakeVideoApi"])
def test_every_backend_has_the_protocols_methods_with_its_parameters(backend: str) -> None:
    kind = {"ComfyBackend": ComfyBackend, "RunpodBackend": RunpodBackend, "FakeVideoApi": FakeVideoApi}[backend]
    assert {name for name in vars(Backend) if not name.startswith("_")} == set(PROTOCOL)
    for name in PROTOCOL:
        wanted, own = getattr(Backend, name), getattr(kind, name)
        assert list(inspect.signature(own).parameters) == list(inspect.signature(wanted).parameters), name
        assert inspect.iscoroutinefunction(own) == inspect.iscoroutinefunction(wanted), name


def test_the_dispatcher_is_the_host_backends_talk_to() -> None:
    for name, member in vars(Host).items():
        if name.startswith("_") or name in ("client_id", "prompts"):
            continue
        assert hasattr(Dispatcher, name), name
        if inspect.isfunction(member):
            assert inspect.iscoroutinefunction(getattr(Dispatcher, name)) == inspect.iscoroutinefunction(member), name


def test_the_dispatcher_asks_backends_instead_of_branching_on_the_kind_of_server() -> None:
    for path in DISPATCH.glob("*.py"):
        if path.name in ("runpod_backend.py", "claims.py"):  # claims only notes a slot's kind for choosing
            continue
        assert "runpod_endpoint_id" not in path.read_text(encoding="utf-8"), path.name
    assert BACKENDS[-1] is ComfyBackend  # ComfyUI serves every server no other backend claims


def test_only_endings_write_how_an_attempt_ended() -> None:
    """The retry-or-fail decision has one home: no other module calls the claims that end an attempt."""
    for path in DISPATCH.glob("*.py"):
        if path.name in ("endings.py", "claims.py"):
            continue
        text = path.read_text(encoding="utf-8")
        for call in ("retry_or_fail(", "fail_now(", "mark_cancelled("):
            assert call not in text, f"{path.name} calls {call}"


# End to end: a backend the dispatcher has never heard of


class FakeVideoApi:
    """A made-up kind of server that names prompts itself and pushes its progress (like a websocket)."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.phases: list[tuple[str, Phase]] = []
        self.cancels: list[str] = []
        self.forgotten: list[str] = []
        self.endless = False
        self._counter = itertools.count(1)

    @classmethod
    def serves(cls, server: ComfyServer) -> bool:
        return server.name.startswith("video-api")

    async def submit(self, prompt: Prompt, job: GenerationJob, server: ComfyServer) -> Sent | Ending:
        self.phases.append(("submit", prompt.phase))
        self.host.spawn(self._run(prompt))
        return Sent(remote_id=f"video-{next(self._counter)}")

    async def _run(self, prompt: Prompt) -> None:
        await asyncio.sleep(0.05)
        await progress.mark_running(prompt)
        self.phases.append(("running", prompt.phase))
        if self.endless:
            return
        await asyncio.sleep(0.05)
        self.host.settle(prompt, frees_slot=True, hint="finished")

    def follow(self, server: ComfyServer) -> None:
        """Progress is pushed by the submitted prompt's own task."""

    async def poll(self, server: ComfyServer, prompts: list[Prompt]) -> None:
        """Nothing to ask: it pushes."""

    async def settle(
        self, prompt: Prompt, server: ComfyServer, hint: object | None, checked_queue: bool
    ) -> Ending | None:
        self.phases.append(("settle", prompt.phase))
        if hint == "interrupted":
            return endings.retry(f"{server.name} stopped the prompt.")
        image = fake_media.png_bytes(32, 24, seed=prompt.prompt_id)
        return endings.stored([results.Output("out", "clip.png", "image", image)], release=True)

    async def cancel(self, prompt: Prompt, server: ComfyServer) -> Ending | None:
        self.cancels.append(prompt.prompt_id)
        prompt.phase = Phase.INTERRUPTING
        self.host.settle(prompt, frees_slot=False, hint="interrupted")
        return None

    async def interrupt(self, prompt: Prompt, server: ComfyServer) -> None:
        self.cancels.append(prompt.prompt_id)

    async def forget(self, prompt: Prompt, server: ComfyServer) -> None:
        self.phases.append(("forget", prompt.phase))
        self.forgotten.append(prompt.prompt_id)

    async def abandon(self, server: ComfyServer, abandoned: list[AbandonedPrompt]) -> list[str]:
        self.cancels.extend(row.prompt_id for row in abandoned)
        return [row.prompt_id for row in abandoned]

    async def close(self) -> None:
        """Nothing open."""


@pytest.fixture
async def video_dispatcher():  # type: ignore[no-untyped-def]  # an async fixture yielding (dispatcher, backend)
    made = Dispatcher(worker_id="video-worker", backends=(FakeVideoApi, *BACKENDS))
    yield made, made._backends[0]
    await made.close()


def _video_server(db) -> ComfyServer:  # type: ignore[no-untyped-def]  # the test's session
    server = ComfyServer(name="video-api-1", base_url="http://127.0.0.1:9", max_jobs=1, status="online")
    db.add(server)
    db.commit()
    db.refresh(server)
    return server


async def test_a_new_kind_of_server_runs_a_job_through_the_dispatcher_end_to_end(db, clip, video_dispatcher) -> None:
    dispatcher, api = video_dispatcher
    owner, target = clip
    server = _video_server(db)
    job = make_job(db, owner, target, seed=4)

    await drive(dispatcher, lambda: all_finished([job.id])() and bool(api.forgotten))

    done = job_states([job.id])[job.id]
    assert done.status == "completed" and done.server_id == server.id and done.attempts == 1, done.error
    assert done.remote_prompt_id == "video-1"  # the backend's own name for the prompt, taken by job and record
    assert api.phases == [
        ("submit", Phase.SUBMITTING),
        ("running", Phase.FOLLOWING),
        ("settle", Phase.SETTLING),
        ("forget", Phase.DONE),
    ]
    assert api.forgotten == ["video-1"] and len(dispatcher.prompts) == 0 and dispatcher.completed == 1
    with session_scope() as session:
        [item] = session.exec(select(GalleryItem).where(GalleryItem.clip_id == target.id)).all()
        assert item.params["server"] == "video-api-1" and item.selected


async def test_a_new_kind_of_server_is_cancelled_through_the_seam(db, clip, video_dispatcher) -> None:
    dispatcher, api = video_dispatcher
    owner, target = clip
    _video_server(db)
    api.endless = True
    job = make_job(db, owner, target, seed=5)
    await drive(dispatcher, lambda: job_states([job.id])[job.id].status == "running")

    jobs.cancel_job(db, owner, job.id)
    await drive(dispatcher, all_finished([job.id]))

    done = job_states([job.id])[job.id]
    assert done.status == "cancelled" and api.cancels == ["video-1"]  # asked once, though ticks went on
    assert ("settle", Phase.SETTLING) in api.phases and api.forgotten == []  # nothing kept there to free
    assert len(dispatcher.prompts) == 0


# The one decision: what an ending means for the job


async def test_an_ending_is_written_once_and_only_for_the_current_attempt(db, clip, quick_retries) -> None:
    from app.dispatch import claims

    owner, target = clip
    server = ComfyServer(name="gpu", base_url="http://127.0.0.1:9", status="online")
    db.add(server)
    db.commit()
    job = make_job(db, owner, target, max_attempts=2)
    assert claims.claim(db, job.id, server.id, "app", "attempt-1", 30)
    prompt = Prompt(prompt_id="attempt-1", job_id=job.id, server_id=server.id, project_id=job.project_id, graph={})

    assert await endings.write(prompt, endings.retry("gpu: out of memory"), "gpu") == "queued"
    assert await endings.write(prompt, endings.retry("gpu: out of memory"), "gpu") is None  # no longer current
    assert claims.claim(db, job.id, server.id, "app", "attempt-2", 30)
    prompt.prompt_id = "attempt-2"
    assert await endings.write(prompt, endings.retry("gpu: out of memory"), "gpu") == "failed"  # attempts ran out
    with session_scope() as session:
        assert "Failed after 2 attempts: gpu: out of memory" in session.get(GenerationJob, job.id).error


async def test_a_bad_output_ends_as_a_failure_through_the_same_decision(db, clip) -> None:
    from app.dispatch import claims

    owner, target = clip
    server = ComfyServer(name="gpu", base_url="http://127.0.0.1:9", status="online")
    db.add(server)
    db.commit()
    job = make_job(db, owner, target)
    assert claims.claim(db, job.id, server.id, "app", "p-1", 30)
    prompt = Prompt(prompt_id="p-1", job_id=job.id, server_id=server.id, project_id=job.project_id, graph={})
    bad = results.Output("9", "image.png", "image", fake_media.bad_image("truncated"))

    assert await endings.write(prompt, endings.stored([bad]), "gpu") == "failed"
    with session_scope() as session:
        assert "is cut short or damaged" in session.get(GenerationJob, job.id).error
