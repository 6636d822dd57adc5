"""Test fixtures: a migrated database (SQLite or TEST_DATABASE_URL), per-test rollback.

Under pytest-xdist (``make test`` runs ``-n 2``) each worker gets a database and a Redis db of its
own, so workers never see, truncate or flush each other's data:

- SQLite (default): a temporary file per session, so per worker already.
- PostgreSQL: ``TEST_DATABASE_URL``'s database name plus the worker id (``kinerja_ci`` →
  ``kinerja_ci_gw0``, ``kinerja_ci_gw1``), created if missing.
- Redis: ``REDIS_URL``'s db number plus the worker's number (``/14`` → ``/14`` and ``/15``); without
  ``REDIS_URL`` each worker starts its own embedded redis-server on a free port.

The worker's URLs replace ``TEST_DATABASE_URL`` and ``REDIS_URL`` in the environment at start-up,
so subprocesses that the tests start (RQ workers in test_faults) use the same ones.
"""

from __future__ import annotations

import os
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool

from tests import factories
from workflow_app import create_app
from workflow_app.extensions import db

os.environ.setdefault("KINERJA_ENV", "test")


# --- one database and one Redis db per pytest-xdist worker ------------------------------------


def xdist_worker() -> str | None:
    """``gw0``, ``gw1``, … inside a pytest-xdist worker; None in a plain run."""
    return os.environ.get("PYTEST_XDIST_WORKER") or None


def per_worker_database_url(url: str, worker: str) -> str:
    """The worker's own database: ``…/kinerja_ci`` → ``…/kinerja_ci_gw0``."""
    parsed = make_url(_normalise(url))
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return url
        stem, dot, ext = parsed.database.rpartition(".")
        name = f"{stem}-{worker}.{ext}" if dot else f"{parsed.database}-{worker}"
        return parsed.set(database=name).render_as_string(hide_password=False)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


def per_worker_redis_url(url: str, worker: str) -> str:
    """The worker's own Redis db: the URL's db number plus the worker's number."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{base + int(worker.removeprefix('gw'))}"))


def pytest_configure(config):
    worker = xdist_worker()
    if worker is None:
        return
    for name, per_worker in (
        ("TEST_DATABASE_URL", per_worker_database_url),
        ("REDIS_URL", per_worker_redis_url),
    ):
        if os.environ.get(name):
            os.environ[f"{name}_SHARED"] = os.environ[name]
            os.environ[name] = per_worker(os.environ[name], worker)


def _normalise(url: str) -> str:
    """postgres:// and postgresql:// go through psycopg 3 (as config does for DATABASE_URL)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def ensure_database(url: str) -> None:
    """CREATE DATABASE for a PostgreSQL URL unless it exists (connected to the server's
    maintenance database ``postgres``, or else to the database of TEST_DATABASE_URL as given)."""
    target = make_url(url)
    if target.get_backend_name() != "postgresql":
        return
    shared = os.environ.get("TEST_DATABASE_URL_SHARED")
    candidates = ["postgres"] + ([make_url(_normalise(shared)).database] if shared else [])
    error: Exception | None = None
    for maintenance in candidates:
        engine = create_engine(
            target.set(database=maintenance), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        try:
            for attempt in range(5):
                with engine.connect() as conn:
                    exists = conn.scalar(
                        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
                    )
                    if exists:
                        return
                    try:
                        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
                        return
                    except OperationalError as exc:  # e.g. template1 busy with another worker's CREATE
                        error = exc
                        time.sleep(0.2 * (attempt + 1))
        except OperationalError as exc:  # this maintenance database is not reachable: try the next
            error = exc
        finally:
            engine.dispose()
    raise RuntimeError(f"could not create the test database {target.database!r}: {error}")


def _database_url(tmp_root: str) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return _normalise(url)
    return f"sqlite:///{tmp_root}/kinerja-test.db"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = _database_url(str(tmp_path_factory.mktemp("db")))
    if xdist_worker() is not None:
        ensure_database(url)
    return url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """REDIS_URL if given (CI; per worker under xdist), else an embedded redis-server for this
    test session (per worker under xdist)."""
    import redis

    from workflow_app.dev import embedded_redis

    server = embedded_redis.start(tmp_path_factory.mktemp("redis"), persist=False)
    try:
        redis.Redis.from_url(server.url, socket_connect_timeout=5).ping()
    except redis.ResponseError as exc:  # e.g. "DB index is out of range" for base db + worker number
        server.stop()
        pytest.fail(
            f"Redis at {server.url} refuses this worker's db ({exc}): give REDIS_URL a lower db", False
        )
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def base_app(database_url, redis_url):
    app = create_app(
        "test",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "OUTBOX_KICK": False,
        },
    )
    with app.app_context():
        reset_schema()
    return app


