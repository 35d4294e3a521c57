"""What generate forms say about the fleet: no server, every server off, or no models read yet."""

from __future__ import annotations

from app.services import server_catalog
from data.models import ComfyServer


def _server(db, name: str, *, enabled: bool = True, status: str = "online") -> ComfyServer:
    server = ComfyServer(name=name, base_url=f"http://127.0.0.1:9/{name}", enabled=enabled, status=status)
    db.add(server)
    db.commit()
    return server


def test_no_server_at_all_says_to_add_one(db) -> None:
    assert server_catalog.no_models_message(db) == "No ComfyUI server yet: add one on the Servers page."


def test_servers_that_exist_but_are_off_are_named_as_such(db) -> None:
    _server(db, "a", enabled=False)
    assert "Every server is disabled" in server_catalog.no_models_message(db)
    _server(db, "b", status="offline")
    assert server_catalog.fleet_note(db) == (
        "Every server is offline: jobs you queue wait until one answers (see the Servers page)."
    )


def test_a_working_server_without_a_catalog_asks_for_a_refresh(db) -> None:
    _server(db, "a", status="offline")
    _server(db, "b", status="degraded")
    assert server_catalog.fleet_note(db) is None
    assert "refresh their catalog" in server_catalog.no_models_message(db)
