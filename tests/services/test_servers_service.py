"""The fleet's rules: who manages servers, what is never shown, deleting requeues jobs, catalogs shared by servers."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.config import get_settings
from app.integrations.comfyui import Catalog
from app.services import events, server_catalog, servers
from data.errors import Conflict, Forbidden, Invalid, NotFound
from data.models import ComfyServer, GenerationJob, ModelEntry, ServerModel


@pytest.fixture(autouse=True)
def _events_delivered_here(monkeypatch) -> None:
    """A UI test earlier in the run leaves NiceGUI's stopped loop behind; events would go to it."""
    from nicegui import core

    monkeypatch.setattr(core, "loop", None)


@pytest.fixture
def admin(make_user):
    return make_user("root", admin=True)


def add(db, actor, name: str = "gpu-1", url: str = "http://gpu-1:8188", **fields):
    return servers.create_server(db, actor, servers.parse_create(name=name, url=url, **fields))


def make_job(db, project, status: str, server_id: int | None, prompt: str | None = None) -> GenerationJob:
    job = GenerationJob(
        kind="image",
        project_id=project.id,
        owner_id=project.owner_id,
        status=status,
        server_id=server_id,
        remote_prompt_id=prompt,
        claimed_by="worker-a" if server_id else None,
        progress=0.5 if server_id else 0.0,
        current_node="3" if server_id else None,
    )
    db.add(job)
    db.commit()
    return job


def catalog(**kinds: list[str]) -> Catalog:
    values = {field: kinds.get(field, []) for field in server_catalog.KINDS}
    return Catalog(**values, node_types=kinds.get("node_types", []))


def test_admin_registers_a_server_with_its_key_encrypted_and_never_shown(db, admin) -> None:
    seen: list[int] = []
    events.servers_changed.subscribe(seen.append)
    server = add(db, admin, url="  http://gpu-1:8188/  ", api_key="sk-secret-key-123456", max_jobs=4)

    assert server.base_url == "http://gpu-1:8188"
    assert server.encrypted_api_key and "sk-secret" not in server.encrypted_api_key
    public = servers.public_server(server).model_dump()
    assert public["has_api_key"] is True
    assert public["api_key_hint"] == "sk-…3456"
    assert "sk-secret-key-123456" not in repr(public)
    assert (public["max_jobs"], public["enabled"], public["status"]) == (4, True, "unknown")
    assert seen == [server.id]
    assert servers.client_for(server).headers["Authorization"] == "Bearer sk-secret-key-123456"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "", "url": "http://a:1"}, "name"),
        ({"name": "x" * 101, "url": "http://a:1"}, "name"),
        ({"name": "a", "url": "ftp://gpu-1"}, "url"),
        ({"name": "a", "url": "gpu-1:8188"}, "url"),
        ({"name": "a", "url": "http://gpu-1:99999"}, "url"),
        ({"name": "a", "url": "http://a:1", "max_jobs": 0}, "max_jobs"),
        ({"name": "a", "url": "http://a:1", "max_jobs": 17}, "max_jobs"),
    ],
)
def test_invalid_settings_name_the_field(values: dict, field: str) -> None:
    with pytest.raises(Invalid) as error:
        servers.parse_create(**values)
    assert error.value.field == field


def test_a_url_is_needed_unless_it_is_a_runpod_endpoint(db, admin) -> None:
    with pytest.raises(Invalid, match="address of the machine"):
        servers.create_server(db, admin, servers.parse_create(name="nowhere"))
    pod = servers.create_server(
        db, admin, servers.parse_create(name="pod", runpod_endpoint_id="abc123", runpod_api_key="rp-key-0000")
    )
    assert pod.base_url == get_settings().runpod_api_base.rstrip("/")
    assert servers.runpod_key(pod) == "rp-key-0000"
    # The same API base with another endpoint is another server.
    servers.create_server(db, admin, servers.parse_create(name="pod 2", runpod_endpoint_id="def456"))


def test_the_same_address_is_registered_once(db, admin) -> None:
    first = add(db, admin)
    with pytest.raises(Conflict, match="gpu-1"):
        add(db, admin, name="again", url="http://gpu-1:8188/")
    other = add(db, admin, name="gpu-2", url="http://gpu-2:8188")
    with pytest.raises(Conflict):
        servers.update_server(db, admin, other.id, servers.parse_update(url=first.base_url))


def test_only_admins_manage_servers_but_everyone_reads_them(db, admin, make_user) -> None:
    server = add(db, admin)
    bob = make_user("bob")
    with pytest.raises(Forbidden, match=r"Only an administrator can manage servers\."):
        add(db, bob, name="mine", url="http://mine:8188")
    with pytest.raises(Forbidden):
        servers.update_server(db, bob, server.id, servers.parse_update(name="renamed"))
    with pytest.raises(Forbidden):
        servers.set_enabled(db, bob, server.id, False)
    with pytest.raises(Forbidden):
        servers.delete_server(db, bob, server.id)
    assert [s.id for s in servers.list_servers(db, bob)] == [server.id]
    assert servers.get_server(db, bob, server.id).name == "gpu-1"
    assert server_catalog.server_catalog(db, bob, server.id) == server_catalog.empty_catalog()
    with pytest.raises(NotFound):
        servers.get_server(db, bob, server.id + 1000)


def test_update_changes_fields_and_an_empty_key_clears_it(db, admin) -> None:
    server = add(db, admin, api_key="sk-first-key-0000")
    updated = servers.update_server(db, admin, server.id, servers.parse_update(name="Big GPU", max_jobs=3))
    assert (updated.name, updated.max_jobs, updated.encrypted_api_key is not None) == ("Big GPU", 3, True)
    updated = servers.update_server(db, admin, server.id, servers.parse_update(api_key=""))
    assert updated.encrypted_api_key is None
    assert servers.public_server(updated).api_key_hint is None
    disabled = servers.set_enabled(db, admin, server.id, False)
    assert disabled.enabled is False


