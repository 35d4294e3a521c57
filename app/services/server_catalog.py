"""Which model files each server has: fetched from ComfyUI, stored as ModelEntry rows linked to servers.

ModelEntry rows are never deleted here: the model library keeps their metadata (CivitAI, trigger words) even
when no server has the file any more. Only a server's links are replaced on each refresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.integrations.comfyui import Catalog, ComfyError, fetch_catalog
from data.engine import session_scope
from data.errors import Invalid
from data.models import WORKING_SERVER_STATUSES, ComfyServer, ModelEntry, ServerModel, ServerNodeSpecs, User
from data.models._common import utcnow

from . import events
from .servers import ServerUnreachable, client_for, drop_links, get_server, require_admin

# Catalog field → ModelEntry.kind; the order is the order pages show them in.
KINDS: dict[str, str] = {
    "checkpoints": "checkpoint",
    "loras": "lora",
    "vaes": "vae",
    "embeddings": "embedding",
    "upscalers": "upscaler",
}
CATALOG_TIMEOUT = 30.0
_CHUNK = 500


def empty_catalog() -> dict[str, list[str]]:
    return {field: [] for field in KINDS}


def server_catalog(session: Session, actor: User, server_id: int) -> dict[str, list[str]]:
    """The server's model files by kind, sorted; anyone signed in may read it."""
    get_server(session, actor, server_id)
    return _stored_catalog(session, server_id)


def node_type_count(session: Session, actor: User, server_id: int) -> int:
    """How many node types the server reported at its last catalog read; anyone signed in may read it.

    NotFound for a server that was deleted."""
    return len(get_server(session, actor, server_id).node_types or [])


def _stored_catalog(session: Session, server_id: int) -> dict[str, list[str]]:
    catalog = empty_catalog()
    fields = {kind: field for field, kind in KINDS.items()}
    query = (
        select(ModelEntry.kind, ModelEntry.file_name)
        .join(ServerModel, col(ServerModel.model_id) == col(ModelEntry.id))
        .where(ServerModel.server_id == server_id)
    )
    for kind, file_name in session.exec(query):
        if kind in fields:
            catalog[fields[kind]].append(file_name)
    return {field: sorted(names, key=str.lower) for field, names in catalog.items()}


def catalog_counts(session: Session) -> dict[int, dict[str, int]]:
    """Server id → number of files of each kind, for the servers page in one query."""
    from sqlalchemy import func

    fields = {kind: field for field, kind in KINDS.items()}
    query = (
        select(ServerModel.server_id, ModelEntry.kind, func.count())
        .join(ModelEntry, col(ServerModel.model_id) == col(ModelEntry.id))
        .group_by(col(ServerModel.server_id), col(ModelEntry.kind))
    )
    counts: dict[int, dict[str, int]] = {}
    for server_id, kind, count in session.exec(query):
        if kind in fields:
            counts.setdefault(server_id, dict.fromkeys(KINDS, 0))[fields[kind]] = count
    return counts


def fleet_models(session: Session, kind: str) -> dict[str, list[str]]:
    """File name → names of the enabled servers that have it, for choosing a model a server can run."""
    if kind not in KINDS.values():
        raise Invalid(f"Unknown model kind “{kind}”: use one of {', '.join(KINDS.values())}.")
    query = (
        select(ModelEntry.file_name, ComfyServer.name)
        .join(ServerModel, col(ServerModel.model_id) == col(ModelEntry.id))
        .join(ComfyServer, col(ComfyServer.id) == col(ServerModel.server_id))
        .where(ModelEntry.kind == kind, col(ComfyServer.enabled).is_(True))
    )
    found: dict[str, list[str]] = {}
    for file_name, server_name in session.exec(query):
        found.setdefault(file_name, []).append(server_name)
    return {name: sorted(servers, key=str.lower) for name, servers in sorted(found.items(), key=lambda i: i[0].lower())}


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_for(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"Model catalogs need SQLite or PostgreSQL, not {dialect}.")
    return insert


def _link(session: Session, server_id: int, model_ids: list[int]) -> None:
    """ON CONFLICT DO NOTHING: two processes replacing one server's links at once both succeed (the second
    one's DELETE cannot see the rows the first inserted, so its inserts meet them)."""
    insert = _insert_for(session)
    for chunk in _chunks(model_ids):
        values = [{"server_id": server_id, "model_id": model_id} for model_id in chunk]
        statement = insert(ServerModel).values(values).on_conflict_do_nothing(index_elements=["server_id", "model_id"])
        session.exec(statement)


