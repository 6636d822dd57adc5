"""Outbox delivery in batches, the email queue, and the relay that is their safety net.

The fast path: after each commit the kick (``jobs.dispatch``) hands exactly the outbox ids
that unit of work wrote to Redis, in one round trip: onto their queue's id list, and the first
commit of a burst also enqueues one ``drain_outbox_job``. The drainer delivers the list in
batches of ``OUTBOX_BATCH_SIZE`` until it is empty, so a burst of commits costs the worker one
job, not one per commit.

``deliver_batch`` locks the batch's pending rows (``FOR UPDATE SKIP LOCKED``: a row another
worker holds is that worker's), reads what the handlers need once for the batch
(``notifications.batch``), calls the handler registered for each row's topic, marks it done and
commits once. A replay finds the rows done, or the notifications' dedupe keys taken, and does
nothing. Should a handler fail, the batch is run again with a savepoint per row: the failing
row alone rolls back, is counted and retried later (``JOB_RETRY_INTERVALS``, by RQ's
scheduler), and after the last retry fails with an incident for HR; the others are delivered.
The emails the new notifications call for are enqueued after the commit, in chunks of
``EMAIL_BATCH_SIZE``.

``send_emails`` sends a chunk over one SMTP connection (one connect, one login), committing
every ``EMAIL_COMMIT_EVERY``: a crash re-sends at most those since the last commit. A failure
is that email's attempt alone; it is retried with backoff and after ``EMAIL_MAX_ATTEMPTS``
fails with an incident.

``relay`` (run by the scheduler every tick) is the safety net for jobs lost with Redis or a
killed worker: it re-enqueues pending rows and emails whose marker in Redis has expired. A
marker is set for every id handed to a queue and lives ``JOB_STALE_SECONDS`` (longer for a
scheduled retry), so the relay costs one scan and two pipelines per tick, never a per-row job
lookup; a duplicate job finds its rows done or locked and does nothing. It also restarts the
drainer of an id list whose drainer was killed.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.jobs.context import with_app
from workflow_app.jobs.queues import QUEUES, queue
from workflow_app.models import Appraisal, Cycle, Delegation, Employee, Notification, OutboxMessage, User
from workflow_app.notifications import mailer
from workflow_app.notifications import service as notifications
from workflow_app.uow import savepoint, unit_of_work

log = logging.getLogger(__name__)

TOPIC_QUEUES = {"appraisal.escalation": "escalations", "appraisal.reminder": "escalations"}
OUTBOX_MARK = "kinerja:queued:outbox:"
DRAIN_LIST = "kinerja:outbox:ids:"
DRAIN_MARK = "kinerja:outbox:drainer:"
EMAIL_MARK = "kinerja:queued:email:"
# Settings read with a default (config.py need not name them).
DEFAULT_OUTBOX_BATCH = 200
DEFAULT_EMAIL_BATCH = 200
DEFAULT_EMAIL_COMMIT_EVERY = 50


def queue_for(topic: str) -> str:
    for prefix, name in TOPIC_QUEUES.items():
        if topic.startswith(prefix):
            return name
    return "notifications"


def _setting(name: str, default):
    return current_app.config.get(name, default) or default


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _retry_delay(attempts: int) -> int:
    """Seconds before try ``attempts + 1``: the configured interval, the last one repeating."""
    intervals = list(current_app.config["JOB_RETRY_INTERVALS"]) or [10]
    return int(intervals[min(max(attempts - 1, 0), len(intervals) - 1)])


def _job_options() -> dict:
    return {
        "timeout": current_app.config.get("JOB_TIMEOUT", 60),
        "result_ttl": 0,  # nothing reads a result: keep Redis work per job small
        "failure_ttl": 7 * 86400,
    }


def _stale_seconds() -> int:
    return int(current_app.config.get("JOB_STALE_SECONDS", 120))


def _enqueue(plan: dict[str, list[tuple]], marks: list[tuple[str, list[int], int]], nx: bool = False) -> set:
    """Enqueue ``plan`` ({queue: [(func, ids), …]}) and set the markers, in one round trip.

    With ``nx`` the markers are set first (``SET NX``) and only ids whose marker was free are
    enqueued: what the relay does, in two round trips whatever the number of ids.
    """
    names = [name for name, jobs in plan.items() if jobs]
    if not names:
        return set()
    connection = queue(names[0]).connection
    stale = _stale_seconds()
    free: set = set()
    if nx:
        pipe = connection.pipeline(transaction=False)
        keys = []
        for prefix, ids, ttl in marks:
            for i in ids:
                pipe.set(f"{prefix}{i}", 1, nx=True, ex=ttl or stale)
                keys.append((prefix, i))
        free = {key for key, ok in zip(keys, pipe.execute(), strict=True) if ok}
        plan = {
            name: [
                (func, prefix, [i for i in ids if (prefix, i) in free]) for func, prefix, ids in plan[name]
            ]
            for name in names
        }
        plan = {name: [job for job in jobs if job[2]] for name, jobs in plan.items()}
        names = [name for name, jobs in plan.items() if jobs]
        if not names:
            return free
    pipe = connection.pipeline(transaction=False)
    options = _job_options()
    for name in names:
        q = queue(name)
        q.enqueue_many(
            [q.prepare_data(func, args=(ids,), **options) for func, _prefix, ids in plan[name]],
            pipeline=pipe,
        )
    if not nx:
        for prefix, ids, ttl in marks:
            for i in ids:
                pipe.set(f"{prefix}{i}", 1, ex=ttl or stale)
    pipe.execute()
    return free


def _drain_keys(queue_name: str) -> tuple[str, str]:
    """The queue's list of outbox ids to deliver, and the key held while a drainer is queued."""
    return f"{DRAIN_LIST}{queue_name}", f"{DRAIN_MARK}{queue_name}"


