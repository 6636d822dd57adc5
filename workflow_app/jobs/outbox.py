"""Outbox relay and delivery, and the email queue.

``relay`` (run after each commit and periodically by the scheduler) hands every pending outbox
row, and every pending email, to RQ under a deterministic job id. ``deliver`` (run by a worker)
re-reads the row under a lock, calls the handler registered for its topic and marks it done in
the same transaction, so a replay after a crash finds the row done and does nothing. Emails are
enqueued after that commit. A row or email whose job was lost (Redis flushed, worker killed) is
found pending again by the next relay and re-enqueued; handlers are idempotent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.jobs.context import with_app
from workflow_app.jobs.queues import queue
from workflow_app.models import Appraisal, Cycle, Delegation, Employee, Notification, OutboxMessage, User
from workflow_app.notifications import service as notifications
from workflow_app.uow import read_only, unit_of_work

log = logging.getLogger(__name__)

TOPIC_QUEUES = {"appraisal.escalation": "escalations", "appraisal.reminder": "escalations"}
ACTIVE = {"queued", "scheduled", "deferred"}


def queue_for(topic: str) -> str:
    for prefix, name in TOPIC_QUEUES.items():
        if topic.startswith(prefix):
            return name
    return "notifications"


def _retry(max_attempts: int | None = None):
    """RQ retries: one per configured interval, or up to ``max_attempts`` in all."""

    intervals = list(current_app.config["JOB_RETRY_INTERVALS"])
    retries = len(intervals) if max_attempts is None else max(max_attempts - 1, 0)
    return Retry(max=retries, interval=intervals)


def _job_alive(job_id: str, connection) -> bool:
    """True when RQ still holds the job as waiting, or running and not stale."""

    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    status = getattr(status, "value", status)
    if status in ACTIVE:
        return True
    if status == "started":
        started = job.started_at.replace(tzinfo=None) if job.started_at else None
        stale_after = timedelta(seconds=current_app.config.get("JOB_STALE_SECONDS", 120))
        return started is not None and utcnow() - started < stale_after
    return False


def _enqueue(queue_name: str, func, arg: int, job_id: str, max_attempts: int | None = None) -> None:

    q = queue(queue_name)
    if _job_alive(job_id, q.connection):
        return
    if Job.exists(job_id, connection=q.connection):
        Job.fetch(job_id, connection=q.connection).delete()
    q.enqueue(
        func,
        arg,
        job_id=job_id,
        retry=_retry(max_attempts),
        job_timeout=current_app.config.get("JOB_TIMEOUT", 60),
        result_ttl=600,
        failure_ttl=7 * 86400,
    )


def enqueue_emails(ids: list[int]) -> None:
    attempts = current_app.config["EMAIL_MAX_ATTEMPTS"]
    for nid in ids:
        _enqueue("notifications", send_email_job, nid, f"email-{nid}", max_attempts=attempts)


def relay(limit: int = 500, min_age_seconds: int = 0, emails: bool = True) -> dict:
    """Enqueue delivery of pending outbox rows and (unless ``emails`` is off) pending emails."""
    now = utcnow()
    cutoff = now - timedelta(seconds=min_age_seconds)
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.topic)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.available_at <= now,
            OutboxMessage.created_at <= cutoff,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    pending_emails = (
        db.session.scalars(
            select(Notification.id)
            .join(User, User.id == Notification.user_id)
            .where(
                Notification.email_status == "pending",
                Notification.created_at <= cutoff,
                (Notification.urgent.is_(True)) | (User.email_digest != "daily"),
            )
            .order_by(Notification.id)
            .limit(limit)
        ).all()
        if emails
        else []
    )
    db.session.rollback()  # read only: no transaction stays open while Redis is called
    for outbox_id, topic in rows:
        _enqueue(queue_for(topic), deliver_job, outbox_id, f"outbox-{outbox_id}")
    enqueue_emails(list(pending_emails))
    return {"outbox": len(rows), "emails": len(pending_emails)}


@with_app
def relay_job() -> dict:
    return relay()


def deliver(outbox_id: int, enqueue: bool = True) -> str:
    """Deliver one outbox row (idempotent: a done row is skipped); its own unit of work."""
    with unit_of_work(hooks=False):
        msg = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update())
        if msg is None or msg.status != "pending":
            return "skipped"
        fn = notifications.HANDLERS.get(msg.topic)
        to_email = (fn(msg) or []) if fn is not None else []
        msg.attempts += 1
        msg.status = "done"
        msg.processed_at = utcnow()
    if to_email and enqueue:
        with read_only():
            rows = db.session.scalars(
                select(Notification)
                .where(Notification.id.in_(to_email))
                .options(joinedload(Notification.user))
            ).all()
            now_ids = [n.id for n in rows if notifications.wants_email_now(n)]
        try:
            enqueue_emails(now_ids)
        except Exception as exc:  # noqa: BLE001 - the relay picks pending emails up later
            log.warning("could not enqueue emails %s (%s); the relay will", now_ids, exc)
    return "done" if fn else "no-handler"


def unit_of(msg: OutboxMessage) -> int | None:
    """The unit an outbox row concerns, so that its incident shows only to HR in scope."""
    payload = msg.payload or {}
    if payload.get("appraisal_id"):
        return db.session.scalar(select(Appraisal.unit_id).where(Appraisal.id == payload["appraisal_id"]))
    if payload.get("cycle_id"):
        return db.session.scalar(select(Cycle.unit_id).where(Cycle.id == payload["cycle_id"]))
    if payload.get("delegation_id"):
        return db.session.scalar(
            select(Employee.unit_id)
            .join(Delegation, Delegation.delegator_id == Employee.id)
            .where(Delegation.id == payload["delegation_id"])
        )
    return None


def _record_failure(outbox_id: int, exc: Exception) -> bool:
    """Count a failed delivery; after the last retry the row fails and an incident is recorded."""
    with unit_of_work(hooks=False):
        msg = db.session.get(OutboxMessage, outbox_id)
        if msg is None:
            return True
        msg.attempts += 1
        msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        exhausted = msg.attempts > len(current_app.config["JOB_RETRY_INTERVALS"])
        if exhausted:
            msg.status = "failed"
            notifications.record_incident(
                "outbox_delivery", "outbox", msg.id, msg.last_error, msg.attempts, unit_of(msg)
            )
    return exhausted


@with_app
def deliver_job(outbox_id: int) -> str:
    try:
        return deliver(outbox_id)
    except Exception as exc:  # noqa: BLE001 - counted, then retried by RQ or made an incident
        if _record_failure(outbox_id, exc):
            return "failed"
        raise


def send_email(notification_id: int) -> str:
    """Send one notification's email in its own unit of work; raise after it for RQ to retry."""
    with unit_of_work(hooks=False):
        outcome = notifications.email_notification(notification_id)
    if outcome.status == "retry":
        raise outcome.error
    return outcome.status


def send_digest(user_id: int) -> str:
    with unit_of_work(hooks=False):
        return notifications.email_digest(user_id)


@with_app
def send_email_job(notification_id: int) -> str:
    return send_email(notification_id)


@with_app
def send_digest_job(user_id: int) -> str:
    return send_digest(user_id)
