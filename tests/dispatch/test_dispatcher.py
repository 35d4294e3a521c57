"""The dispatcher against fake ComfyUI servers: results, distribution, priority, retries, cancel, failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from app.config import get_settings
from app.dispatch import claims
from app.services import jobs
from data.engine import session_scope
from data.models import ComfyServer, GalleryItem, GenerationJob

from .conftest import add_runpod_endpoint, add_server, all_finished, drive, image_graph, job_states, make_job


def _gallery(clip_id: int) -> list[GalleryItem]:
    with session_scope() as session:
        return list(session.exec(select(GalleryItem).where(GalleryItem.clip_id == clip_id).order_by(GalleryItem.id)))


async def test_a_job_runs_and_its_results_land_in_the_clip_gallery(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05)
    server = add_server(db, fake, "gpu-1")
    job = make_job(db, owner, target, seed=7, graph=image_graph(7, batch=2))

    await drive(dispatcher, lambda: all_finished([job.id])() and bool(fake.history_deletes))

    done = job_states([job.id])[job.id]
    assert done.status == "completed", done.error
    assert done.server_id == server.id and done.attempts == 1 and done.progress == 1.0
    items = _gallery(target.id)
    assert len(items) == 2  # every output image of the batch
    assert [item.selected for item in items] == [True, False]  # the clip's first result becomes its selection
    media = get_settings().media_dir
    for item in items:
        assert (media / item.file_path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (media / item.thumbnail_path).read_bytes()[8:12] == b"WEBP"
        assert item.params["server"] == "gpu-1" and item.params["seed"] == 7 and item.params["prompt_id"]
    # Our own prompt id went to the server, and its history was freed once stored.
    assert [p["prompt_id"] for p in fake.prompts] == [done.remote_prompt_id]
    assert any(done.remote_prompt_id in entry.get("delete", []) for entry in fake.history_deletes)


async def test_jobs_spread_over_servers_and_each_keeps_at_most_max_jobs(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    first, second = fakes(job_seconds=0.1), fakes(job_seconds=0.1)
    add_server(db, first, "gpu-1", max_jobs=2)
    add_server(db, second, "gpu-2", max_jobs=2)
    ids = [make_job(db, owner, target, seed=seed).id for seed in range(8)]
    await drive(dispatcher, all_finished(ids))

    assert all(job.status == "completed" for job in job_states(ids).values())
    assert len(first.prompts) >= 2 and len(second.prompts) >= 2
    assert len(first.prompts) + len(second.prompts) == 8  # none ran twice
    for fake in (first, second):  # when each prompt arrived, the server held at most one other unfinished one
        ended = {run["prompt_id"]: run["ended_at"] for run in fake.executions}
        arrivals = [prompt["received_at"] for prompt in fake.prompts]
        held = [sum(1 for p in fake.prompts if p["received_at"] <= at < ended[p["prompt_id"]]) for at in arrivals]
        assert max(held) <= 2, held


async def test_higher_priority_runs_first_then_oldest(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05)
    add_server(db, fake, "gpu-1", max_jobs=1)
    low = make_job(db, owner, target, seed=1, priority=0, created_offset=-3)
    old = make_job(db, owner, target, seed=2, priority=5, created_offset=-2)
    new = make_job(db, owner, target, seed=3, priority=5, created_offset=-1)

    await drive(dispatcher, all_finished([low.id, old.id, new.id]))

    states = job_states([low.id, old.id, new.id])
    order = [p["prompt_id"] for p in fake.prompts]
    assert order == [states[old.id].remote_prompt_id, states[new.id].remote_prompt_id, states[low.id].remote_prompt_id]


async def test_jobs_go_only_to_servers_that_have_their_models(db, clip, fakes, dispatcher) -> None:
    from data.models import ModelEntry, ServerModel
    from data.models._common import utcnow

    owner, target = clip
    without, with_model = fakes(), fakes(checkpoints=["rare.safetensors"])
    a = add_server(db, without, "no-rare", max_jobs=2)
    b = add_server(db, with_model, "has-rare", max_jobs=2)
    entry = ModelEntry(kind="checkpoint", file_name="rare.safetensors")
    db.add(entry)
    db.commit()
    db.add(ServerModel(server_id=b.id, model_id=entry.id))
    for server in (a, b):
        server.catalog_refreshed_at = utcnow()
        db.add(server)
    db.commit()
    needs = [{"kind": "checkpoint", "file_name": "rare.safetensors"}]
    ids = [
        make_job(db, owner, target, seed=s, checkpoint="rare.safetensors", required_models=needs).id for s in range(3)
    ]

    await drive(dispatcher, all_finished(ids))

    assert {job.server_id for job in job_states(ids).values()} == {b.id}
    assert without.prompts == []


async def test_an_execution_error_is_retried_with_backoff_and_then_succeeds(
    db, clip, fakes, dispatcher, quick_retries
) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.02, fail_next=1)
    add_server(db, fake, "gpu-1")
    job = make_job(db, owner, target)

    await drive(dispatcher, all_finished([job.id]))

    done = job_states([job.id])[job.id]
    assert done.status == "completed" and done.attempts == 2
    assert len(fake.prompts) == 2 and fake.prompts[0]["prompt_id"] != fake.prompts[1]["prompt_id"]


async def test_attempts_run_out_and_the_job_fails_with_the_servers_reason(
    db, clip, fakes, dispatcher, quick_retries
) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.02, fail_next=5)
    add_server(db, fake, "gpu-1")
    job = make_job(db, owner, target, max_attempts=2)

    await drive(dispatcher, all_finished([job.id]))

    done = job_states([job.id])[job.id]
    assert done.status == "failed" and done.attempts == 2
    assert "Failed after 2 attempts" in done.error and "SafetensorError" in done.error


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    assert [claims.backoff_seconds(n, 5, 60) for n in (1, 2, 3, 4, 5, 6)] == [5, 10, 20, 40, 60, 60]


async def test_a_graph_the_server_refuses_fails_at_once_with_a_readable_reason(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes()
    add_server(db, fake, "gpu-1")
    bad = image_graph(1)
    bad["1"]["inputs"]["width"] = -5
    job = make_job(db, owner, target, graph=bad)

    await drive(dispatcher, all_finished([job.id]))

    done = job_states([job.id])[job.id]
    assert done.status == "failed" and done.attempts == 1
    assert "gpu-1 refused the workflow" in done.error and "width" in done.error and "smaller than min" in done.error
    assert fake.executions == []


async def test_cancel_removes_a_pending_prompt_and_interrupts_a_running_one(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.05, stall_next=1)  # the first prompt runs until interrupted
    add_server(db, fake, "gpu-1", max_jobs=2)
    running = make_job(db, owner, target, seed=1, created_offset=-1)
    pending = make_job(db, owner, target, seed=2)

    def both_on_server() -> bool:
        states = job_states([running.id, pending.id])
        return states[running.id].status == "running" and fake.pending_prompt_ids == [
            states[pending.id].remote_prompt_id
        ]

    await drive(dispatcher, both_on_server)
    jobs.cancel_job(db, owner, pending.id)
    jobs.cancel_job(db, owner, running.id)
    await drive(dispatcher, all_finished([running.id, pending.id]))

    states = job_states([running.id, pending.id])
    assert (states[pending.id].status, states[running.id].status) == ("cancelled", "cancelled"), fake.records()
    assert [entry["prompt_id"] for entry in fake.interrupts] == [states[running.id].remote_prompt_id]
    assert any(states[pending.id].remote_prompt_id in entry.get("delete", []) for entry in fake.queue_deletes)
    assert {e["prompt_id"] for e in fake.executions} == {states[running.id].remote_prompt_id}


async def test_a_server_going_down_mid_job_hands_the_job_to_another(db, clip, fakes, dispatcher, quick_retries) -> None:
    owner, target = clip
    flaky = fakes(job_seconds=0.05, stall_next=1)
    steady = fakes(job_seconds=0.05)
    down = add_server(db, flaky, "flaky", max_jobs=1)
    job = make_job(db, owner, target)

    await drive(dispatcher, lambda: job_states([job.id])[job.id].status == "running")
    add_server(db, steady, "steady", max_jobs=1)
    flaky.go_down()
    await drive(dispatcher, all_finished([job.id]), timeout=20)

    done = job_states([job.id])[job.id]
    # The server, not the job, failed: the move used no attempt (test_failover.py checks it comes without a wait).
    assert done.status == "completed" and done.server_id != down.id and done.attempts == 1
    with session_scope() as session:
        assert session.get(ComfyServer, down.id).status == "offline"


async def test_a_stalled_prompt_is_interrupted_and_its_server_marked_degraded(
    db, clip, fakes, dispatcher, quick_retries, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "stall_timeout_seconds", 0.6)
    owner, target = clip
    wedged = fakes(job_seconds=0.05, stall_next=1)
    healthy = fakes(job_seconds=0.05)
    stuck = add_server(db, wedged, "wedged", max_jobs=1)
    job = make_job(db, owner, target)
    await drive(dispatcher, lambda: job_states([job.id])[job.id].status == "running")
    add_server(db, healthy, "healthy", max_jobs=1)

    await drive(dispatcher, all_finished([job.id]), timeout=20)

    done = job_states([job.id])[job.id]
    assert done.status == "completed" and done.server_id != stuck.id
    assert len(wedged.interrupts) == 1
    with session_scope() as session:
        server = session.get(ComfyServer, stuck.id)
        assert server.status == "degraded" and "no progress" in server.last_error


async def test_a_replayed_graph_answered_from_cache_is_not_stored_twice(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=0.02)
    add_server(db, fake, "gpu-1")
    first = make_job(db, owner, target, seed=5)
    await drive(dispatcher, all_finished([first.id]))
    again = make_job(db, owner, target, seed=5)  # the identical graph
    await drive(dispatcher, all_finished([again.id]))

    assert job_states([again.id])[again.id].status == "completed"
    assert len(_gallery(target.id)) == 1


async def test_previews_and_progress_reach_the_job_while_it_runs(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes(job_seconds=1.2, preview_frames=4)
    add_server(db, fake, "gpu-1")
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "dreamshaper_8.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 3,
                "steps": 8,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "storycanvas/image"}},
    }
    job = make_job(db, owner, target, graph=graph)
    seen: dict[str, object] = {}

    def previewed() -> bool:
        state = job_states([job.id])[job.id]
        if state.preview_path and state.status == "running":
            seen["preview"] = state.preview_path
            seen["progress"] = state.progress
            seen["node"] = state.current_node
        return state.status == "completed"

    await drive(dispatcher, previewed, timeout=20)

    assert seen.get("preview"), "no preview frame reached the job"
    assert Path(get_settings().media_dir / str(seen["preview"])).exists()
    assert 0 < float(seen["progress"]) < 1  # type: ignore[arg-type]


async def test_a_lost_dispatch_is_queued_again_and_runs_once(db, clip, fakes, dispatcher) -> None:
    """A crash between the claim and POST /prompt: the server never heard of the id."""
    owner, target = clip
    fake = fakes(job_seconds=0.02)
    server = add_server(db, fake, "gpu-1")
    job = make_job(db, owner, target)
    assert claims.claim(db, job.id, server.id, dispatcher.worker_id, "never-sent-prompt", 30)

    await drive(dispatcher, all_finished([job.id]))

    done = job_states([job.id])[job.id]
    assert done.status == "completed" and len(fake.executions) == 1


async def test_dispatch_waits_for_servers_that_are_not_online(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    fake = fakes()
    server = add_server(db, fake, "gpu-1", status="offline")
    job = make_job(db, owner, target)
    for _ in range(5):
        await dispatcher.tick()
        await asyncio.sleep(0.02)
    assert job_states([job.id])[job.id].status == "queued"
    with session_scope() as session:
        row = session.get(ComfyServer, server.id)
        row.status = "online"
        session.add(row)
        session.commit()
    await drive(dispatcher, all_finished([job.id]))
    assert job_states([job.id])[job.id].status == "completed"


def test_queued_dependents_of_a_failed_job_fail_with_the_reason(db, clip) -> None:
    owner, target = clip
    image = make_job(db, owner, target)
    image.status = "failed"
    db.add(image)
    video = make_job(db, owner, target, seed=2)
    video.depends_on_id = image.id
    db.add(video)
    db.commit()
    failed = claims.fail_orphaned_dependents(db)
    assert [job.id for job in failed] == [video.id]
    assert "starts from was not made" in db.get(GenerationJob, video.id).error


async def test_a_runpod_endpoint_runs_jobs_through_run_and_status(db, clip, dispatcher) -> None:
    from tests.fakes.fake_runpod import FakeRunpod

    owner, target = clip
    fake = FakeRunpod(job_seconds=0.2).start()
    try:
        add_runpod_endpoint(db, fake)
        job = make_job(db, owner, target)

        await drive(dispatcher, all_finished([job.id]), timeout=20)

        done = job_states([job.id])[job.id]
        assert done.status == "completed", done.error
        assert done.remote_prompt_id == fake.runs[0]["job_id"]  # RunPod's own job id, followed by /status
        assert fake.runs[0]["input"]["workflow"] == job.resolved_graph
        [item] = _gallery(target.id)
        assert item.params["server"] == "runpod" and item.selected
    finally:
        fake.stop()