def enqueue_outbox(rows: list[tuple[int, str]], queue_name: str | None = None) -> int:
    """Hand outbox rows (id, topic) to the workers, in one Redis round trip.

    The ids go onto their queue's list (``RPUSH``), in one ``MULTI`` with ``SET NX`` of the
    queue's drainer key: whoever sets it (the first commit of a burst) enqueues one
    ``drain_outbox_job``, which delivers the list in batches until it is empty. So a burst of
    commits costs the worker one job, not one per commit. ``queue_name`` puts every row on that
    queue instead of its topic's (the benchmark's).
    """
    by_queue: dict[str, list[int]] = defaultdict(list)
    for outbox_id, topic in rows:
        by_queue[queue_name or queue_for(topic)].append(outbox_id)
    if not by_queue:
        return 0
    connection = queue(next(iter(by_queue))).connection
    stale = _stale_seconds()
    pipe = connection.pipeline(transaction=True)
    names = list(by_queue)
    for name in names:
        ids_key, drainer_key = _drain_keys(name)
        pipe.rpush(ids_key, *by_queue[name])
        pipe.set(drainer_key, 1, nx=True, ex=stale)
    for outbox_id, _ in rows:
        pipe.set(f"{OUTBOX_MARK}{outbox_id}", 1, ex=stale)
    results = pipe.execute()
    starters = [name for name, started in zip(names, results[1 : 2 * len(names) : 2], strict=True) if started]
    if starters:
        _enqueue_drainers(connection, starters)
    return len(rows)


def _enqueue_drainers(connection, names: list[str]) -> None:
    pipe = connection.pipeline(transaction=False)
    options = _job_options()
    for name in names:
        q = queue(name)
        q.enqueue_many([q.prepare_data(drain_outbox_job, args=(name,), **options)], pipeline=pipe)
    pipe.execute()


