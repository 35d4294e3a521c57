"""Health checks, connection tests and catalog refreshes against a fake ComfyUI on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from app.integrations.comfyui import Catalog
from app.services import events, server_catalog, server_health, servers
from data.engine import session_scope
from data.errors import Forbidden, Invalid
from data.models import ComfyServer, ModelEntry, ServerModel
from data.models._common import utcnow
from tests.browser.conftest import free_port
from tests.fakes.fake_comfyui import FakeComfyUI

GPU = "NVIDIA GeForce RTX 4090"


@pytest.fixture
def admin(make_user):
    return make_user("root", admin=True)


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI()
    fake.gpu_name = GPU
    fake.checkpoints = ["sdxl.safetensors", "flux.safetensors"]
    fake.loras = ["ink.safetensors"]
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def second_comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI()
    fake.checkpoints = ["sdxl.safetensors"]
    fake.vaes = ["sdxl_vae.safetensors"]
    fake.start()
    yield fake
    fake.stop()


def add(db, admin, url: str, name: str = "gpu-1", **fields) -> ComfyServer:
    return servers.create_server(db, admin, servers.parse_create(name=name, url=url, **fields))


def stored(server_id: int) -> ComfyServer:
    with session_scope() as session:
        server = session.get(ComfyServer, server_id)
        assert server is not None
        return server


async def test_a_healthy_server_is_online_with_its_gpu_and_catalog(db, admin, comfy, monkeypatch) -> None:
    from nicegui import core

    monkeypatch.setattr(core, "loop", None)  # a UI test earlier in the run leaves its stopped loop behind
    server = add(db, admin, comfy.url)
    seen: list[int] = []
    events.servers_changed.subscribe(seen.append)

    checked = await server_health.check_health(server.id)

    assert checked is not None and checked.status == "online"
    assert checked.gpu_name == GPU
    assert checked.vram_total and checked.vram_free is not None and checked.ram_total
    assert checked.comfy_version and checked.last_error is None and checked.last_checked_at is not None
    assert checked.queue_depth == 0
    # First time online: the catalog is read too.
    assert checked.catalog_refreshed_at is not None
    assert "CheckpointLoaderSimple" in checked.node_types
    assert server_catalog.server_catalog(db, admin, server.id)["checkpoints"] == [
        "flux.safetensors",
        "sdxl.safetensors",
    ]
    assert seen and set(seen) == {server.id}


async def test_a_server_that_goes_down_is_offline_with_the_reason_and_comes_back(db, admin, comfy) -> None:
    server = add(db, admin, comfy.url)
    up = await server_health.check_health(server.id)
    assert up is not None and up.last_seen_at == up.last_checked_at
    comfy.go_down()
    down = await server_health.check_health(server.id)
    assert down is not None and down.status == "offline"
    assert down.last_error and "refused" in down.last_error.lower()
    assert down.gpu_name == GPU  # the last known hardware stays on record
    assert down.last_seen_at == up.last_seen_at < down.last_checked_at  # seen when it last answered
    comfy.come_up()
    back = await server_health.check_health(server.id)
    assert back is not None and (back.status, back.last_error) == ("online", None)


async def test_a_slow_server_is_degraded(db, admin, comfy, monkeypatch) -> None:
    monkeypatch.setattr(server_health, "SLOW_SECONDS", 0.2)
    comfy.slow_seconds = 0.25
    server = add(db, admin, comfy.url)
    checked = await server_health.check_health(server.id)
    assert checked is not None and checked.status == "degraded"
    assert "slowly" in (checked.last_error or "")


async def test_a_good_check_clears_the_dispatchers_degraded_mark(db, admin, comfy) -> None:
    server = add(db, admin, comfy.url)
    await server_health.check_health(server.id)
    with session_scope() as session:
        marked = session.get(ComfyServer, server.id)
        marked.status, marked.last_error = "degraded", "A prompt stalled for 300 s"
        session.add(marked)
        session.commit()
    checked = await server_health.check_health(server.id)
    assert checked is not None and (checked.status, checked.last_error) == ("online", None)


async def test_a_wrong_key_is_said_plainly(db, admin, comfy) -> None:
    comfy.api_key = "the-right-key"
    server = add(db, admin, comfy.url, api_key="a-wrong-key-0000")
    checked = await server_health.check_health(server.id)
    assert checked is not None and checked.status == "offline"
    assert "key" in (checked.last_error or "").lower()
    servers.update_server(db, admin, server.id, servers.parse_update(api_key="the-right-key"))
    checked = await server_health.check_health(server.id)
    assert checked is not None and checked.status == "online"


async def test_the_catalog_is_read_again_only_when_stale(db, admin, comfy) -> None:
    server = add(db, admin, comfy.url)
    await server_health.check_health(server.id)
    first = stored(server.id).catalog_refreshed_at
    comfy.checkpoints = ["new.safetensors"]
    await server_health.check_health(server.id)
    assert stored(server.id).catalog_refreshed_at == first
    assert server_catalog.server_catalog(db, admin, server.id)["checkpoints"] == [
        "flux.safetensors",
        "sdxl.safetensors",
    ]

    with session_scope() as session:
        old = session.get(ComfyServer, server.id)
        old.catalog_refreshed_at = utcnow() - timedelta(days=1)
        session.add(old)
        session.commit()
    await server_health.check_health(server.id)
    assert server_catalog.server_catalog(db, admin, server.id)["checkpoints"] == ["new.safetensors"]


async def test_all_enabled_servers_are_checked_at_once(db, admin, comfy, second_comfy) -> None:
    one = add(db, admin, comfy.url)
    two = add(db, admin, second_comfy.url, name="gpu-2")
    gone = add(db, admin, f"http://127.0.0.1:{free_port()}", name="gone")
    off = add(db, admin, "http://127.0.0.1:9", name="disabled", enabled=False)

    assert await server_health.check_all_health() == 3

    assert [stored(s.id).status for s in (one, two, gone, off)] == ["online", "online", "offline", "unknown"]
    assert server_catalog.fleet_models(db, "checkpoint")["sdxl.safetensors"] == ["gpu-1", "gpu-2"]


async def test_connection_test_reports_and_stores_the_outcome(db, admin, comfy, make_user) -> None:
    server = add(db, admin, comfy.url)
    result = await server_health.test_server(admin, server.id)
    assert result.ok and result.version and GPU in result.message and result.gpu_name == GPU
    assert stored(server.id).status == "online"

    comfy.go_down()
    result = await server_health.test_server(admin, server.id)
    assert not result.ok and result.kind == "refused" and "running" in result.message
    assert stored(server.id).status == "offline"
    with pytest.raises(Forbidden):
        await server_health.test_server(make_user("bob"), server.id)


async def test_settings_are_tested_before_saving(db, admin, comfy) -> None:
    comfy.api_key = "secret-key-1234"
    refused = await server_health.test_draft(admin, comfy.url)
    assert not refused.ok and refused.kind == "unauthorized"
    passed = await server_health.test_draft(admin, comfy.url + "/", "secret-key-1234")
    assert passed.ok
    # Editing: a blank key field means the stored key.
    server = add(db, admin, comfy.url, api_key="secret-key-1234")
    assert (await server_health.test_draft(admin, comfy.url, "", server_id=server.id)).ok
    with pytest.raises(Invalid, match="http:// or https://"):
        await server_health.test_draft(admin, "gpu-1:8188")
    assert db.exec(select(ComfyServer)).all().__len__() == 1


async def test_refresh_catalog_needs_an_admin_and_says_when_the_server_is_down(db, admin, comfy, make_user) -> None:
    server = add(db, admin, comfy.url)
    with pytest.raises(Forbidden):
        await server_catalog.refresh_catalog(server.id, make_user("bob"))
    result = await server_catalog.refresh_catalog(server.id, admin)
    assert result["loras"] == ["ink.safetensors"]
    comfy.go_down()
    with pytest.raises(servers.ServerUnreachable, match="Could not read the models of “gpu-1”"):
        await server_catalog.refresh_catalog(server.id, admin)
    assert server_catalog.server_catalog(db, admin, server.id)["loras"] == ["ink.safetensors"]  # kept


def test_concurrent_catalog_refreshes_of_two_servers_share_entries(db, admin) -> None:
    """Two servers storing overlapping catalogs at the same moment (PostgreSQL: two transactions) both succeed."""
    one = add(db, admin, "http://gpu-1:8188")
    two = add(db, admin, "http://gpu-2:8188", name="gpu-2")
    shared = [f"shared_{n:04d}.safetensors" for n in range(300)]
    catalogs = {
        one.id: Catalog(
            checkpoints=[*shared, "only_one.safetensors"], loras=shared, vaes=[], embeddings=[], upscalers=[]
        ),
        two.id: Catalog(
            checkpoints=list(reversed(shared)), loras=shared[:10], vaes=[], embeddings=[], upscalers=["4x.pth"]
        ),
    }
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def refresh(server_id: int) -> None:
        try:
            with session_scope() as session:
                server = session.get(ComfyServer, server_id)
                barrier.wait(timeout=10)
                server_catalog.store_catalog(session, server, catalogs[server_id])
        except BaseException as error:  # reported below, with the thread's error
            failures.append(error)

    threads = [threading.Thread(target=refresh, args=(server_id,)) for server_id in catalogs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    db.expire_all()
    assert len(db.exec(select(ModelEntry)).all()) == 300 + 1 + 300 + 1
    assert len(db.exec(select(ServerModel).where(ServerModel.server_id == one.id)).all()) == 601
    assert len(db.exec(select(ServerModel).where(ServerModel.server_id == two.id)).all()) == 311


async def test_a_runpod_endpoint_is_checked_through_runpods_health(db, admin) -> None:
    from tests.fakes.fake_runpod import FakeRunpod

    with FakeRunpod(api_key="rp-right-key", endpoint_id="ep-1") as runpod:
        pod = add(db, admin, runpod.url, name="pod", runpod_endpoint_id="ep-1", runpod_api_key="rp-right-key")
        checked = await server_health.check_health(pod.id)
        assert checked is not None and (checked.status, checked.queue_depth, checked.last_error) == ("online", 0, None)
        result = await server_health.test_server(admin, pod.id)
        assert result.ok and "workers idle" in result.message

        servers.update_server(db, admin, pod.id, servers.parse_update(runpod_api_key="rp-wrong-key"))
        checked = await server_health.check_health(pod.id)
        assert checked is not None and checked.status == "offline"
        assert "RunPod API key rejected" in (checked.last_error or "")
        wrong = await server_health.test_draft(
            admin, runpod.url, runpod_endpoint_id="ep-2", runpod_api_key="rp-right-key"
        )
        assert not wrong.ok and "endpoint" in wrong.message


def test_two_processes_refreshing_one_servers_catalog_at_once_both_succeed(db, admin) -> None:
    """Each app process checks every server: two can store the same server's catalog in the same moment."""
    server = add(db, admin, "http://gpu-1:8188")
    files = [f"model_{n:04d}.safetensors" for n in range(200)]
    catalog = Catalog(checkpoints=files, loras=files[:20], vaes=[], embeddings=[], upscalers=[])
    server_catalog.store_catalog(db, server, catalog)  # links exist: both refreshes replace them
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def refresh() -> None:
        try:
            with session_scope() as session:
                stored = session.get(ComfyServer, server.id)
                barrier.wait(timeout=10)
                server_catalog.store_catalog(session, stored, catalog)
        except BaseException as error:  # reported below, with the thread's error
            failures.append(error)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    db.expire_all()
    assert len(db.exec(select(ServerModel).where(ServerModel.server_id == server.id)).all()) == 220