def reset_schema() -> None:
    """Drop everything and build the schema with the Alembic migrations only."""
    from workflow_app.dbtools import rebuild_schema

    rebuild_schema()


@pytest.fixture
def app(base_app):
    """The app with every database write of the test inside one rolled-back transaction."""
    with base_app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, class_=Session, join_transaction_mode="create_savepoint")
        )
        try:
            yield base_app
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def committing_app(base_app):
    """The app with real commits (for concurrency and worker tests); tables emptied after."""
    with base_app.app_context():
        yield base_app
        db.session.remove()
        truncate_all()


def truncate_all() -> None:
    from workflow_app.services.audit import append_only_suspended

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            # TRUNCATE fires no row-level trigger: the append-only log empties too.
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            with append_only_suspended(conn):  # the DELETE triggers go and come back in this transaction
                for name in tables:
                    conn.exec_driver_sql(f'DELETE FROM "{name}"')


@pytest.fixture
def forget_failed_logins(app):
    """Failed logins count (Flask-Limiter, in Redis) for the whole session: wipe them around the test."""
    from workflow_app import ratelimit

    ratelimit.reset(app)
    yield
    ratelimit.reset(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def org(app):
    org = factories.Org()
    db.session.commit()  # into the test's outer transaction: a request's rollback keeps it
    return org


class Api:
    """A tiny HTTP helper: log in as a user and call the API with their token."""

    def __init__(self, client):
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, username: str, password: str = factories.PASSWORD) -> str:
        if username not in self.tokens:
            r = self.client.post("/api/v1/auth/tokens", json={"username": username, "password": password})
            assert r.status_code == 201, r.get_json()
            self.tokens[username] = r.get_json()["token"]
        return self.tokens[username]

    def call(self, method: str, path: str, user=None, **kw):
        headers = kw.pop("headers", {})
        if user is not None:
            name = user if isinstance(user, str) else user.username
            headers["Authorization"] = f"Bearer {self.token(name)}"
        return self.client.open(path, method=method, headers=headers, **kw)

    def get(self, path, user=None, **kw):
        return self.call("GET", path, user, **kw)

    def post(self, path, user=None, **kw):
        return self.call("POST", path, user, **kw)

    def put(self, path, user=None, **kw):
        return self.call("PUT", path, user, **kw)

    def patch(self, path, user=None, **kw):
        return self.call("PATCH", path, user, **kw)

    def appraisal(self, appraisal_id: int, user) -> dict:
        r = self.get(f"/api/v1/appraisals/{appraisal_id}", user)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def fire(self, appraisal_id: int, event: str, user, version: int | None = None, **fields):
        if version is None:
            version = self.appraisal(appraisal_id, user)["version"]
        return self.post(
            f"/api/v1/appraisals/{appraisal_id}/events/{event}", user, json={"version": version, **fields}
        )


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture(scope="session")
def tmpdir_session():
    with tempfile.TemporaryDirectory() as d:
        yield d


class SmtpSink:
    """A real SMTP server (aiosmtpd) collecting messages, which can be stopped and restarted."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        from email import policy
        from email.parser import BytesParser

        self.messages.append(
            BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        )
        return "250 OK"

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(base_app):
    from workflow_app.dev.embedded_redis import free_port

    sink = SmtpSink(free_port())
    sink.start()
    saved = {k: base_app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USER")}
    base_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_TLS="none", SMTP_USER="")
    yield sink
    sink.stop()
    base_app.config.update(saved)


def drain(max_rounds: int = 10, emails: bool = True) -> dict:
    """Run the outbox jobs in-process until none is pending, then try each pending email once."""
    from workflow_app.jobs.outbox import deliver, send_email
    from workflow_app.models import Notification, OutboxMessage, User

    done = {"outbox": 0, "emails": 0}
    for _ in range(max_rounds):
        ids = db.session.scalars(db.select(OutboxMessage.id).where(OutboxMessage.status == "pending")).all()
        if not ids:
            break
        for outbox_id in ids:
            deliver(outbox_id, enqueue=False)
            done["outbox"] += 1
    if not emails:
        return done
    pending = db.session.scalars(
        db.select(Notification.id)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.email_status == "pending",
            Notification.urgent.is_(True) | (User.email_digest != "daily"),
        )
    ).all()
    for nid in pending:
        try:
            send_email(nid)
        except Exception:  # noqa: BLE001 - failures are counted on the row; tests inspect them
            db.session.rollback()
        done["emails"] += 1
    return done