def _store_specs(session: Session, server_id: int, specs: dict[str, Any]) -> None:
    """An upsert, so two processes refreshing one server at once both succeed."""
    statement = _insert_for(session)(ServerNodeSpecs).values(server_id=server_id, specs=specs)
    session.exec(statement.on_conflict_do_update(index_elements=["server_id"], set_={"specs": specs}))


def _insert_missing(session: Session, rows: list[dict[str, str]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: two servers' refreshes adding the same file never collide.

    Rows go in sorted order so two concurrent transactions lock the unique keys in the same order (no deadlock).
    """
    insert = _insert_for(session)
    now = utcnow()
    for chunk in _chunks(rows):
        values = [{**row, "trigger_words": [], "info": {}, "created_at": now} for row in chunk]
        statement = insert(ModelEntry).values(values).on_conflict_do_nothing(index_elements=["kind", "file_name"])
        session.exec(statement)


def _entry_ids(session: Session, kind: str, names: list[str]) -> list[int]:
    ids: list[int] = []
    for chunk in _chunks(names):
        query = select(ModelEntry.id).where(ModelEntry.kind == kind, col(ModelEntry.file_name).in_(chunk))
        ids.extend(model_id for model_id in session.exec(query) if model_id is not None)
    return ids


def store_catalog(session: Session, server: ComfyServer, catalog: Catalog) -> dict[str, list[str]]:
    """Upsert the files as ModelEntry rows, replace the server's links, keep its node types; commits."""
    wanted: dict[str, list[str]] = {}
    for field, kind in KINDS.items():
        names = sorted({name for name in getattr(catalog, field) or [] if name and len(name) <= 500})
        wanted[kind] = names
    rows = sorted(
        ({"kind": kind, "file_name": name} for kind, names in wanted.items() for name in names),
        key=lambda row: (row["kind"], row["file_name"]),
    )
    _insert_missing(session, rows)
    model_ids = sorted({model_id for kind, names in wanted.items() for model_id in _entry_ids(session, kind, names)})
    drop_links(session, server.id)  # type: ignore[arg-type]  # a stored row's id is never None
    _link(session, server.id, model_ids)  # type: ignore[arg-type]  # a stored row's id is never None
    server.node_types = sorted(set(catalog.node_types or []))
    _store_specs(session, server.id, catalog.node_specs or {})  # type: ignore[arg-type]  # a stored row's id is never None
    server.catalog_refreshed_at = utcnow()
    session.add(server)
    session.commit()
    return {field: wanted[kind] for field, kind in KINDS.items()}


async def refresh_catalog(server_id: int, actor: User | None = None) -> dict[str, list[str]]:
    """Fetch the server's models and node types and store them; an actor must be an administrator.

    actor None is the health check. The network call holds no database session. A ComfyError is stored as the
    server's last error and raised again so the caller can show it.
    """
    with session_scope() as session:
        if actor is not None:
            require_admin(actor)
        server = get_server(session, actor, server_id)
        if server.runpod_endpoint_id:
            raise Invalid(
                f"“{server.name}” is a RunPod endpoint: RunPod does not list its models. Jobs sent there must use "
                "models baked into the endpoint's image."
            )
        client = client_for(server, timeout=CATALOG_TIMEOUT)
    try:
        async with client:
            catalog = await fetch_catalog(client)
    except ComfyError as error:
        with session_scope() as session:
            stored = session.get(ComfyServer, server_id)
            if stored is not None:
                stored.last_error = error.message
                session.add(stored)
                session.commit()
        events.emit(events.servers_changed, server_id)
        raise ServerUnreachable(f"Could not read the models of “{server.name}”: {error.message}") from error
    with session_scope() as session:
        stored = session.get(ComfyServer, server_id)
        if stored is None:  # deleted while its catalog was on the way
            return empty_catalog()
        result = store_catalog(session, stored, catalog)
    events.emit(events.servers_changed, server_id)
    return result


def fleet_note(session: Session) -> str | None:
    """What a generate form says when the fleet cannot start work soon (None: a server is working).

    Jobs are queued either way; the words say whether they will wait, and where to look."""
    servers = session.exec(select(ComfyServer.enabled, ComfyServer.status)).all()
    if not servers:
        return "No ComfyUI server yet: add one on the Servers page."
    enabled = [status for on, status in servers if on]
    if not enabled:
        return "Every server is disabled: enable one on the Servers page. Jobs you queue wait until then."
    if not any(status in WORKING_SERVER_STATUSES for status in enabled):
        return "Every server is offline: jobs you queue wait until one answers (see the Servers page)."
    return None


def no_models_message(session: Session) -> str:
    """Why a generate form has no model to offer: no server, servers off, or catalogs not read yet."""
    return fleet_note(session) or (
        "The servers list no models yet: refresh their catalog on the Servers page, or add model files to them."
    )
