"""A result's metadata tells the truth: its size is the file's, not what the request asked for."""

from __future__ import annotations

from sqlmodel import select

from data.models import GalleryItem, GenerationJob

from .conftest import add_server, all_finished, drive, make_job


async def test_a_results_width_and_height_are_read_from_its_file(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    add_server(db, fakes(job_seconds=0.02), "gpu-1")
    job = make_job(db, owner, target, seed=3)  # the graph makes a 32×24 picture
    stored = db.get(GenerationJob, job.id)
    stored.params = {**stored.params, "width": 1024, "height": 576}  # the project's frame, as the request said
    db.add(stored)
    db.commit()

    await drive(dispatcher, all_finished([job.id]))

    (item,) = db.exec(select(GalleryItem).where(GalleryItem.job_id == job.id)).all()
    db.refresh(item)
    assert (item.width, item.height) == (32, 24)
    assert (item.params["width"], item.params["height"]) == (32, 24)


async def test_a_job_that_finished_while_the_app_was_down_gets_the_servers_times(db, clip, fakes) -> None:
    """The restarted app learns from /history when the prompt ran: start, finish and duration are filled."""
    import asyncio

    from app.dispatch import claims
    from app.dispatch.dispatcher import Dispatcher

    from .conftest import job_states

    owner, target = clip
    fake = fakes(job_seconds=0.4, preview_frames=0)
    add_server(db, fake, "gpu-1")
    job = make_job(db, owner, target, seed=5)
    before = Dispatcher(worker_id="studio-app")
    await drive(before, lambda: job_states([job.id])[job.id].status in claims.ACTIVE and bool(fake.prompts))
    await before.close()  # the app stops before the websocket says the prompt started
    with_start = job_states([job.id])[job.id]
    if with_start.started_at is not None:  # it had started already: forget it, as if the message never came
        with_start.started_at = None
        db.merge(with_start)
        db.commit()
    await asyncio.sleep(1.5)  # the server finishes meanwhile; the app is away longer than the job ran

    after = Dispatcher(worker_id="studio-app")
    try:
        await drive(after, all_finished([job.id]), timeout=20)
    finally:
        await after.close()

    done = job_states([job.id])[job.id]
    assert done.status == "completed" and done.started_at is not None and done.finished_at is not None
    took = (done.finished_at - done.started_at).total_seconds()
    assert 0.3 <= took <= 0.8, took  # the 0.4 s it ran on the server, not the time the app was away
    (item,) = db.exec(select(GalleryItem).where(GalleryItem.job_id == job.id)).all()
    db.refresh(item)
    assert 0.3 <= item.params["duration_s"] <= 0.8
