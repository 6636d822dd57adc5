"""Database maintenance used by the tests and the benchmarks (never by the running service)."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from workflow_app.extensions import db


def rebuild_schema(protected: tuple[str, ...] = ()) -> None:
    """Drop everything in the bound database, then build the schema with the migrations only."""

    engine = db.engine
    if engine.dialect.name == "postgresql" and engine.url.database in protected:
        raise RuntimeError(f"refusing to reset database {engine.url.database!r}")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")]
            for name in names:
                if not name.startswith("sqlite_"):
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    upgrade()
