"""Faults, each ending with every expected email delivered exactly once.

Real parts throughout: a redis-server of the test's own (so it can be stopped), an RQ worker in
its own process group (so it can be SIGKILLed with its work horse), an aiosmtpd server that can
be stopped, and the test database with real commits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import SmtpSink
from workflow_app.dev.embedded_redis import free_port, redis_binary
from workflow_app.extensions import db
from workflow_app.jobs import outbox
from workflow_app.models import Appraisal, Incident, Notification, OutboxMessage
from workflow_app.services import appraisals, cycles
from workflow_app.services.access import Actor

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.skipif(redis_binary() is None, reason="needs a redis-server binary"),
    pytest.mark.faults,
    pytest.mark.slow,
]


class RedisProcess:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.tmp = tmp
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Worker:
    def __init__(self, env: dict):
        self.env = env
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workflow_app.jobs.worker"],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(self.env["WORKER_LOG"], "ab"),
        )

    def kill(self):
        """SIGKILL the worker and its work horse, as a crashed container would lose them."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None


class SlowSink(SmtpSink):
    """An SMTP server that can stall before the message is transmitted (at RCPT)."""

    stall = 0.0

    def __init__(self, port: int):
        super().__init__(port)
        import threading

        self.in_rcpt = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.in_rcpt.set()
        if self.stall:
            await asyncio.sleep(self.stall)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def env(committing_app, database_url, tmp_path):
    app = committing_app
    redis = RedisProcess(tmp_path)
    redis.start()
    smtp = SlowSink(free_port())
    smtp.start()
    saved = dict(app.config)
    app.config.update(
        REDIS_URL=redis.url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        OUTBOX_KICK=True,
        JOB_RETRY_INTERVALS=[1, 1, 2],
        EMAIL_MAX_ATTEMPTS=5,
        JOB_STALE_SECONDS=3,
    )
    worker_env = {
        **os.environ,
        "KINERJA_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "JOB_RETRY_INTERVALS": "1,1,2",
        "EMAIL_MAX_ATTEMPTS": "5",
        "JOB_STALE_SECONDS": "3",
        "WORKER_LOG": str(tmp_path / "worker.log"),
    }
    worker = Worker(worker_env)
    from workflow_app.jobs import dispatch

    dispatch._skip_until = 0.0  # an earlier test's Redis outage must not mute this one's kicks
    yield {"app": app, "redis": redis, "smtp": smtp, "worker": worker}
    worker.stop()
    smtp.stop()
    redis.stop()
    app.config.clear()
    app.config.update(saved)


def prepare_plans(count_hint: int = 0):
    """A committed org and launched cycle with every plan drafted and ready to submit."""
    org = factories.Org()
    cycle = factories.cycle(org.dinas)
    cycles.launch(cycle, factories.utcnow())
    db.session.commit()
    ready = []
    for a in db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle.id)).all():
        user = {
            org.staff.id: org.u_staff,
            org.peer.id: org.u_peer,
            org.kasi.id: org.u_kasi,
            org.kabid.id: org.u_kabid,
            org.hr_emp.id: org.u_hr,
        }.get(a.employee_id)
        if user is None:
            continue
        appraisals.update_plan(Actor.from_user(user), a.id, factories.plan_body(a.version))
        db.session.commit()
        ready.append((a.id, user))
    # The launch notifications are in-app only for this test: mark their emails done.
    db.session.execute(Notification.__table__.update().values(email_status="skipped"))
    db.session.execute(OutboxMessage.__table__.update().values(status="done"))
    db.session.commit()
    return org, ready


def expected_emails(ready) -> int:
    """Submissions whose assessor has an account (the kadis has none in the test org)."""
    from workflow_app.models import User

    assessors = [db.session.get(Appraisal, aid).assessor_id for aid, _ in ready]
    with_account = set(db.session.scalars(select(User.employee_id).where(User.employee_id.in_(assessors))))
    db.session.remove()
    return sum(1 for a in assessors if a in with_account)