def test_a_new_address_forgets_the_old_machines_health_and_catalog(db, admin) -> None:
    server = add(db, admin)
    server.status, server.gpu_name = "online", "RTX 4090"
    server_catalog.store_catalog(db, server, catalog(checkpoints=["a.safetensors"]))
    moved = servers.update_server(db, admin, server.id, servers.parse_update(url="http://gpu-9:8188"))
    assert (moved.status, moved.gpu_name, moved.catalog_refreshed_at) == ("unknown", None, None)
    assert server_catalog.server_catalog(db, admin, server.id)["checkpoints"] == []
    assert db.exec(select(ModelEntry)).one().file_name == "a.safetensors"  # the library keeps the model


def test_deleting_a_server_sends_its_unfinished_jobs_back_to_the_queue(db, admin, make_project) -> None:
    server = add(db, admin)
    other = add(db, admin, name="gpu-2", url="http://gpu-2:8188")
    project = make_project(admin)
    running = make_job(db, project, "running", server.id, "p-1")
    dispatched = make_job(db, project, "dispatched", server.id, "p-2")
    done = make_job(db, project, "completed", server.id, "p-3")
    elsewhere = make_job(db, project, "running", other.id, "p-4")
    waiting = make_job(db, project, "queued", None)
    assert servers.active_job_counts(db) == {server.id: 2, other.id: 1}
    assert servers.jobs_to_requeue(db, server.id) == 2
    projects_told: list[int] = []
    events.jobs_changed.subscribe(projects_told.append)

    assert servers.delete_server(db, admin, server.id) == 2

    db.expire_all()
    assert db.get(ComfyServer, server.id) is None
    for job in (db.get(GenerationJob, running.id), db.get(GenerationJob, dispatched.id)):
        assert (job.status, job.server_id, job.remote_prompt_id, job.claimed_by, job.lease_until) == (
            "queued",
            None,
            None,
            None,
            None,
        )
        assert (job.progress, job.current_node) == (0.0, None)
    assert db.get(GenerationJob, done.id).status == "completed"
    assert db.get(GenerationJob, elsewhere.id).server_id == other.id
    assert db.get(GenerationJob, waiting.id).status == "queued"
    assert projects_told == [project.id]


def test_two_servers_sharing_a_model_share_one_entry(db, admin) -> None:
    one = add(db, admin)
    two = add(db, admin, name="gpu-2", url="http://gpu-2:8188")
    server_catalog.store_catalog(
        db,
        one,
        catalog(
            checkpoints=["sdxl.safetensors", "flux.safetensors"],
            loras=["ink.safetensors"],
            node_types=["KSampler", "ReActorFaceSwap"],
        ),
    )
    server_catalog.store_catalog(db, two, catalog(checkpoints=["sdxl.safetensors"], vaes=["sdxl_vae.safetensors"]))

    assert db.exec(select(ModelEntry).where(ModelEntry.file_name == "sdxl.safetensors")).all().__len__() == 1
    assert server_catalog.server_catalog(db, admin, one.id) == {
        "checkpoints": ["flux.safetensors", "sdxl.safetensors"],
        "loras": ["ink.safetensors"],
        "vaes": [],
        "embeddings": [],
        "upscalers": [],
    }
    assert db.get(ComfyServer, one.id).node_types == ["KSampler", "ReActorFaceSwap"]
    assert db.get(ComfyServer, one.id).catalog_refreshed_at is not None
    assert server_catalog.fleet_models(db, "checkpoint") == {
        "flux.safetensors": ["gpu-1"],
        "sdxl.safetensors": ["gpu-1", "gpu-2"],
    }
    assert server_catalog.catalog_counts(db)[two.id] == {
        "checkpoints": 1,
        "loras": 0,
        "vaes": 1,
        "embeddings": 0,
        "upscalers": 0,
    }

    # A refresh replaces the links; the library keeps every entry; disabled servers offer nothing.
    server_catalog.store_catalog(db, one, catalog(checkpoints=["flux.safetensors"]))
    servers.set_enabled(db, admin, two.id, False)
    assert server_catalog.server_catalog(db, admin, one.id)["checkpoints"] == ["flux.safetensors"]
    assert len(db.exec(select(ModelEntry)).all()) == 4
    assert server_catalog.fleet_models(db, "checkpoint") == {"flux.safetensors": ["gpu-1"]}
    with pytest.raises(Invalid):
        server_catalog.fleet_models(db, "checkpoints")

    servers.delete_server(db, admin, one.id)
    assert db.exec(select(ServerModel).where(ServerModel.server_id == one.id)).all() == []
    assert len(db.exec(select(ModelEntry)).all()) == 4


def test_node_type_count_reads_the_last_catalog_and_refuses_a_deleted_server(db, make_user) -> None:
    from app.services import server_catalog, servers
    from data.errors import NotFound

    admin, member = make_user("root", admin=True), make_user("alice")
    server = servers.create_server(db, admin, servers.parse_create(name="gpu", url="http://gpu-1:8188"))
    assert server_catalog.node_type_count(db, member, server.id) == 0
    server.node_types = ["KSampler", "SaveImage"]
    db.add(server)
    db.commit()
    assert server_catalog.node_type_count(db, member, server.id) == 2  # the fleet is studio-wide
    servers.delete_server(db, admin, server.id)
    with pytest.raises(NotFound):
        server_catalog.node_type_count(db, member, server.id)
