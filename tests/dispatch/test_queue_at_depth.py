"""A deep queue: fair shares across people, work for degraded servers, and every query of a tick on an index."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert, text

from app.dispatch import claims
from data.engine import get_engine, get_loop_engine, session_scope
from data.models import ComfyServer, GenerationJob
from data.models._common import utcnow

from .conftest import add_server, all_finished, drive, image_graph, job_states, make_job


def _queue_many(owner_id: int, project_id: int, clip_id: int, count: int, *, offset: float = 0.0) -> None:
    """Rows straight into the table: thousands of jobs in a moment."""
    now = utcnow()
    graph = image_graph(1)
    rows = [
        {
            "kind": "image",
            "project_id": project_id,
            "clip_id": clip_id,
            "owner_id": owner_id,
            "priority": 0,
            "status": "queued",
            "attempts": 0,
            "max_attempts": 3,
            "params": {},
            "resolved_graph": graph,
            "required_models": [],
            "required_nodes": ["EmptyImage", "SaveImage"],
            "created_at": now + timedelta(seconds=offset + index / 1000),
            "cancel_requested": False,
            "progress": 0.0,
            "notified": False,
        }
        for index in range(count)
    ]
    with session_scope() as session:
        session.execute(insert(GenerationJob), rows)
        session.commit()


def test_someone_behind_a_colleagues_long_queue_is_chosen_for_the_next_free_slot(db, clip, make_user) -> None:
    first, target = clip
    second = make_user("editor")
    _queue_many(first.id, target.project_id, target.id, 300)
    _queue_many(second.id, target.project_id, target.id, 3, offset=60)  # queued after all of the first's

    with session_scope() as session:
        found = claims.candidates(session, utcnow() + timedelta(minutes=5), limit=50)
    owners = [job.owner_id for job in found]
    assert owners.count(second.id) == 3  # beyond the window of the oldest 50, still a candidate
    ids = [job.id for job in found]
    assert ids == sorted(ids, key=lambda i: next((j.created_at, j.id) for j in found if j.id == i))  # queue order

    slot = claims.Slot(server_id=1, name="gpu", free=1, checkpoint=None, node_types=set(), models=None)
    chosen = claims.choose(slot, found, {first.id: 4}, {}, {})
    assert chosen is not None and chosen.owner_id == second.id  # fewest running: the next slot is theirs


async def test_a_degraded_server_still_gets_work_and_online_ones_are_offered_first(db, clip, fakes, dispatcher) -> None:
    owner, target = clip
    slow = add_server(db, fakes(job_seconds=0.05), "slow", max_jobs=2, status="degraded")
    job = make_job(db, owner, target)

    await drive(dispatcher, all_finished([job.id]))

    done = job_states([job.id])[job.id]
    assert done.status == "completed" and done.server_id == slow.id
    fine = add_server(db, fakes(job_seconds=0.05), "fine", max_jobs=1, status="online")
    with session_scope() as session:
        slots = claims.open_slots(session, claims.CatalogCache(), {}, set())
    assert [slot.server_id for slot in slots] == [fine.id, slow.id]
    with session_scope() as session:
        off = session.get(ComfyServer, fine.id)
        off.status = "offline"  # type: ignore[union-attr]  # the row exists
        session.add(off)
        session.commit()
        assert [slot.server_id for slot in claims.open_slots(session, claims.CatalogCache(), {}, set())] == [slow.id]


def _plans(statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Each statement that reads or writes the jobs table, with the database's plan for it."""
    engine = get_loop_engine()
    found: list[tuple[str, str]] = []
    with engine.connect() as connection:
        dialect = connection.dialect.name
        for statement, parameters in statements:
            reads = statement.lstrip().upper().startswith(("SELECT", "UPDATE", "WITH"))
            if "generation_jobs" not in statement or not reads:
                continue
            explain = "EXPLAIN " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = connection.exec_driver_sql(explain + statement, parameters).all()
            found.append((statement, "\n".join(" ".join(str(value) for value in row) for row in rows)))
    return found


