"""The dispatcher's tick tells owners how their jobs ended: a result and a failure through a fake ComfyUI."""

from __future__ import annotations

from sqlmodel import col, select

from data.engine import session_scope
from data.models import Batch, GenerationJob, Notification

from .conftest import add_server, all_finished, drive, job_states, make_job


def _notices(user_id: int) -> list[Notification]:
    with session_scope() as session:
        query = select(Notification).where(Notification.user_id == user_id).order_by(col(Notification.id))
        return list(session.exec(query))


async def test_finished_jobs_become_notices_without_anyone_asking(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05, fail_next=1)  # the first prompt to run fails: the older job's
    add_server(db, fake, "gpu-1", max_jobs=1)
    failing = make_job(db, owner, target, seed=2, max_attempts=1, created_offset=-5)
    done = make_job(db, owner, target, seed=1)
    ids = [done.id, failing.id]

    await drive(dispatcher, all_finished(ids))
    await drive(dispatcher, lambda: len(_notices(owner.id)) == 2)

    states = job_states(ids)
    assert states[failing.id].status == "failed" and all(state.notified for state in states.values())
    failed, completed = _notices(owner.id)
    assert (completed.kind, completed.job_id, completed.level) == ("job_completed", done.id, "positive")
    assert completed.extra["item_ids"]  # its result, for the toast's thumbnail
    assert (failed.kind, failed.job_id, failed.level) == ("job_failed", failing.id, "negative")
    assert failed.body == states[failing.id].error


async def test_a_batch_is_announced_once_by_the_tick_after_its_last_job(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05)
    add_server(db, fake, "gpu-1", max_jobs=2)
    batch = Batch(project_id=target.project_id, owner_id=owner.id, name="Harbour")
    db.add(batch)
    db.commit()
    made = [make_job(db, owner, target, seed=seed) for seed in range(3)]
    for job in made:
        job.batch_id = batch.id
        db.add(job)
    db.commit()

    await drive(dispatcher, all_finished([job.id for job in made]))
    await drive(dispatcher, lambda: len(_notices(owner.id)) == 1)
    for _ in range(5):
        await dispatcher.tick()

    (notice,) = _notices(owner.id)
    assert notice.kind == "batch_finished" and notice.title == "Batch “Harbour”: 3 completed, 0 failed"
    with session_scope() as session:
        assert session.get(Batch, batch.id).notified_at is not None  # type: ignore[union-attr]
        assert all(session.get(GenerationJob, job.id).notified for job in made)  # type: ignore[union-attr]
