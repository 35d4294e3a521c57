"""A dispatcher of the test's own against fake ComfyUI servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from app.config import get_settings
from app.dispatch import dispatcher as dispatch
from app.dispatch.dispatcher import Dispatcher
from app.services import clips, scenes
from data.models import ComfyServer, GenerationJob
from tests.fakes.fake_comfyui import FakeComfyUI


@pytest.fixture
def fakes() -> Iterator[Callable[..., FakeComfyUI]]:
    """fakes(job_seconds=…, …) → a started fake ComfyUI, stopped after the test."""
    started: list[FakeComfyUI] = []

    def make(**knobs: Any) -> FakeComfyUI:
        fake = FakeComfyUI(**knobs).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "retry_base_seconds", 0.05)
    monkeypatch.setattr(settings, "retry_cap_seconds", 0.2)


def add_server(db, fake: FakeComfyUI, name: str, *, max_jobs: int = 2, status: str = "online") -> ComfyServer:
    server = ComfyServer(name=name, base_url=fake.url, max_jobs=max_jobs, status=status)
    db.add(server)
    db.commit()
    db.refresh(server)
    return server


@pytest.fixture
def clip(make_user, make_project, db):
    owner = make_user("director")
    project = make_project(owner, name="Film")
    scene = scenes.create_scene(db, owner, project.id, "Opening")
    made = clips.create_clip(db, owner, scene.id, start=0.0, duration=2.0, image_prompt="a lighthouse at dusk")
    return owner, made


def image_graph(seed: int, *, prefix: str = "storycanvas/image", width: int = 32, batch: int = 1) -> dict[str, Any]:
    """The smallest real graph: an empty image of a seed-dependent colour, saved."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": width, "height": 24, "batch_size": batch, "color": seed}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }


def add_runpod_endpoint(db, fake: Any, *, max_jobs: int = 2) -> ComfyServer:
    """A RunPod serverless endpoint served by a FakeRunpod (its test key stored encrypted)."""
    from app.services.security import encrypt_secret

    server = ComfyServer(
        name="runpod",
        base_url=fake.url,
        runpod_endpoint_id="ep-123",
        encrypted_runpod_key=encrypt_secret("rp-test-key"),
        status="online",
        max_jobs=max_jobs,
    )
    db.add(server)
    db.commit()
    db.refresh(server)
    return server


def make_job(
    db,
    owner,
    clip,
    *,
    seed: int = 1,
    priority: int = 0,
    graph: dict[str, Any] | None = None,
    checkpoint: str | None = None,
    required_models: list[dict[str, str]] | None = None,
    max_attempts: int = 3,
    created_offset: float = 0.0,
) -> GenerationJob:
    from datetime import timedelta

    from data.models._common import utcnow

    job = GenerationJob(
        kind="image",
        project_id=clip.project_id,
        clip_id=clip.id,
        owner_id=owner.id,
        priority=priority,
        max_attempts=max_attempts,
        params={"prompt": clip.image_prompt, "seed": seed, "checkpoint": checkpoint},
        resolved_graph=graph or image_graph(seed),
        checkpoint=checkpoint,
        required_models=required_models or [],
        required_nodes=sorted({node["class_type"] for node in (graph or image_graph(seed)).values()}),
        created_at=utcnow() + timedelta(seconds=created_offset),
    )
    db.add(job)
    db.commit()
    db.refresh(job)
    return job


def job_states(job_ids: list[int]) -> dict[int, GenerationJob]:
    from data.engine import session_scope

    with session_scope() as session:
        return {job_id: session.get(GenerationJob, job_id) for job_id in job_ids}  # type: ignore[misc]


async def drive(
    dispatchers: Dispatcher | list[Dispatcher], until: Callable[[], bool], timeout: float = 15.0, pause: float = 0.02
) -> None:
    """Tick like the scheduler does until the condition holds."""
    many = list(dispatchers) if isinstance(dispatchers, list) else [dispatchers]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        random.shuffle(many)  # several dispatchers: none always gets to the queue first
        await asyncio.gather(*(d.tick() for d in many))
        if until():
            return
        await asyncio.sleep(pause)
    raise AssertionError("the dispatcher did not get there in time")


def all_finished(job_ids: list[int]) -> Callable[[], bool]:
    return lambda: all(job.status in ("completed", "failed", "cancelled") for job in job_states(job_ids).values())


@pytest.fixture
async def dispatcher() -> AsyncIterator[Dispatcher]:
    made = Dispatcher(worker_id="test-worker")
    dispatch.install(made)
    yield made
    dispatch.install(None)
    await made.close()
