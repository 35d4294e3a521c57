"""Crash safety and several dispatchers on one database: nothing lost, nothing run or stored twice."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

from sqlmodel import select

from app.config import get_settings
from app.dispatch import claims, results
from app.dispatch.dispatcher import Dispatcher
from data.engine import session_scope
from data.models import GalleryItem, GenerationJob

from .conftest import add_server, all_finished, drive, job_states, make_job


def _items(clip_id: int) -> list[GalleryItem]:
    with session_scope() as session:
        return list(session.exec(select(GalleryItem).where(GalleryItem.clip_id == clip_id)))


async def test_a_restarted_app_takes_back_its_running_jobs_without_running_them_again(
    db, clip, fakes, quick_retries
) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.3)
    add_server(db, fake, "gpu-1", max_jobs=2)
    ids = [make_job(db, owner, target, seed=seed).id for seed in range(4)]
    before = Dispatcher(worker_id="studio-app")
    await drive(before, lambda: sum(job.status in claims.ACTIVE for job in job_states(ids).values()) == 2)
    await before.close()  # the process dies: the database and the server keep what they had
    await asyncio.sleep(0.8)  # meanwhile the server finishes what it held

    after = Dispatcher(worker_id="studio-app")
    try:
        # A prompt whose POST the crash cut off is lost: it is queued again (after a retry wait).
        await drive(after, all_finished(ids), timeout=40)
    finally:
        await after.close()

    assert all(job.status == "completed" for job in job_states(ids).values())
    assert len(fake.executions) == 4  # none ran twice
    assert Counter(p["prompt_id"] for p in fake.prompts).most_common(1)[0][1] == 1
    assert len(_items(target.id)) == 4  # one result each, none stored twice


async def test_another_process_takes_over_jobs_whose_claim_expired(db, clip, fakes, monkeypatch, quick_retries) -> None:
    monkeypatch.setattr(get_settings(), "lease_seconds", 0.5)
    owner, target = clip
    fake = fakes(job_seconds=0.3)
    add_server(db, fake, "gpu-1", max_jobs=2)
    ids = [make_job(db, owner, target, seed=seed).id for seed in range(3)]
    crashed = Dispatcher(worker_id="app-a")
    await drive(crashed, lambda: any(job.status in claims.ACTIVE for job in job_states(ids).values()))
    await crashed.close()

    survivor = Dispatcher(worker_id="app-b")
    try:
        await drive(survivor, all_finished(ids), timeout=20)
    finally:
        await survivor.close()

    assert all(job.status == "completed" for job in job_states(ids).values())
    assert len(fake.executions) == 3
    assert len(_items(target.id)) == 3


async def test_two_dispatchers_on_one_database_never_take_the_same_job(db, clip, fakes) -> None:
    owner, target = clip
    servers = [fakes(job_seconds=0.03) for _ in range(3)]
    for index, fake in enumerate(servers):
        add_server(db, fake, f"gpu-{index}", max_jobs=2)
    ids = [make_job(db, owner, target, seed=seed).id for seed in range(30)]
    first, second = Dispatcher(worker_id="app-a"), Dispatcher(worker_id="app-b")
    try:
        await first.tick()  # each process holds some of the work, then both race for the rest
        await second.tick()
        await drive([first, second], all_finished(ids), timeout=30, pause=0.005)
        await asyncio.sleep(0.3)  # the last results' bookkeeping after their commit
    finally:
        await first.close()
        await second.close()

    states = job_states(ids)
    assert all(job.status == "completed" and job.attempts == 1 for job in states.values())
    sent = [prompt["prompt_id"] for fake in servers for prompt in fake.prompts]
    assert len(sent) == 30 and set(sent) == {job.remote_prompt_id for job in states.values()}
    assert first.completed + second.completed == 30 and first.completed > 0
    assert len(_items(target.id)) == 30


def test_concurrent_claims_of_one_job_let_exactly_one_win(db, clip) -> None:
    owner, target = clip
    from data.models import ComfyServer

    server = ComfyServer(name="gpu", base_url="http://127.0.0.1:9", status="online")
    db.add(server)
    db.commit()
    job = make_job(db, owner, target)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def race(index: int) -> None:
        with session_scope() as session:
            barrier.wait()
            wins.append(claims.claim(session, job.id, server.id, f"app-{index}", f"prompt-{index}", 30))

    threads = [threading.Thread(target=race, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1
    assert job_states([job.id])[job.id].attempts == 1


def test_batch_claims_racing_over_the_same_jobs_take_each_job_once(db, clip) -> None:
    """Four dispatchers claim overlapping batches of 20 jobs at once: every job is taken by exactly
    one of them, with that dispatcher's server and prompt id (SKIP LOCKED on PostgreSQL)."""
    owner, target = clip
    from data.models import ComfyServer

    servers = [ComfyServer(name=f"gpu-{n}", base_url=f"http://127.0.0.1:{9 + n}", status="online") for n in range(4)]
    db.add_all(servers)
    db.commit()
    ids = [make_job(db, owner, target).id for _ in range(20)]
    taken: dict[int, set[int]] = {}
    barrier = threading.Barrier(4)

    def race(index: int) -> None:
        picks = [claims.Pick(job_id, servers[index].id, f"p-{index}-{job_id}") for job_id in ids[index * 3 :]]
        with session_scope() as session:
            barrier.wait()
            taken[index] = claims.claim_many(session, picks, f"app-{index}", 30)

    threads = [threading.Thread(target=race, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [job_id for won in taken.values() for job_id in won]
    assert sorted(winners) == sorted(ids)  # each job once, none left out
    states = job_states(ids)
    for index, won in taken.items():
        for job_id in won:
            job = states[job_id]
            assert (job.status, job.server_id, job.remote_prompt_id, job.claimed_by, job.attempts) == (
                "dispatched", servers[index].id, f"p-{index}-{job_id}", f"app-{index}", 1
            )


def test_claims_racing_for_the_same_free_slots_never_overfill_a_server(db, clip) -> None:
    """Four dispatchers, each having counted the same free slots, claim different jobs for the same three
    servers (one slot each) at once, over several rounds: no server ever holds more jobs than its slots.
    Before slots were locked and counted again inside the claim, all four got a job onto each server."""
    owner, target = clip
    from data.models import ComfyServer

    servers = [
        ComfyServer(name=f"gpu-{n}", base_url=f"http://127.0.0.1:{9 + n}", status="online", max_jobs=1)
        for n in range(3)
    ]
    db.add_all(servers)
    db.commit()
    server_ids = [server.id for server in servers]
    ids = [make_job(db, owner, target).id for _ in range(4 * 3 * 3)]
    for round_ in range(3):
        barrier = threading.Barrier(4)
        batch = ids[round_ * 12 : (round_ + 1) * 12]
        cut: dict[int, set[int]] = {}

        def race(index: int, batch: list[int] = batch, cut: dict[int, set[int]] = cut, start=barrier) -> None:
            mine = zip(batch[index * 3 : index * 3 + 3], server_ids, strict=True)
            picks = [claims.Pick(job_id, server_id, f"p-{index}-{job_id}") for job_id, server_id in mine]
            with session_scope() as session:
                start.wait()
                fitting, cut[index] = claims.fit_to_room(session, picks, set())
                claims.claim_many(session, fitting, f"app-{index}", 30)

        threads = [threading.Thread(target=race, args=(index,)) for index in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with session_scope() as session:
            counts = claims.active_counts(session)
        assert counts == dict.fromkeys(server_ids, 1), f"round {round_}: {counts}"
        assert sum(map(len, cut.values())) == 9  # each server's slot went to one dispatcher; the others were cut
        with session_scope() as session:  # the GPUs finish: every slot is free for the next round
            for job_id in ids:
                job = session.get(GenerationJob, job_id)
                if job.status == "dispatched":
                    job.status = "completed"
            session.commit()


def test_a_claim_takes_only_the_slots_still_free(db, clip) -> None:
    owner, target = clip
    from data.models import ComfyServer

    server = ComfyServer(name="gpu", base_url="http://127.0.0.1:9", status="online", max_jobs=2)
    db.add(server)
    db.commit()
    busy, *chosen = (make_job(db, owner, target) for _ in range(4))
    assert claims.claim(db, busy.id, server.id, "other-app", "theirs", 30)  # claimed since our count
    picks = [claims.Pick(job.id, server.id, f"mine-{job.id}") for job in chosen]
    fitting, cut = claims.fit_to_room(db, picks, set())
    assert (fitting, cut) == (picks[:1], {server.id})
    # A prompt that ended here (results still being stored) frees its slot already.
    assert claims.fit_to_room(db, picks, {"theirs"}) == (picks[:2], {server.id})
    db.rollback()


def test_a_batch_claim_passes_over_jobs_no_longer_queued(db, clip) -> None:
    owner, target = clip
    from data.models import ComfyServer

    server = ComfyServer(name="gpu", base_url="http://127.0.0.1:9", status="online")
    db.add(server)
    db.commit()
    first, second, third = (make_job(db, owner, target) for _ in range(3))
    assert claims.claim(db, first.id, server.id, "other-app", "theirs", 30)
    second.status = "cancelled"
    db.add(second)
    db.commit()
    picks = [claims.Pick(job.id, server.id, f"mine-{job.id}") for job in (first, second, third)]
    assert claims.claim_many(db, picks, "app", 30) == {third.id}
    states = job_states([first.id, second.id, third.id])
    assert (states[first.id].remote_prompt_id, states[first.id].claimed_by) == ("theirs", "other-app")
    assert states[second.id].status == "cancelled"
    assert (states[third.id].status, states[third.id].remote_prompt_id) == ("dispatched", f"mine-{third.id}")


def test_storing_the_same_results_twice_keeps_one_copy(db, clip) -> None:
    """A crash after the files were written, or a second look at the history, stores nothing twice."""
    owner, target = clip
    from data.models import ComfyServer
    from tests.fakes.fake_media import png_bytes

    server = ComfyServer(name="gpu", base_url="http://127.0.0.1:9", status="online")
    db.add(server)
    db.commit()
    job = make_job(db, owner, target)
    assert claims.claim(db, job.id, server.id, "app", "prompt-1", 30)
    output = results.Output(node_id="2", filename="image_00001_.png", media="image", data=png_bytes(32, 24, seed=3))

    first = results.store_results(job.id, "prompt-1", "gpu", [output])
    second = results.store_results(job.id, "prompt-1", "gpu", [output])

    assert first.completed and len(first.items) == 1
    assert not second.completed and second.items == []
    assert len(_items(target.id)) == 1
