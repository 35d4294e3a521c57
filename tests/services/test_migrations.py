"""A fresh `migrate` yields exactly the schema the models declare."""

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
