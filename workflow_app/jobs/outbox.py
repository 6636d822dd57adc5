"""Outbox relay and delivery.

``relay`` (run after each commit and periodically by the scheduler) hands every pending outbox
row to RQ under a deterministic job id. ``deliver`` (run by a worker) re-reads the row, calls the
handler registered for its topic and marks it done — in one transaction, so a replay after a crash
finds the row done and does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.jobs.context import with_app
from workflow_app.models import OutboxMessage

log = logging.getLogger(__name__)

# topic -> handler(message) ; handlers are registered by the modules that deliver side effects.
HANDLERS: dict[str, Callable[[OutboxMessage], None]] = {}
TOPIC_QUEUES = {"appraisal.": "notifications", "cycle.": "notifications"}


def handler(topic: str):
    def register(fn):
        HANDLERS[topic] = fn
        return fn

    return register


def queue_for(topic: str) -> str:
    for prefix, name in TOPIC_QUEUES.items():
        if topic.startswith(prefix):
            return name
    return "default"


def pending(limit: int = 500) -> list[tuple[int, str]]:
    return db.session.execute(
        select(OutboxMessage.id, OutboxMessage.topic)
        .where(OutboxMessage.status == "pending", OutboxMessage.available_at <= utcnow())
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()


def relay(limit: int = 500) -> int:
    """Enqueue delivery of pending outbox rows; returns how many were handed over."""
    from rq import Retry

    from workflow_app.jobs.queues import queue

    rows = pending(limit)
    db.session.rollback()
    for outbox_id, topic in rows:
        queue(queue_for(topic)).enqueue(
            deliver_job,
            outbox_id,
            job_id=f"outbox-{outbox_id}",
            retry=Retry(max=5, interval=[5, 30, 120, 600, 1800]),
            result_ttl=600,
            failure_ttl=7 * 86400,
        )
    return len(rows)


@with_app
def relay_job() -> int:
    return relay()


def deliver(outbox_id: int) -> str:
    """Deliver one outbox row (idempotent: a done row is skipped)."""
    msg = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
    )
    if msg is None or msg.status != "pending":
        db.session.rollback()
        return "skipped"
    msg.attempts += 1
    fn = HANDLERS.get(msg.topic)
    if fn is not None:
        fn(msg)
    msg.status = "done"
    msg.processed_at = utcnow()
    db.session.commit()
    return "done" if fn else "no-handler"


@with_app
def deliver_job(outbox_id: int) -> str:
    return deliver(outbox_id)