async def test_one_slow_answer_does_not_degrade_a_server(db, admin, comfy, monkeypatch) -> None:
    monkeypatch.setattr(server_health, "SLOW_SECONDS", 0.2)
    server = add(db, admin, comfy.url)
    comfy.slow_seconds = 0.25
    answers: list[float] = []

    async def hiccup_once(*args, **kwargs):  # type: ignore[no-untyped-def]  # wraps the real call
        answers.append(comfy.slow_seconds)
        result = await real(*args, **kwargs)
        comfy.slow_seconds = 0.0  # the next answer is quick again
        return result

    from app.integrations.comfyui import ComfyClient

    real = ComfyClient.queue
    monkeypatch.setattr(ComfyClient, "queue", lambda self, *a, **k: hiccup_once(self, *a, **k))
    checked = await server_health.check_health(server.id)
    assert checked is not None and (checked.status, checked.last_error) == ("online", None)
    assert answers == [0.25, 0.0]  # measured again after the slow one


async def test_a_busy_app_does_not_call_its_servers_slow(db, admin, comfy, monkeypatch) -> None:
    """The scheduler's checks run in a loop of their own: the app's event loop stalling is not the server's time."""
    import asyncio
    import time

    from app.dispatch import scheduler

    monkeypatch.setattr(server_health, "SLOW_SECONDS", 0.5)
    server = add(db, admin, comfy.url)
    comfy.slow_seconds = 0.05
    check = asyncio.create_task(scheduler.health())
    await asyncio.sleep(0.02)  # the check is on its way
    time.sleep(1.5)  # the app's loop is busy (a big page, a slow tick) while the server answers at once
    await check
    with session_scope() as session:
        stored = session.get(ComfyServer, server.id)
        assert stored is not None and (stored.status, stored.last_error) == ("online", None)


async def test_a_server_that_answers_again_is_online_within_seconds(db, admin, comfy) -> None:
    from app.config import get_settings
    from app.dispatch import scheduler

    assert get_settings().offline_probe_seconds <= 4.0  # probed this often, it is back well within 5 s
    server = add(db, admin, comfy.url)
    comfy.go_down()
    await scheduler.health()
    with session_scope() as session:
        assert session.get(ComfyServer, server.id).status == "offline"  # type: ignore[union-attr]  # the row exists
    comfy.come_up()
    await scheduler.probe_offline()  # the quick probe, not the full check every 30 s
    with session_scope() as session:
        assert session.get(ComfyServer, server.id).status == "online"  # type: ignore[union-attr]  # the row exists
    online = add(db, admin, "http://127.0.0.1:9", name="never-checked-twice")
    with session_scope() as session:
        row = session.get(ComfyServer, online.id)
        row.status = "online"  # type: ignore[union-attr]  # the row exists
        session.add(row)
        session.commit()
    assert await server_health.check_all_health(only_offline=True) == 0  # online servers wait for the full check