def drain_outbox(queue_name: str) -> int:
    """Deliver the queue's list of outbox ids in batches until it is empty; rows delivered.

    Holds the drainer key while it works (refreshed each batch); when the list is empty it
    lets go of the key and looks once more, so an id pushed meanwhile is either seen here or
    started a drainer of its own (``enqueue_outbox`` pushes and takes the key atomically).
    """
    connection = queue(queue_name).connection
    ids_key, drainer_key = _drain_keys(queue_name)
    size = int(_setting("OUTBOX_BATCH_SIZE", DEFAULT_OUTBOX_BATCH))
    stale = _stale_seconds()
    delivered = 0
    # A drainer fed without pause hands over to a fresh job well within the job timeout.
    hand_over_at = time.monotonic() + float(current_app.config.get("JOB_TIMEOUT", 60)) / 2
    try:
        while True:
            if time.monotonic() > hand_over_at:
                connection.expire(drainer_key, stale)
                _enqueue_drainers(connection, [queue_name])
                return delivered
            raw = connection.lpop(ids_key, size)
            if not raw:
                connection.delete(drainer_key)
                if not connection.llen(ids_key) or not connection.set(drainer_key, 1, nx=True, ex=stale):
                    return delivered
                continue
            connection.expire(drainer_key, stale)
            outcome = deliver_batch([int(i) for i in raw])
            delivered += len(outcome["done"])
    except BaseException:
        # The ids taken are pending still: the relay finds them. Let the next commit start a
        # drainer at once instead of waiting for the key to expire.
        connection.delete(drainer_key)
        raise


def enqueue_emails(ids: list[int]) -> int:
    """Hand notification ids to the email senders, in chunks sent over one connection each."""
    if not ids:
        return 0
    size = int(_setting("EMAIL_BATCH_SIZE", DEFAULT_EMAIL_BATCH))
    plan = {"notifications": [(send_emails_job, EMAIL_MARK, chunk) for chunk in _chunks(list(ids), size)]}
    _enqueue(plan, [(EMAIL_MARK, list(ids), 0)])
    return len(ids)


def _schedule_retry(func, prefix: str, ids: list[int], delay: int) -> None:
    """Enqueue ``ids`` again in ``delay`` seconds (RQ's scheduler runs in the worker)."""
    q = queue("notifications")
    pipe = q.connection.pipeline(transaction=False)
    options = _job_options()
    options["job_timeout"] = options.pop("timeout")
    q.enqueue_in(timedelta(seconds=delay), func, ids, pipeline=pipe, **options)
    for i in ids:
        # The relay leaves a scheduled retry alone until it is due and stale.
        pipe.set(f"{prefix}{i}", 1, ex=delay + _stale_seconds())
    pipe.execute()


def relay(limit: int = 500, min_age_seconds: int = 0, emails: bool = True) -> dict:
    """Re-enqueue pending outbox rows and (unless ``emails`` is off) pending emails whose job
    may be lost: those with no live marker in Redis. Idempotent delivery makes a duplicate
    harmless."""
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
    size = int(_setting("OUTBOX_BATCH_SIZE", DEFAULT_OUTBOX_BATCH))
    by_queue: dict[str, list[int]] = defaultdict(list)
    for outbox_id, topic in rows:
        by_queue[queue_for(topic)].append(outbox_id)
    plan: dict[str, list[tuple]] = {name: [] for name in by_queue}
    for name, ids in by_queue.items():
        plan[name] += [(deliver_batch_job, OUTBOX_MARK, chunk) for chunk in _chunks(ids, size)]
    email_ids = list(pending_emails)
    if email_ids:
        email_size = int(_setting("EMAIL_BATCH_SIZE", DEFAULT_EMAIL_BATCH))
        plan.setdefault("notifications", [])
        plan["notifications"] += [
            (send_emails_job, EMAIL_MARK, chunk) for chunk in _chunks(email_ids, email_size)
        ]
    marks = [(OUTBOX_MARK, [r[0] for r in rows], 0), (EMAIL_MARK, email_ids, 0)]
    free = _enqueue(plan, marks, nx=True)
    _restart_stranded_drainers()
    return {
        "outbox": sum(1 for r in rows if (OUTBOX_MARK, r[0]) in free),
        "emails": sum(1 for i in email_ids if (EMAIL_MARK, i) in free),
    }


def _restart_stranded_drainers() -> None:
    """A queue's id list left with no drainer (one was killed): start one."""
    connection = queue("default").connection
    stale = _stale_seconds()
    pipe = connection.pipeline(transaction=False)
    for name in QUEUES:
        pipe.llen(_drain_keys(name)[0])
    waiting = [name for name, n in zip(QUEUES, pipe.execute(), strict=True) if n]
    started = [name for name in waiting if connection.set(_drain_keys(name)[1], 1, nx=True, ex=stale)]
    if started:
        _enqueue_drainers(connection, started)


