"""The schema comes from the Alembic migrations only, and they match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from workflow_app.extensions import db


def test_models_and_migrations_do_not_drift(app):
    conn = db.session.connection()
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run 'flask db migrate': {diff}"


def test_schema_is_at_the_head_revision(app):
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    conn = db.session.connection()
    assert MigrationContext.configure(conn).get_current_revision() == head
    tables = set(inspect(conn).get_table_names())
    assert {"appraisals", "transition_log", "outbox", "cycles"} <= tables
