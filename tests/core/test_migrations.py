"""The models and the Alembic migrations agree: autogenerate finds nothing to do."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.db import schema_include_object
from app.extensions import db as _db


def test_models_and_migrations_agree(db):
    with _db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                        "include_object": schema_include_object})
        diff = compare_metadata(context, _db.metadata)
    assert diff == []


def test_migrations_have_a_single_head(app):
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(app.extensions["migrate"].directory).get_heads()
    assert len(heads) == 1


def test_roles_are_seeded_by_the_migration(db):
    from sqlalchemy import select

    from app.accounts.models import Role, RoleName

    names = set(db.session.scalars(select(Role.name)))
    assert names == set(RoleName.ALL)
    assert "production_manager" in names