@with_app
def relay_job() -> dict:
    return relay()


# --- outbox delivery -----------------------------------------------------------------------


def _lock_pending(ids: list[int]) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
            .with_for_update(skip_locked=True)
        )
    )


def _handle(msg: OutboxMessage, now) -> list:
    """Run the row's handler and mark it done; the notifications it created (rows or ids)."""
    fn = notifications.HANDLERS.get(msg.topic)
    created = (fn(msg) or []) if fn is not None else []
    msg.attempts += 1
    msg.status = "done"
    msg.processed_at = now
    return list(created)


def _ids(created: list) -> list[int]:
    """Ids of created notifications (after the flush; a row dropped as a replay has none)."""
    ids = [n if isinstance(n, int) else n.id for n in created]
    return [i for i in ids if i is not None]


def _emails_now(ids: list[int]) -> list[int]:
    """Of these notifications, those to email at once (urgent, or the user wants no digest)."""
    wanted: list[int] = []
    for chunk in _chunks(sorted(set(ids)), 5000):
        wanted += db.session.scalars(
            select(Notification.id)
            .join(User, User.id == Notification.user_id)
            .where(
                Notification.id.in_(chunk),
                Notification.email_status == "pending",
                (Notification.urgent.is_(True)) | (User.email_digest != "daily"),
            )
            .order_by(Notification.id)
        ).all()
    return wanted


def deliver_batch(ids: list[int], enqueue: bool = True) -> dict:
    """Deliver the pending outbox rows among ``ids``; one commit for the batch.

    Returns ``{"done": [...], "failed": [...], "retry": [...], "skipped": n}``.
    """
    ids = sorted(set(ids))
    outcome: dict = {"done": [], "failed": [], "retry": [], "skipped": 0, "emails": 0}
    if not ids:
        return outcome
    to_email: list[int] = []
    try:
        with unit_of_work(hooks=False):
            msgs = _lock_pending(ids)
            now = utcnow()
            created: list = []
            with notifications.batch(msgs):
                for msg in msgs:
                    created += _handle(msg, now)
            outcome["done"] = [m.id for m in msgs]
            to_email = _emails_now(_ids(created)) if enqueue else []
    except Exception as exc:  # noqa: BLE001 - one row failed: isolate each row and go again
        log.info("outbox batch failed (%s); delivering row by row", exc)
        outcome["done"], to_email = [], []
        _deliver_isolated(ids, outcome, enqueue, to_email)
    outcome["skipped"] = len(ids) - len(outcome["done"]) - len(outcome["failed"]) - len(outcome["retry"])
    retries: dict[int, list[int]] = defaultdict(list)
    for outbox_id, delay in outcome["retry"]:
        retries[delay].append(outbox_id)
    outcome["retry"] = [i for i, _ in outcome["retry"]]
    try:
        for delay, retry_ids in retries.items():
            _schedule_retry(deliver_batch_job, OUTBOX_MARK, retry_ids, delay)
        if to_email:
            outcome["emails"] = enqueue_emails(to_email)
    except Exception as exc:  # noqa: BLE001 - the relay picks pending rows and emails up later
        log.warning("could not enqueue retries or emails (%s); the relay will", exc)
    return outcome


def _deliver_isolated(ids: list[int], outcome: dict, enqueue: bool, to_email: list[int]) -> None:
    """The slow path: a savepoint per row; a failing row is counted, the others delivered."""
    with unit_of_work(hooks=False):
        msgs = _lock_pending(ids)
        now = utcnow()
        emails: list[int] = []
        for msg in msgs:
            try:
                with savepoint():
                    created = _handle(msg, now)
                    db.session.flush()
                emails += _ids(created)
                outcome["done"].append(msg.id)
            except Exception as exc:  # noqa: BLE001 - counted on the row, retried or an incident
                if _record_failure(msg, exc):
                    outcome["failed"].append(msg.id)
                else:
                    outcome["retry"].append((msg.id, _retry_delay(msg.attempts)))
        to_email += _emails_now(emails) if enqueue else []


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


