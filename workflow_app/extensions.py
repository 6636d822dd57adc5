"""Extension singletons, bound to the app in ``create_app``."""

from __future__ import annotations

import logging
import os
import time

import sqlalchemy as sa
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError

from workflow_app.problems import ProblemSchema

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class KinerjaApi(Api):
    """flask-smorest, documenting every error as RFC 9457 application/problem+json.

    No catch-all ``default`` response: each operation lists its own error statuses
    (workflow_app/api/openapi.py), so a status the spec does not list is a finding.
    """

    DEFAULT_ERROR_RESPONSE_NAME = None

    @property
    def ERROR_SCHEMA(self):  # noqa: N802 - flask-smorest's attribute name

        return ProblemSchema

    def _register_responses(self):
        self.DEFAULT_RESPONSE_CONTENT_TYPE = "application/problem+json"
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


log = logging.getLogger(__name__)
# Set by gunicorn.conf.py's post_fork in each web worker: its --threads, which size the pool.
WEB_THREADS_ENV = "KINERJA_WEB_THREADS"
_IDLE_SINCE = "kinerja_idle_since"


def pool_options(config) -> dict:
    """PostgreSQL pool settings: sized from the process's threads, recycled, no pre-ping.

    A web worker serves ``--threads`` requests at once, each holding one connection through
    its session: the pool keeps that many (``DB_POOL_SIZE`` overrides) plus a small overflow.
    Other processes (RQ worker, scheduler, CLI, ``make run``) get SQLAlchemy's default 5.
    Instead of a ping per checkout (``pool_pre_ping``: a round trip per transaction), a
    connection is recycled after ``DB_POOL_RECYCLE`` seconds, pinged only when it has idled
    ``DB_PING_AFTER_IDLE`` seconds (``install_idle_ping``), and TCP keepalives find a dead peer.
    """
    threads = int(os.environ.get(WEB_THREADS_ENV) or 0)
    size = int(config.get("DB_POOL_SIZE") or 0) or (threads if threads > 0 else 5)
    overflow = config.get("DB_MAX_OVERFLOW")
    if overflow is None or int(overflow) < 0:
        overflow = 4 if threads > 0 else 10
    return {
        "pool_size": size,
        "max_overflow": int(overflow),
        "pool_recycle": int(config.get("DB_POOL_RECYCLE") or 1800),
        "pool_timeout": int(config.get("DB_POOL_TIMEOUT") or 30),
        "pool_pre_ping": False,
        "connect_args": {
            "connect_timeout": 10,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    }


def install_idle_ping(engine: sa.engine.Engine, after_seconds: float) -> None:
    """Ping a pooled connection at checkout only if it idled ``after_seconds`` or more.

    A busy pool pays nothing; a connection that sat idle while PostgreSQL restarted is found
    dead here and replaced (``DisconnectionError`` makes the pool reconnect), so the first request
    after a restart does not fail. A connection that dies while in use fails that one unit of
    work; SQLAlchemy then invalidates every older connection of the pool, and they reconnect.
    """
    if after_seconds < 0:
        return

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, record):
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, proxy):
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < after_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure: drop this connection, take a new one
            log.warning("pooled connection found dead after idling (%s); reconnecting", exc)
            raise DisconnectionError() from exc


class KinerjaSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy, with PostgreSQL's pool sized and kept alive by ``pool_options``."""

    def _make_engine(self, bind_key, options, app):
        postgres = sa.engine.make_url(options["url"]).get_backend_name() == "postgresql"
        if postgres:
            defaults = pool_options(app.config)
            connect_args = {**defaults.pop("connect_args"), **options.get("connect_args", {})}
            options = {**defaults, **options, "connect_args": connect_args}
        engine = super()._make_engine(bind_key, options, app)
        if postgres and not options.get("pool_pre_ping"):
            install_idle_ping(engine, float(app.config.get("DB_PING_AFTER_IDLE", 10)))
        return engine


db = KinerjaSQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
api = KinerjaApi()