def submit_all(app, ready) -> list[int]:
    client = app.test_client()
    codes = []
    for aid, user in ready:
        token = client.post(
            "/api/v1/auth/tokens", json={"username": user.username, "password": factories.PASSWORD}
        )
        token = token.get_json()["token"]
        version = client.get(
            f"/api/v1/appraisals/{aid}", headers={"Authorization": f"Bearer {token}"}
        ).get_json()["version"]
        r = client.post(
            f"/api/v1/appraisals/{aid}/events/submit_plan",
            json={"version": version},
            headers={"Authorization": f"Bearer {token}"},
        )
        codes.append(r.status_code)
    # Test-client requests share the test's app context, so end its session here (a server
    # removes it at the end of every request); on SQLite it would hold the write lock.
    db.session.remove()
    return codes


def relay_until_delivered(expected: int, smtp, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outbox.relay()
        db.session.remove()
        sent = db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.email_status == "sent")
        )
        db.session.remove()
        if sent >= expected and len(smtp.messages) >= expected:
            time.sleep(1.5)  # let any duplicate show itself
            return
        time.sleep(0.5)
    raise AssertionError(f"only {len(smtp.messages)} of {expected} emails arrived")


def assert_exactly_once(smtp, expected: int):
    keys = [m["X-Kinerja-Dedupe-Key"] for m in smtp.messages]
    assert len(keys) == expected, keys
    assert len(set(keys)) == expected, "an email was sent twice"
    wanted = set(
        db.session.scalars(select(Notification.dedupe_key).where(Notification.kind == "plan_submitted"))
    )
    assert set(keys) == wanted


def test_redis_down_during_a_burst_loses_nothing(env):
    app, redis, smtp, worker = env["app"], env["redis"], env["smtp"], env["worker"]
    org, ready = prepare_plans()
    redis.stop()
    assert submit_all(app, ready) == [200] * len(ready)  # transitions succeed without Redis
    pending = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
    )
    assert pending == len(ready)
    db.session.remove()
    redis.start()  # an empty Redis: whatever was queued before is gone
    worker.start()
    relay_until_delivered(expected_emails(ready), smtp)
    assert_exactly_once(smtp, expected_emails(ready))


def test_worker_killed_mid_job_loses_nothing(env):
    app, smtp, worker = env["app"], env["smtp"], env["worker"]
    org, ready = prepare_plans()
    smtp.stall = 6.0  # every send hangs at RCPT, before the message is transmitted
    worker.start()
    assert submit_all(app, ready) == [200] * len(ready)
    # The after-commit kick may have been skipped (a Redis hiccup earlier); relay until a send starts.
    deadline = time.monotonic() + 45
    while not smtp.in_rcpt.wait(0.5):
        outbox.relay()
        db.session.remove()
        assert time.monotonic() < deadline, "the worker never reached the SMTP server"
    worker.kill()  # mid-job: the horse is inside an SMTP conversation
    smtp.stall = 0.0
    time.sleep(3.5)  # past JOB_STALE_SECONDS: the started job is known dead
    worker.start()
    relay_until_delivered(expected_emails(ready), smtp)
    assert_exactly_once(smtp, expected_emails(ready))


def test_smtp_down_then_back_is_retried(env):
    app, smtp, worker = env["app"], env["smtp"], env["worker"]
    org, ready = prepare_plans()
    smtp.stop()
    worker.start()
    assert submit_all(app, ready) == [200] * len(ready)
    deadline = time.monotonic() + 30
    while True:
        outbox.relay()  # what the scheduler does every tick
        attempts = db.session.scalar(
            select(func.max(Notification.email_attempts)).where(Notification.kind == "plan_submitted")
        )
        db.session.remove()
        if attempts and attempts >= 1:
            break
        assert time.monotonic() < deadline, "no delivery was attempted"
        time.sleep(0.3)
    smtp.start()  # back before the retries run out
    relay_until_delivered(expected_emails(ready), smtp)
    assert_exactly_once(smtp, expected_emails(ready))
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_smtp_down_for_good_becomes_an_incident(env):
    app, smtp, worker = env["app"], env["smtp"], env["worker"]
    org, ready = prepare_plans()
    smtp.stop()
    worker.start()
    assert submit_all(app, ready) == [200] * len(ready)
    deadline = time.monotonic() + 45
    while True:
        outbox.relay()
        failed = db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.email_status == "failed")
        )
        db.session.remove()
        if failed == expected_emails(ready):
            break
        assert time.monotonic() < deadline, f"{failed} of {expected_emails(ready)} failed"
        time.sleep(0.5)
    incidents = db.session.scalars(select(Incident)).all()
    assert len(incidents) == expected_emails(ready) and {i.attempts for i in incidents} == {5}