def _record_failure(msg: OutboxMessage, exc: Exception) -> bool:
    """Count a failed delivery; after the last retry the row fails and an incident is recorded."""
    msg.attempts += 1
    msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    exhausted = msg.attempts > len(current_app.config["JOB_RETRY_INTERVALS"])
    if exhausted:
        msg.status = "failed"
        notifications.record_incident(
            "outbox_delivery", "outbox", msg.id, msg.last_error, msg.attempts, unit_of(msg)
        )
    else:
        msg.available_at = utcnow() + timedelta(seconds=_retry_delay(msg.attempts))
    return exhausted


def deliver(outbox_id: int, enqueue: bool = True) -> str:
    """Deliver one outbox row (idempotent: a done row is skipped)."""
    with unit_of_work(hooks=False):
        msg = db.session.get(OutboxMessage, outbox_id)
        status = None if msg is None else msg.status
        fn = None if msg is None else notifications.HANDLERS.get(msg.topic)
    if status != "pending":
        return "skipped"
    outcome = deliver_batch([outbox_id], enqueue=enqueue)
    if outbox_id in outcome["failed"]:
        return "failed"
    if outbox_id in outcome["retry"]:
        return "retry"
    if outbox_id not in outcome["done"]:
        return "skipped"
    return "done" if fn else "no-handler"


@with_app
def drain_outbox_job(queue_name: str) -> int:
    return drain_outbox(queue_name)


@with_app
def deliver_batch_job(ids: list[int]) -> dict:
    outcome = deliver_batch(ids)
    return {k: (len(v) if isinstance(v, list) else v) for k, v in outcome.items()}


@with_app
def deliver_job(outbox_id: int) -> str:
    """One row (jobs enqueued before batches; kept so that they still run)."""
    return deliver(outbox_id)


# --- email ---------------------------------------------------------------------------------


def send_emails(ids: list[int], *, retry: bool = True) -> dict:
    """Send these notifications' emails over one SMTP connection, committing every
    ``EMAIL_COMMIT_EVERY`` (a crash re-sends at most those since the last commit).

    Returns the count per outcome; emails to try again are scheduled (unless ``retry`` is off).
    """
    counts: dict[str, int] = defaultdict(int)
    retries: dict[int, list[int]] = defaultdict(list)
    every = int(_setting("EMAIL_COMMIT_EVERY", DEFAULT_EMAIL_COMMIT_EVERY))
    with mailer.Connection() as connection:
        for chunk in _chunks(list(ids), every):
            try:
                with unit_of_work(hooks=False):
                    outcomes = notifications.email_batch(chunk, send=connection.send)
            except Exception as exc:  # noqa: BLE001 - e.g. the database: the relay retries them
                log.warning("emails for notifications %s…: %s", chunk[:5], exc)
                counts["error"] += len(chunk)
                continue
            if len(outcomes) < len(chunk):
                counts["skipped"] += len(chunk) - len(outcomes)
            for nid, outcome in outcomes.items():
                counts[outcome.status] += 1
                if outcome.status == "retry":
                    retries[_retry_delay(outcome.attempts)].append(nid)
    if retry and retries:
        try:
            for delay, retry_ids in retries.items():
                _schedule_retry(send_emails_job, EMAIL_MARK, retry_ids, delay)
        except Exception as exc:  # noqa: BLE001 - the relay picks pending emails up later
            log.warning("could not schedule email retries (%s); the relay will", exc)
    return dict(counts)


def send_email(notification_id: int) -> str:
    """Send one notification's email in its own unit of work; raise after a failure to retry."""
    with mailer.Connection() as connection:
        with unit_of_work(hooks=False):
            outcome = notifications.email_notification(notification_id, send=connection.send)
    if outcome.status == "retry":
        raise outcome.error
    return outcome.status


def send_digest(user_id: int) -> str:
    with unit_of_work(hooks=False):
        return notifications.email_digest(user_id)


@with_app
def send_emails_job(ids: list[int]) -> dict:
    return send_emails(ids)


@with_app
def send_email_job(notification_id: int) -> str:
    """One email (jobs enqueued before batches; kept so that they still run)."""
    return send_email(notification_id)


@with_app
def send_digest_job(user_id: int) -> str:
    return send_digest(user_id)
