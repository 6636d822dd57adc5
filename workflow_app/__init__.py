"""Kinerja: the ASN performance-appraisal workflow service."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import get_config
from workflow_app.request_limits import RequestLimits


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Application factory."""
    # The factory imports the app's parts inside itself, on purpose: they import this package,
    # so importing them here at module level would make every import of workflow_app a cycle.
    config = get_config(config_name)
    config.check()
    app = Flask(__name__, instance_relative_config=False, template_folder="web/templates")
    app.config.from_object(config)
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]  # read at start, not at import
    if overrides:
        app.config.update(overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from workflow_app.extensions import api, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}
                }
            },
            "security": [{"bearerAuth": []}],
            "info": {
                "description": (
                    "Workflow API for the ASN performance-appraisal cycle (PermenPANRB 6/2022). "
                    "Errors are RFC 9457 application/problem+json."
                )
            },
        },
    )
    api.init_app(app)

    from workflow_app import problems, ratelimit, uow
    from workflow_app.api.blueprints import register_api
    from workflow_app.health import bp as health_bp
    from workflow_app.jobs.dispatch import kick

    register_api(app, api)
    from workflow_app import web

    # The pages, before the login throttle is set up (it wraps the sign-in views of both doors).
    web.init_app(app)
    # After each committed unit of work, hand its new outbox rows to the workers at once.
    uow.after_commit(app, kick)
    ratelimit.init_app(app)
    app.register_blueprint(health_bp)
    problems.register(app, rollback=lambda: db.session.rollback())

    from workflow_app.cli import register_cli

    register_cli(app)
    if app.config["ENV_NAME"] != "production":
        # The dev hook: /dev/mail and the demo CLI live in workflow_app.dev, apart from the
        # product. It is imported by name, here only, so that no product module imports it
        # (the import-linter contract) and a production app never loads it. The Docker image
        # leaves the package out (.dockerignore): there a non-production profile runs without it.
        if importlib.util.find_spec("workflow_app.dev") is not None:
            importlib.import_module("workflow_app.dev").register(app)
    # An oversized URL or header is refused before routing (inside ProxyFix, which only
    # rewrites the client address).
    app.wsgi_app = RequestLimits(app, app.wsgi_app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, take the client address from X-Forwarded-For.

    ProxyFix believes only the last ``TRUSTED_PROXIES`` entries (those our own proxies added);
    with the default 0 the header is ignored, so a client cannot choose its own address.
    """
    trusted = int(app.config.get("TRUSTED_PROXIES") or 0)
    if trusted > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - driver hook
    """SQLite: enforce foreign keys, wait for locks, and let SQLAlchemy own transactions."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):  # pragma: no cover - driver hook
    # pysqlite's own transaction handling breaks SAVEPOINT; begin explicitly and take the
    # write lock up front so two writers queue instead of failing on lock upgrade.
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
