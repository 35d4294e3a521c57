"""A server's output that is not the picture it claims fails the job with the reason, and nothing of it is stored."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.dispatch import results
from app.services import media_store
from data.engine import session_scope
from data.models import GalleryItem, GenerationJob
from tests.fakes import fake_media

from .conftest import add_server, all_finished, drive, job_states, make_job

REASONS = {
    "empty": "is empty (0 bytes)",
    "truncated": "is cut short or damaged",
    "executable": "is not a PNG, JPEG, WebP or GIF picture",
    "bomb": "is 20000×20000 pixels (400 megapixels); pictures may have at most 268 megapixels",
}


def _gallery(clip_id: int) -> list[GalleryItem]:
    with session_scope() as session:
        return list(session.exec(select(GalleryItem).where(GalleryItem.clip_id == clip_id)))


@pytest.mark.parametrize("bad", sorted(REASONS))
async def test_a_bad_output_fails_the_job_with_the_reason_and_stores_nothing(db, clip, fakes, dispatcher, bad) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05, bad_output=bad)
    add_server(db, fake, "gpu-1")
    job = make_job(db, owner, target, seed=3)

    await drive(dispatcher, all_finished([job.id]))

    done = job_states([job.id])[job.id]
    assert done.status == "failed"
    assert done.error.startswith("gpu-1 returned “image_00001_.png” as a result, which "), done.error
    assert REASONS[bad] in done.error and "Nothing of this job was stored" in done.error
    assert _gallery(target.id) == []
    folder = media_store.project_media_dir(target.project_id) / "clips" / str(target.id)
    assert not folder.exists() or not any(path.is_file() for path in folder.rglob("*"))


async def test_a_good_output_after_a_bad_one_is_stored_with_its_thumbnail(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05, bad_output="bomb")
    add_server(db, fake, "gpu-1")
    first = make_job(db, owner, target, seed=3)
    await drive(dispatcher, all_finished([first.id]))
    fake.bad_output = None
    second = make_job(db, owner, target, seed=4)

    await drive(dispatcher, all_finished([second.id]))

    assert job_states([second.id])[second.id].status == "completed"
    (item,) = _gallery(target.id)
    assert item.thumbnail_path and (item.width, item.height) == (32, 24)


def test_a_picture_renamed_png_is_stored_as_what_it_is(db, clip) -> None:
    owner, target = clip
    job = make_job(db, owner, target, seed=5)
    with session_scope() as session:
        row = session.get(GenerationJob, job.id)
        row.status, row.remote_prompt_id = "running", "p-1"
        session.add(row)
        session.commit()
    output = results.Output("9", "ComfyUI_00001_.png", "image", fake_media.jpeg_bytes(40, 30, seed="renamed"))

    stored = results.store_results(job.id, "p-1", "gpu-1", [output])

    assert stored.completed
    (item,) = _gallery(target.id)
    assert item.file_path.endswith(".jpg") and (item.width, item.height) == (40, 30)


def test_a_live_preview_that_is_not_a_small_picture_is_not_written() -> None:
    assert results.write_preview(77, fake_media.bad_image("executable"), "image/png") is None
    assert results.write_preview(77, fake_media.bad_image("bomb"), "image/png") is None
    assert results.write_preview(77, fake_media.jpeg_bytes(32, 32), "image/jpeg") == "jobs/77/preview.jpg"