async def test_every_query_a_tick_makes_on_the_jobs_table_walks_an_index(
    db, clip, make_user, fakes, dispatcher
) -> None:
    owner, target = clip
    other = make_user("editor")
    _queue_many(owner.id, target.project_id, target.id, 6000)
    _queue_many(other.id, target.project_id, target.id, 5, offset=60)
    add_server(db, fakes(job_seconds=0.05), "gpu-1", max_jobs=4)
    engine = get_loop_engine()
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":  # as autovacuum keeps it; SQLite runs without statistics
            connection.execute(text("ANALYZE generation_jobs"))
            connection.commit()

    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]  # SQLAlchemy's event signature
        if not executemany:
            seen.append((statement, parameters))

    engines = (engine, get_engine())  # the tick's own reads, and the claims it makes in a worker thread
    for watched in engines:
        event.listen(watched, "before_cursor_execute", record)
    try:
        await dispatcher.tick()
    finally:
        for watched in engines:
            event.remove(watched, "before_cursor_execute", record)

    plans = _plans(seen)
    assert any("ORDER BY" in statement for statement, _ in plans)  # the candidate query was among them
    full_scans = [
        (statement, plan)
        for statement, plan in plans
        if "Seq Scan on generation_jobs" in plan
        or "SCAN generation_jobs" in plan.replace("SCAN generation_jobs USING", "")
    ]
    ordered = [
        plan
        for statement, plan in plans
        if "ORDER BY generation_jobs.priority DESC" in statement and "generation_jobs.owner_id =" not in statement
    ]
    assert ordered  # the head of the queue, read by walking the index in the queue's order: nothing sorted
    assert [plan for plan in ordered if "Sort" in plan or "TEMP B-TREE" in plan] == []
    assert full_scans == [], "\n\n".join(f"{s}\n→ {p}" for s, p in full_scans)


def test_a_tick_reads_servers_node_lists_only_when_their_catalog_changed(db) -> None:
    """Every tick reads the working servers; their node definitions (about 180 kB of JSON a server) and node
    names are decoded once per catalog refresh, not per tick: decoding them for 64 servers was most of a tick."""
    from app.integrations.comfyui import Catalog
    from app.services import server_catalog

    servers = [ComfyServer(name=f"gpu-{n}", base_url=f"http://127.0.0.1:{9 + n}", status="online") for n in range(3)]
    db.add_all(servers)
    db.commit()
    specs = {"SaveImage": {"required": {"images": ["IMAGE"]}, "optional": {}, "output": []}}
    for server in servers:
        catalog = Catalog(["a.safetensors"], [], [], [], [], node_types=["SaveImage", "EmptyImage"], node_specs=specs)
        server_catalog.store_catalog(db, server, catalog)
    cache = claims.CatalogCache()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    for engine in (get_engine(), get_loop_engine()):
        event.listen(engine, "before_cursor_execute", seen)
    try:
        with session_scope() as session:
            first = claims.open_slots(session, cache, {}, set())
        read_first = list(statements)
        statements.clear()
        with session_scope() as session:
            again = claims.open_slots(session, cache, {}, set())
    finally:
        for engine in (get_engine(), get_loop_engine()):
            event.remove(engine, "before_cursor_execute", seen)
    assert [slot.node_types for slot in first] == [{"SaveImage", "EmptyImage"}] * 3
    assert [slot.models for slot in again] == [{"checkpoint": {"a.safetensors"}}] * 3
    assert [slot.node_types for slot in again] == [slot.node_types for slot in first]
    assert not any("server_node_specs" in statement or "node_specs" in statement for statement in read_first)
    assert sum("node_types" in statement for statement in read_first) == 3  # once per server, when first seen
    assert not any("node_types" in statement or "model_entries" in statement for statement in statements)
    from app.services import workflows

    assert workflows.node_specs(db, servers[0]) == specs  # kept apart, for the graph checks
