"""A fresh `migrate` yields exactly the schema the models declare."""

import json

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import data.models  # noqa: F401
from data import migrate
from data.engine import get_engine

# Indexes with a descending column: alembic cannot compare expression indexes, so they are checked below.
ORDERED_INDEXES = {
    "ix_generation_jobs_queue": ["status", "priority", "created_at", "id"],
    "ix_generation_jobs_owner_queue": ["status", "owner_id", "priority", "created_at", "id"],
}


def _compared(item, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]  # alembic's hook signature
    return not (type_ == "index" and name in ORDERED_INDEXES)


def test_migrated_database_matches_the_models_exactly() -> None:
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _compared})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_the_queue_indexes_read_in_queue_order() -> None:
    found = {index["name"]: index for index in inspect(get_engine()).get_indexes("generation_jobs")}
    for name, columns in ORDERED_INDEXES.items():
        assert name in found, name
        text = str(found[name].get("column_names")) + str(found[name].get("expressions"))
        for column in columns:
            assert column in text, (name, found[name])
    assert "ix_generation_jobs_claim" not in found  # replaced by the queue-order index


def test_database_is_at_the_newest_revision() -> None:
    assert migrate.current_revision() == migrate.head_revision()
    assert migrate.is_current()


def test_deleting_a_project_cascades_in_the_database_schema() -> None:
    foreign_keys = inspect(get_engine()).get_foreign_keys("scenes")
    assert any(fk["referred_table"] == "projects" and fk["options"].get("ondelete") == "CASCADE" for fk in foreign_keys)


def test_node_definitions_move_to_their_own_table_and_back() -> None:
    """0012 moves each server's node definitions off the server row, which every tick reads."""
    from alembic import command
    from sqlalchemy import text

    config = migrate.alembic_config()

    def to(revision: str, step: object) -> None:
        with get_engine().begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)  # type: ignore[operator]  # alembic's command.upgrade / command.downgrade

    specs = '{"SaveImage": {"required": {}, "optional": {}, "output": []}}'
    to("0011", command.downgrade)
    try:
        with get_engine().begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO comfy_servers (id, name, base_url, max_jobs, enabled, status, queue_depth, node_types,"
                    " node_specs, created_at) VALUES (4242, 'gpu', 'http://gpu:8188', 1, true, 'online', 0, '[]',"
                    " :specs, '2026-01-01')"
                ),
                {"specs": specs},
            )
            connection.execute(
                text(
                    "INSERT INTO abandoned_prompts (server_id, prompt_id, running, abandoned_at)"
                    " VALUES (4242, 'p-1', false, '2026-01-01')"
                )
            )
        to("head", command.upgrade)
        with get_engine().connect() as connection:
            moved = connection.execute(text("SELECT specs FROM server_node_specs WHERE server_id = 4242")).scalar()
            kept = connection.execute(text("SELECT prompt_id FROM abandoned_prompts WHERE server_id = 4242")).all()
        assert kept == [("p-1",)]  # nothing that points at a server went with the column (no table copy on SQLite)
        assert (json.loads(moved) if isinstance(moved, str) else moved) == json.loads(specs)
        assert "node_specs" not in {column["name"] for column in inspect(get_engine()).get_columns("comfy_servers")}
        to("0011", command.downgrade)
        with get_engine().connect() as connection:
            back = connection.execute(text("SELECT node_specs FROM comfy_servers WHERE id = 4242")).scalar()
        assert back in (specs, {"SaveImage": {"required": {}, "optional": {}, "output": []}})
    finally:
        with get_engine().begin() as connection:
            connection.execute(text("DELETE FROM comfy_servers WHERE id = 4242"))
        to("head", command.upgrade)
