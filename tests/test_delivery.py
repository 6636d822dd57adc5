"""Delivery in batches (issue 9): the kick, batch delivery, SMTP batching, the worker class.

Real Redis (the test session's) and a real aiosmtpd server throughout.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis as redis_lib
from rq import SimpleWorker
from sqlalchemy import func, select

from tests import factories
from tests.conftest import SmtpSink, drain
from tests.test_lifecycle import launch, staff_appraisal
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.jobs import dispatch, outbox
from workflow_app.jobs.queues import queue
from workflow_app.models import Appraisal, Incident, Notification, OutboxMessage
from workflow_app.notifications import service as notifications
from workflow_app.redis_conn import get_redis
from workflow_app.services import audit
from workflow_app.uow import unit_of_work

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis(app):
    connection = get_redis()
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def kicking(app, redis, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_KICK", True)
    monkeypatch.setattr(dispatch, "_skip_until", 0.0)
    return redis


class RoundTrips:
    """Counts Redis round trips: single commands and pipeline executions."""

    def __init__(self, monkeypatch):
        self.count = 0
        real_command = redis_lib.Redis.execute_command
        real_execute = redis_lib.client.Pipeline.execute

        def command(client, *args, **kwargs):
            self.count += 1
            return real_command(client, *args, **kwargs)

        def execute(pipe, *args, **kwargs):
            self.count += 1
            return real_execute(pipe, *args, **kwargs)

        monkeypatch.setattr(redis_lib.Redis, "execute_command", command)
        monkeypatch.setattr(redis_lib.client.Pipeline, "execute", execute)


def write_outbox(keys: list[str]) -> list[int]:
    with unit_of_work():
        rows = [audit.outbox("test.noop", {"n": k}, dedupe_key=k, at=utcnow()) for k in keys]
        db.session.flush()
        ids = [r.id for r in rows]
    return ids


def queued_ids(redis, queue_name: str = "notifications") -> list[int]:
    return [int(i) for i in redis.lrange(f"{outbox.DRAIN_LIST}{queue_name}", 0, -1)]


def jobs_in(redis, queue_name: str = "notifications") -> int:
    return redis.llen(f"rq:queue:{queue_name}")


# --- the kick after commit --------------------------------------------------------------------


def test_a_commit_enqueues_exactly_its_outbox_ids_in_one_round_trip(app, kicking, monkeypatch):
    redis = kicking
    # A row written before, still pending, is not this unit of work's: no scan picks it up.
    with unit_of_work(hooks=False):
        audit.outbox("test.noop", {}, dedupe_key="older", at=utcnow())
    for name in ("notifications", "escalations"):
        queue(name).get_redis_server_version()  # once per process (RQ asks the server)
    trips = RoundTrips(monkeypatch)
    first = write_outbox(["a", "b"])
    assert trips.count == 2  # the ids (and the drainer's key), then the drainer's job
    assert queued_ids(redis) == first
    assert jobs_in(redis) == 1  # one drainer for the burst
    trips.count = 0
    second = write_outbox(["c"])
    assert trips.count == 1  # a drainer is queued already: one pipeline, nothing else
    assert queued_ids(redis) == first + second
    assert jobs_in(redis) == 1


def test_a_rolled_back_unit_of_work_enqueues_nothing(app, kicking):
    redis = kicking
    with pytest.raises(RuntimeError):
        with unit_of_work():
            audit.outbox("test.noop", {}, dedupe_key="rolled-back", at=utcnow())
            db.session.flush()
            raise RuntimeError("boom")
    write_outbox(["kept"])
    kept = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == "kept"))
    assert queued_ids(redis) == [kept]


def test_a_transition_over_http_hands_its_row_to_the_drainer_which_delivers_it(api, org, kicking):
    redis = kicking
    cycle, _ = launch(api, org)
    redis.flushdb()  # the launch's own row: not this test's
    aid = staff_appraisal(org, cycle)
    api.put(
        f"/api/v1/appraisals/{aid}/plan",
        org.u_staff,
        json=factories.plan_body(api.appraisal(aid, org.u_staff)["version"]),
    )
    assert api.fire(aid, "submit_plan", org.u_staff).status_code == 200
    row = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert queued_ids(redis) == [row.id]
    assert outbox.drain_outbox("notifications") == 1
    db.session.refresh(row)
    assert row.status == "done"
    assert queued_ids(redis) == [] and redis.get(f"{outbox.DRAIN_MARK}notifications") is None


# --- batch delivery -----------------------------------------------------------------------------


@pytest.fixture
def submitted(api, org):
    """Two plans submitted: two pending appraisal.transitioned rows."""
    cycle, _ = launch(api, org)
    drain(emails=False)
    ids = []
    for user, employee in ((org.u_staff, org.staff), (org.u_peer, org.peer)):
        aid = db.session.scalar(
            select(Appraisal.id).where(Appraisal.employee_id == employee.id, Appraisal.cycle_id == cycle.id)
        )
        api.put(
            f"/api/v1/appraisals/{aid}/plan",
            user,
            json=factories.plan_body(api.appraisal(aid, user)["version"]),
        )
        assert api.fire(aid, "submit_plan", user).status_code == 200
        ids.append(db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())))
    return ids


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_batch_delivers_every_row_and_a_replay_does_nothing(app, redis, submitted):
    outcome = outbox.deliver_batch(submitted, enqueue=False)
    assert sorted(outcome["done"]) == sorted(submitted) and outcome["failed"] == []
    created = count(Notification, Notification.kind == "plan_submitted")
    assert created == 2
    # A duplicate job: the rows are done, nothing happens.
    assert outbox.deliver_batch(submitted, enqueue=False)["skipped"] == 2
    # A replay after a crash before the row was marked: the dedupe keys hold.
    for outbox_id in submitted:
        db.session.get(OutboxMessage, outbox_id).status = "pending"
    db.session.commit()
    assert sorted(outbox.deliver_batch(submitted, enqueue=False)["done"]) == sorted(submitted)
    assert count(Notification, Notification.kind == "plan_submitted") == created


def test_a_batch_enqueues_the_emails_its_rows_asked_for(app, redis, submitted):
    outcome = outbox.deliver_batch(submitted)
    ids = set(db.session.scalars(select(Notification.id).where(Notification.kind == "plan_submitted")))
    assert outcome["emails"] == len(ids) == 2
    assert jobs_in(redis) == 1  # one email job for the batch


def test_a_failing_row_does_not_stop_the_others_and_is_retried_then_an_incident(
    app, redis, submitted, monkeypatch
):
    def boom(msg):
        raise RuntimeError("handler failed")

    monkeypatch.setitem(notifications.HANDLERS, "test.boom", boom)
    with unit_of_work(hooks=False):
        bad = audit.outbox("test.boom", {}, dedupe_key="boom", at=utcnow())
        db.session.flush()
        bad_id = bad.id
    outcome = outbox.deliver_batch([bad_id, *submitted], enqueue=False)
    assert sorted(outcome["done"]) == sorted(submitted)
    assert outcome["retry"] == [bad_id]
    assert count(Notification, Notification.kind == "plan_submitted") == 2
    row = db.session.get(OutboxMessage, bad_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "RuntimeError: handler failed" and row.available_at > utcnow()
    # The retry is scheduled in RQ (the worker's scheduler enqueues it when due).
    assert redis.zcard("rq:scheduled:notifications") == 1
    for _ in app.config["JOB_RETRY_INTERVALS"]:
        outcome = outbox.deliver_batch([bad_id], enqueue=False)
    assert outcome["failed"] == [bad_id]
    db.session.refresh(row)
    assert row.status == "failed"
    incident = db.session.scalar(select(Incident).where(Incident.ref_type == "outbox"))
    assert (incident.kind, incident.ref_id) == ("outbox_delivery", bad_id)


def test_the_relay_looks_nothing_up_per_row_and_does_not_enqueue_twice(app, redis, submitted, monkeypatch):
    from rq.job import Job

    def no_fetch(*args, **kwargs):
        raise AssertionError("the relay fetched a job")

    monkeypatch.setattr(Job, "fetch", no_fetch)
    first = outbox.relay()
    assert first["outbox"] == 2
    assert outbox.relay()["outbox"] == 0  # marked in Redis: not enqueued again
    redis.flushdb()  # Redis lost everything: the relay hands the rows over again
    assert outbox.relay()["outbox"] == 2


# --- emails over one SMTP connection --------------------------------------------------------------


class CountingSink(SmtpSink):
    """An SMTP sink that counts connections and refuses one address."""

    refuse: str | None = None

    def __init__(self, port: int):
        super().__init__(port)
        self.connections = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def start(self):
        from aiosmtpd.controller import Controller

        sink = self

        class Counting(Controller):
            def factory(self):
                sink.connections += 1
                return super().factory()

        self.controller = Counting(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()


@pytest.fixture
def sink(base_app):
    from workflow_app.dev.embedded_redis import free_port

    s = CountingSink(free_port())
    s.start()
    saved = {k: base_app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USER")}
    base_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=s.port, SMTP_TLS="none", SMTP_USER="")
    yield s
    s.stop()
    base_app.config.update(saved)


def pending_emails(org) -> list[int]:
    """A pending urgent email for each person of the test org with an account and an address."""
    from workflow_app.models import User

    users = db.session.scalars(select(User).where(User.employee_id.is_not(None))).all()
    now = utcnow()
    rows = [
        Notification(
            user_id=u.id,
            kind="plan_approved",
            urgent=True,
            context={"actor": "HR", "cycle": "2026"},
            dedupe_key=f"test:{u.id}",
            created_at=now,
        )
        for u in users
        if u.employee and u.employee.email
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [n.id for n in rows]


def test_a_batch_of_emails_goes_over_one_smtp_connection(app, redis, org, sink):
    ids = pending_emails(org)
    assert len(ids) >= 4
    before = sink.connections  # aiosmtpd's controller connects once to see that it is up
    counts = outbox.send_emails(ids)
    assert counts == {"sent": len(ids)}
    assert len(sink.messages) == len(ids) and sink.connections - before == 1
    assert {m["X-Kinerja-Dedupe-Key"] for m in sink.messages} == {f"test:{n.user_id}" for n in map(
        lambda i: db.session.get(Notification, i), ids)}  # fmt: skip
    # A replay sends nothing.
    assert outbox.send_emails(ids) == {"skipped": len(ids)}
    assert len(sink.messages) == len(ids)


def test_a_refused_recipient_is_that_emails_retry_not_the_batchs(app, redis, org, sink):
    ids = pending_emails(org)
    refused = db.session.get(Notification, ids[1])
    sink.refuse = refused.user.employee.email
    before = sink.connections
    counts = outbox.send_emails(ids)
    assert counts == {"sent": len(ids) - 1, "retry": 1}
    assert sink.connections - before == 1  # the session went on after the refusal
    db.session.expire_all()
    refused = db.session.get(Notification, ids[1])
    assert (refused.email_status, refused.email_attempts) == ("pending", 1)
    assert "550" in refused.email_error
    assert redis.zcard("rq:scheduled:notifications") == 1  # its retry, scheduled
    assert all(db.session.get(Notification, i).email_status == "sent" for i in ids if i != refused.id)


def test_an_unreachable_server_counts_one_attempt_per_email_without_waiting_for_each(app, redis, org, sink):
    ids = pending_emails(org)
    sink.stop()
    counts = outbox.send_emails(ids)
    assert counts == {"retry": len(ids)}
    db.session.expire_all()
    assert {db.session.get(Notification, i).email_attempts for i in ids} == {1}


def test_the_launch_handler_asks_for_the_launch_emails_of_users_without_a_digest(api, org):
    from workflow_app.models import User

    org.u_kasi.email_digest = "daily"
    db.session.commit()
    launch(api, org)
    launch_row = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.topic == "cycle.launch"))
    msgs = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id == launch_row)).all()
    created = notifications.HANDLERS["cycle.launch"](msgs[0])
    emails_now = outbox._emails_now(created)
    launched = db.session.scalars(select(Notification).where(Notification.kind == "cycle_launched")).all()
    assert sorted(created) == sorted(n.id for n in launched)
    daily = {n.id for n in launched if db.session.get(User, n.user_id).email_digest == "daily"}
    assert daily and set(emails_now) == {n.id for n in launched} - daily


# --- the worker ---------------------------------------------------------------------------------


def test_the_worker_does_not_fork_per_job(app, redis):
    from workflow_app.jobs.worker import build_worker

    worker = build_worker(app)
    assert isinstance(worker, SimpleWorker)


def test_the_deployments_start_the_shipped_worker(app):
    compose = (ROOT / "docker-compose.yml").read_text()
    worker = re.search(r"\n  worker:\n(.*?)\n\n", compose, re.S).group(1)
    assert 'command: ["python", "-m", "workflow_app.jobs.worker"]' in worker
    runner = (ROOT / "workflow_app" / "dev" / "runner.py").read_text()
    assert 'Child("worker", [py, "-m", "workflow_app.jobs.worker"]' in runner
    dockerfile = (ROOT / "Dockerfile").read_text()
    # The image names no worker class (rq worker -w …): the worker module chooses SimpleWorker.
    assert "rq worker" not in dockerfile and "--worker-class rq" not in dockerfile


def test_the_relay_restarts_the_drainer_of_ids_left_without_one(app, redis):
    """A drainer killed after the ids were pushed (its key expired): the relay starts another."""
    redis.rpush(f"{outbox.DRAIN_LIST}escalations", 41, 42)
    outbox.relay()
    assert jobs_in(redis, "escalations") == 1
    assert redis.get(f"{outbox.DRAIN_MARK}escalations") is not None
    outbox.relay()  # the drainer is queued: not a second one
    assert jobs_in(redis, "escalations") == 1
    assert outbox.drain_outbox("escalations") == 0  # no such rows: nothing delivered, list emptied
    assert redis.llen(f"{outbox.DRAIN_LIST}escalations") == 0
