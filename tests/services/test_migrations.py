"""A fresh `migrate` yields exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import data.models  # noqa: F401
from data import migrate
from data.engine import get_engine


def test_migrated_database_matches_the_models_exactly() -> None:
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_database_is_at_the_newest_revision() -> None:
    assert migrate.current_revision() == migrate.head_revision()
    assert migrate.is_current()


def test_deleting_a_project_cascades_in_the_database_schema() -> None:
    foreign_keys = inspect(get_engine()).get_foreign_keys("scenes")
    assert any(fk["referred_table"] == "projects" and fk["options"].get("ondelete") == "CASCADE" for fk in foreign_keys)
