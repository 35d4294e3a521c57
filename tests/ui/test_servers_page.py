"""The /servers page with the simulated user: adding through a connection test, live rows, deleting, read-only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from app.services import servers
from data.models import ComfyServer, GenerationJob
from tests.browser.conftest import free_port
from tests.fakes.fake_comfyui import FakeComfyUI

from .conftest import click_exact, click_testid, eventually


@pytest.fixture
def comfy() -> Iterator[FakeComfyUI]:
    fake = FakeComfyUI()
    fake.gpu_name = "NVIDIA GeForce RTX 4090"
    fake.checkpoints = ["sdxl_base.safetensors", "flux_dev.safetensors"]
    fake.loras = ["ink_style.safetensors"]
    fake.start()
    yield fake
    fake.stop()


def _testid(user: User, testid: str) -> list[ui.element]:
    return [e for e in user.client.layout.descendants() if e.props.get("data-testid") == testid]


def _text(user: User, testid: str) -> str:
    return " ".join(getattr(e, "text", "") for e in _testid(user, testid))


def _type(user: User, marker: str, text: str) -> None:
    user.find(marker=marker).clear().type(text)


async def test_admin_adds_a_server_after_a_failing_then_passing_test(user: User, sign_in, comfy, db) -> None:
    await sign_in(user, "root", admin=True)
    await user.open("/servers")
    await user.should_see("No ComfyUI servers yet: add the address of a machine running ComfyUI")
    click_testid(user, "add-server")
    await user.should_see("Add a ComfyUI server")

    _type(user, "server-name", "Studio GPU")
    _type(user, "server-url", f"http://127.0.0.1:{free_port()}")
    click_testid(user, "dialog-test")
    await eventually(lambda: "✗" in _text(user, "dialog-test-result"))
    assert "refused" in _text(user, "dialog-test-result").lower()
    assert db.exec(select(ComfyServer)).all() == []  # a test saves nothing

    _type(user, "server-url", comfy.url + "/")
    click_testid(user, "dialog-test")
    await eventually(lambda: "✓" in _text(user, "dialog-test-result"))
    assert "RTX 4090" in _text(user, "dialog-test-result")
    click_testid(user, "server-save")
    await user.should_see("Server added; checking it now")

    # The first health check runs in the background and the row lights up by itself.
    await eventually(
        lambda: (
            _testid(user, "server-status")[:1]
            and _testid(user, "server-status")[0].props.get("data-status") == "online"
        ),
        timeout=10,
    )
    assert "RTX 4090" in _text(user, "server-gpu")
    await eventually(lambda: "2 ckpt" in _text(user, "server-catalog-counts"), timeout=10)
    stored = db.exec(select(ComfyServer)).one()
    assert (stored.name, stored.base_url) == ("Studio GPU", comfy.url.rstrip("/"))

    click_testid(user, "server-catalog")
    await user.should_see("flux_dev.safetensors")
    await user.should_see("ink_style.safetensors")


async def test_invalid_address_is_said_in_the_dialog(user: User, sign_in, db) -> None:
    await sign_in(user, "root", admin=True)
    await user.open("/servers")
    click_testid(user, "add-server")
    _type(user, "server-name", "Broken")
    _type(user, "server-url", "gpu-1:8188")
    click_testid(user, "server-save")
    await eventually(lambda: "URL: enter an http:// or https:// address" in _text(user, "server-form-error"))
    assert db.exec(select(ComfyServer)).all() == []


async def test_test_button_shows_the_result_inline_and_stores_the_health(user: User, sign_in, comfy, db) -> None:
    admin = await sign_in(user, "root", admin=True)
    servers.create_server(db, admin, servers.parse_create(name="gpu-1", url=comfy.url))
    await user.open("/servers")
    await user.should_see("gpu-1")
    click_testid(user, "server-test")
    await eventually(lambda: "RTX 4090" in _text(user, "server-test-result"), timeout=10)
    await eventually(lambda: _testid(user, "server-status")[0].props.get("data-status") == "online")

    comfy.go_down()
    click_testid(user, "server-test")
    await eventually(lambda: "RTX 4090" not in _text(user, "server-test-result"), timeout=10)
    await eventually(lambda: _testid(user, "server-status")[0].props.get("data-status") == "offline")
    assert _text(user, "server-error")


async def test_delete_says_how_many_jobs_go_back_then_requeues_them(user: User, sign_in, make_project, db) -> None:
    admin = await sign_in(user, "root", admin=True)
    server = servers.create_server(db, admin, servers.parse_create(name="gpu-1", url="http://gpu-1:8188"))
    project = make_project(admin)
    for status, prompt in (("running", "p-1"), ("dispatched", "p-2")):
        db.add(
            GenerationJob(
                kind="image",
                project_id=project.id,
                owner_id=admin.id,
                status=status,
                server_id=server.id,
                remote_prompt_id=prompt,
            )
        )
    db.commit()
    await user.open("/servers")
    await user.should_see("gpu-1")
    assert _text(user, "server-jobs") == "2 / 2"

    click_testid(user, "server-delete")
    await user.should_see("Delete server “gpu-1”?")
    await user.should_see("2 jobs running or waiting on it go back to the queue")
    click_exact(user, "Delete server")
    await user.should_see("No ComfyUI servers yet")
    db.expire_all()
    jobs = db.exec(select(GenerationJob)).all()
    assert [(j.status, j.server_id, j.remote_prompt_id) for j in jobs] == [("queued", None, None)] * 2


async def test_non_admins_see_the_fleet_read_only(user: User, sign_in, make_user, db) -> None:
    admin = make_user("root", admin=True)
    servers.create_server(db, admin, servers.parse_create(name="gpu-1", url="http://gpu-1:8188"))
    await sign_in(user, "bob")
    await user.open("/servers")
    await user.should_see("gpu-1")
    await user.should_see("Only administrators can add or change servers")
    for testid in ("add-server", "server-test", "server-delete", "server-edit", "server-enabled"):
        assert _testid(user, testid) == [], testid
    click_testid(user, "server-catalog")
    await user.should_see("No models known for this server yet")


async def test_a_change_elsewhere_redraws_the_row(user: User, sign_in, db) -> None:
    admin = await sign_in(user, "root", admin=True)
    server = servers.create_server(db, admin, servers.parse_create(name="gpu-1", url="http://gpu-1:8188"))
    await user.open("/servers")
    await user.should_see("gpu-1")
    servers.update_server(db, admin, server.id, servers.parse_update(name="renamed-gpu", enabled=False))
    await user.should_see("renamed-gpu")
    assert _testid(user, "server-status")[0].props.get("data-status") == "disabled"
    assert _testid(user, "server-enabled")[0].value is False
    servers.create_server(db, admin, servers.parse_create(name="gpu-2", url="http://gpu-2:8188"))
    await user.should_see("gpu-2")


async def test_edit_keeps_the_stored_key_and_the_switch_disables(user: User, sign_in, db) -> None:
    admin = await sign_in(user, "root", admin=True)
    server = servers.create_server(
        db, admin, servers.parse_create(name="gpu-1", url="http://gpu-1:8188", api_key="sk-kept-key-9999")
    )
    await user.open("/servers")
    await user.should_see("gpu-1")
    click_testid(user, "server-edit")
    await user.should_see("Edit “gpu-1”")
    await user.should_see("API key (stored: sk-…9999; blank keeps it)")
    _type(user, "server-name", "Big GPU")
    click_testid(user, "server-save")
    await user.should_see("Server saved")
    await user.should_see("Big GPU")
    db.expire_all()
    stored = db.get(ComfyServer, server.id)
    assert (stored.name, servers.public_server(stored).api_key_hint) == ("Big GPU", "sk-…9999")

    with user.client:
        _testid(user, "server-enabled")[0].set_value(False)
    await user.should_see("Disabled: no new jobs go to this server")
    db.expire_all()
    assert db.get(ComfyServer, server.id).enabled is False
    await eventually(lambda: _testid(user, "server-status")[0].props.get("data-status") == "disabled")


async def test_an_offline_server_says_when_it_was_last_seen_not_its_old_gpu_figures(
    user: User, sign_in, db
) -> None:
    from datetime import timedelta

    from data.models._common import utcnow

    await sign_in(user, admin=True)
    db.add(
        ComfyServer(
            name="Attic GPU",
            base_url="http://127.0.0.1:9",
            status="offline",
            gpu_name="RTX 3090",
            vram_total=24 * 1024**3,
            vram_free=20 * 1024**3,
            last_seen_at=utcnow() - timedelta(hours=3),
        )
    )
    db.add(ComfyServer(name="Never seen", base_url="http://127.0.0.1:10", status="offline"))
    db.commit()
    await user.open("/servers")
    await eventually(lambda: len(_testid(user, "server-last-seen")) == 2)
    assert sorted(e.text for e in _testid(user, "server-last-seen")) == [
        "Offline · last seen 3 h ago",
        "Offline · never answered a check",
    ]
    await user.should_not_see("free / 24.0 GB")
