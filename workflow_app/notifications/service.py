"""Create notifications from outbox messages and deliver their emails.

Every notification has a dedupe key per event and recipient, so a replayed job creates nothing
new. Emails are sent in batches over one SMTP connection (``jobs.outbox.send_emails``); a
failure is retried with backoff and, after ``EMAIL_MAX_ATTEMPTS``, becomes an incident for HR
instead of being dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import JSON, and_, exists, insert, literal, select
from sqlalchemy.orm import joinedload

from state_machines import APPRAISAL
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import (
    Appraisal,
    Cycle,
    Delegation,
    Incident,
    Notification,
    OutboxMessage,
    RoleAssignment,
    Unit,
    User,
)
from workflow_app.notifications import mailer
from workflow_app.notifications.catalog import KINDS, OTHER_RULES, RULES
from workflow_app.notifications.render import link_for, render, subject_and_body
from workflow_app.services.access import arrangement, holder_employee_id, holder_superior_employee_id
from workflow_app.services.snapshots import (
    appraisal_snapshot,
    cycle_snapshot,
    delegation_snapshot,
    employee_name,
)

log = logging.getLogger(__name__)

# outbox topic -> handler(message) -> the notifications it created (rows or ids), which
# jobs.outbox emails at once when urgent or the user wants no digest
HANDLERS: dict[str, Callable[[OutboxMessage], list[Notification | int] | None]] = {}


def handler(topic: str):
    def register(fn):
        HANDLERS[topic] = fn
        return fn

    return register


# --- a batch of outbox rows ------------------------------------------------------------------


@dataclass
class Batch:
    """What a batch of outbox rows needs, read once for all of them, and what it creates.

    Inside ``batch()`` the handlers find their appraisals and their recipients' accounts here
    instead of querying row by row, and ``notify`` adds its rows without a query or a flush;
    at the end one query drops those whose dedupe key exists already (a replay) and one flush
    inserts the rest.
    """

    appraisals: dict[int, Appraisal] = field(default_factory=dict)
    users: dict[int, list[int]] = field(default_factory=dict)  # employee id -> active user ids
    hr: dict[str, list[int]] = field(default_factory=dict)  # unit path -> HR user ids
    created: list[Notification] = field(default_factory=list)


_local = threading.local()


def _current() -> Batch | None:
    return getattr(_local, "batch", None)


_PERSON_KEYS = ("holder_employee_id", "holder_superior_employee_id", "old_assessor_id", "new_assessor_id")


@contextmanager
def batch(messages: list[OutboxMessage]) -> Iterator[Batch]:
    """Run the handlers of ``messages`` in one batch (see ``Batch``); the caller commits."""
    state = Batch()
    payloads = [m.payload or {} for m in messages]
    appraisal_ids = sorted({p["appraisal_id"] for p in payloads if p.get("appraisal_id")})
    if appraisal_ids:
        state.appraisals = {
            a.id: a
            for a in db.session.scalars(
                select(Appraisal)
                .where(Appraisal.id.in_(appraisal_ids))
                .options(
                    joinedload(Appraisal.unit),
                    joinedload(Appraisal.cycle),
                    joinedload(Appraisal.employee),
                    joinedload(Appraisal.superior),
                )
            ).unique()
        }
    people: set[int] = set()
    for a in state.appraisals.values():
        people.update((a.employee_id, a.assessor_id, a.superior_id))
        if a.superior is not None:
            people.add(a.superior.superior_id)
    for p in payloads:
        people.update(p.get(k) for k in _PERSON_KEYS)
    people.discard(None)
    if people:
        state.users = {e: [] for e in people}
        for employee_id, user_id in db.session.execute(
            select(User.employee_id, User.id).where(User.employee_id.in_(people), User.active.is_(True))
        ):
            state.users[employee_id].append(user_id)
    _local.batch = state
    try:
        with db.session.no_autoflush:
            yield state
        _insert_created(state)
    finally:
        _local.batch = None


def _insert_created(state: Batch) -> None:
    """Drop the batch's notifications whose dedupe key is taken; insert the rest in one flush."""
    keys = [n.dedupe_key for n in state.created]
    taken: set[str] = set()
    for start in range(0, len(keys), 5000):
        taken.update(
            db.session.scalars(
                select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys[start : start + 5000]))
            )
        )
    kept = []
    for n in state.created:
        if n.dedupe_key in taken:
            db.session.expunge(n)
            continue
        taken.add(n.dedupe_key)
        kept.append(n)
    state.created = kept
    db.session.flush()


# --- recipients ------------------------------------------------------------------------------


def hr_user_ids(unit_path: str) -> list[int]:
    """HR users whose scope contains the unit."""
    state = _current()
    if state is not None:
        if unit_path not in state.hr:
            state.hr[unit_path] = _hr_user_ids(unit_path)
        return list(state.hr[unit_path])
    return _hr_user_ids(unit_path)


def _hr_user_ids(unit_path: str) -> list[int]:
    return list(
        db.session.scalars(
            select(RoleAssignment.user_id)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .join(User, User.id == RoleAssignment.user_id)
            .where(
                RoleAssignment.role == "hr", User.active.is_(True), literal(unit_path).startswith(Unit.path)
            )
            .distinct()
        )
    )


def users_of(employee_ids: Iterable[int | None]) -> list[int]:
    ids = [e for e in employee_ids if e is not None]
    if not ids:
        return []
    state = _current()
    if state is not None and all(e in state.users for e in ids):
        return [u for e in dict.fromkeys(ids) for u in state.users[e]]
    return list(db.session.scalars(select(User.id).where(User.employee_id.in_(ids), User.active.is_(True))))


def recipients(appraisal: Appraisal, relation: str, extra: dict | None = None) -> list[int]:
    """User ids for a relation to the appraisal; a missing person falls back to HR in scope.

    The relations follow the separation of duties (``access.arrangement``): a slot that would
    make someone judge their own appraisal is vacant, and HR receives its messages.
    """
    extra = extra or {}
    if relation == "hr":
        return hr_user_ids(appraisal.unit.path)
    employee, assessor, superior = arrangement(appraisal)
    employee_id = {
        "employee": employee,
        "assessor": assessor,
        "superior": superior,
        # who held it when the event happened (a sweep names them), else who holds it now
        "holder": extra["holder_employee_id"]
        if "holder_employee_id" in extra
        else holder_employee_id(appraisal),
        "holder_superior": extra["holder_superior_employee_id"]
        if "holder_superior_employee_id" in extra
        else holder_superior_employee_id(appraisal),
        "old_assessor": extra.get("old_assessor_id"),
        "new_assessor": extra.get("new_assessor_id"),
    }.get(relation)
    if employee_id is None:
        holder_role = APPRAISAL.holder_of(extra.get("state", appraisal.state))
        if relation in ("assessor", "superior") or (relation == "holder" and holder_role in ("hr", "system")):
            return hr_user_ids(appraisal.unit.path)
        return []
    return users_of([employee_id])


# --- creating notifications ------------------------------------------------------------------


def notify(
    kind: str,
    user_ids: Iterable[int],
    context: dict,
    dedupe_base: str,
    *,
    appraisal_id: int | None = None,
    cycle_id: int | None = None,
    exclude_user_id: int | None = None,
) -> list[Notification]:
    """Create one notification per recipient unless its dedupe key exists already."""
    wanted = {uid: f"{dedupe_base}:{kind}:{uid}" for uid in dict.fromkeys(user_ids) if uid != exclude_user_id}
    if not wanted:
        return []

    def new(uid: int, key: str, now) -> Notification:
        # email fields set here, not left to the column defaults: a batch reads them before its flush
        return Notification(
            user_id=uid,
            kind=kind,
            appraisal_id=appraisal_id,
            cycle_id=cycle_id,
            urgent=KINDS[kind].urgent,
            context=context,
            dedupe_key=key,
            created_at=now,
            email_status="pending",
            email_attempts=0,
        )

    state = _current()
    if state is not None:  # checked and inserted with the whole batch (``batch``)
        now = utcnow()
        rows = [new(uid, key, now) for uid, key in wanted.items()]
        db.session.add_all(rows)
        state.created += rows
        return rows
    taken = set(
        db.session.scalars(
            select(Notification.dedupe_key).where(Notification.dedupe_key.in_(wanted.values()))
        )
    )
    now = utcnow()
    created = [new(uid, key, now) for uid, key in wanted.items() if key not in taken]
    db.session.add_all(created)
    db.session.flush()
    return created


def _load_appraisal(appraisal_id: int) -> Appraisal | None:
    state = _current()
    if state is not None and appraisal_id in state.appraisals:
        return state.appraisals[appraisal_id]
    return db.session.scalars(
        select(Appraisal)
        .where(Appraisal.id == appraisal_id)
        .options(
            joinedload(Appraisal.unit),
            joinedload(Appraisal.cycle),
            joinedload(Appraisal.employee),
            joinedload(Appraisal.superior),
        )
    ).one_or_none()


@handler("appraisal.transitioned")
def on_transition(msg: OutboxMessage) -> list[Notification]:
    p = msg.payload
    appraisal = _load_appraisal(p["appraisal_id"])
    if appraisal is None:
        return []
    # What the message says was fixed with the event (services.snapshots); the recipients are
    # the people related to the appraisal when it is delivered.
    context = p.get("context") or appraisal_snapshot(appraisal, actor_user_id=p.get("actor_user_id"))
    created: list[Notification] = []
    for kind, relations in RULES.get(p["event"], []):
        users: list[int] = []
        for relation in relations:
            users += recipients(appraisal, relation)
        created += notify(
            kind,
            users,
            context,
            msg.dedupe_key,
            appraisal_id=appraisal.id,
            cycle_id=appraisal.cycle_id,
            exclude_user_id=p.get("actor_user_id"),
        )
    return created


def _on_appraisal_topic(msg: OutboxMessage) -> list[Notification]:
    kind, relations = OTHER_RULES[msg.topic]
    appraisal = _load_appraisal(msg.payload["appraisal_id"])
    if appraisal is None:
        return []
    extra = msg.payload
    context = extra.get("context") or appraisal_snapshot(
        appraisal,
        comment=extra.get("reason"),
        old_assessor=employee_name(extra.get("old_assessor_id")),
        new_assessor=employee_name(extra.get("new_assessor_id")),
    )
    users: list[int] = []
    for relation in relations:
        users += recipients(appraisal, relation, extra)
    return notify(
        kind, users, context, msg.dedupe_key, appraisal_id=appraisal.id, cycle_id=appraisal.cycle_id
    )


for _topic in (
    "appraisal.reminder",
    "appraisal.escalation_1",
    "appraisal.escalation_2",
    "appraisal.reassigned",
):
    handler(_topic)(_on_appraisal_topic)


@handler("cycle.launch")
def on_cycle_launch(msg: OutboxMessage) -> list[int]:
    """Tell every employee of the cycle that it started: one set-based INSERT … SELECT."""
    cycle = db.session.get(Cycle, msg.payload["cycle_id"])
    if cycle is None:
        return []
    context = msg.payload.get("context") or cycle_snapshot(cycle)
    key = literal("cycle_launched:") + Appraisal.id.cast(db.String) + literal(":") + User.id.cast(db.String)
    already = exists().where(Notification.dedupe_key == key)
    now = utcnow()
    source = (
        select(
            User.id,
            literal("cycle_launched"),
            Appraisal.id,
            literal(cycle.id),
            literal(False),
            literal(context, JSON),
            key,
            literal(now),
            literal("pending"),
            literal(0),
        )
        .select_from(Appraisal)
        .join(User, and_(User.employee_id == Appraisal.employee_id, User.active.is_(True)))
        .where(Appraisal.cycle_id == cycle.id, ~already)
    )
    columns = [
        "user_id",
        "kind",
        "appraisal_id",
        "cycle_id",
        "urgent",
        "context",
        "dedupe_key",
        "created_at",
        "email_status",
        "email_attempts",
    ]
    created = db.session.connection().execute(
        insert(Notification.__table__).from_select(columns, source).returning(Notification.__table__.c.id)
    )
    # Non-urgent: the delivery emails those whose users want no digest at once (in batches);
    # daily-digest users have them in their digest.
    return list(created.scalars())


@handler("delegation.started")
@handler("delegation.ended")
def on_delegation(msg: OutboxMessage) -> list[Notification]:
    delegation = db.session.get(Delegation, msg.payload["delegation_id"])
    if delegation is None:
        return []
    kind, relations = OTHER_RULES[msg.topic]
    context = msg.payload.get("context") or delegation_snapshot(delegation)
    people = {"delegate": delegation.delegate_id, "delegator": delegation.delegator_id}
    users = users_of(people[r] for r in relations)
    return notify(kind, users, context, msg.dedupe_key)


# --- email -----------------------------------------------------------------------------------


def wants_email_now(notification: Notification) -> bool:
    return notification.urgent or notification.user.email_digest != "daily"


@dataclass
class EmailOutcome:
    status: str  # sent | skipped | no-address | failed | retry
    error: Exception | None = None
    attempts: int = 0


def email_notification(notification_id: int, send: Callable | None = None) -> EmailOutcome:
    """Send one notification's email and record the attempt; the job's unit of work commits.

    ``send`` delivers the message (a batch passes its open SMTP connection's; by default a
    session of its own). Idempotent (a row that is no longer pending, or that another sender
    has sent meanwhile, is skipped). A failure is counted on the row;
    ``retry`` tells the caller to try again later, and after ``EMAIL_MAX_ATTEMPTS`` the row
    fails and an incident is recorded for HR instead.
    """
    n = db.session.scalar(
        select(Notification)
        .where(Notification.id == notification_id)
        .options(joinedload(Notification.user).joinedload(User.employee))
        .with_for_update(of=Notification)
    )
    return _email_one(n, send)


def email_batch(notification_ids: list[int], send: Callable) -> dict[int, EmailOutcome]:
    """``email_notification`` for many, locked in one query and sent with ``send`` (one SMTP
    connection); the caller's unit of work commits them together. An id not pending (sent,
    failed, in a digest) is left out."""
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.id.in_(notification_ids), Notification.email_status == "pending")
        .options(joinedload(Notification.user).joinedload(User.employee))
        .order_by(Notification.id)
        .with_for_update(of=Notification)
    ).all()
    return {n.id: _email_one(n, send) for n in rows}


def _email_one(n: Notification | None, send: Callable | None) -> EmailOutcome:
    if n is None or n.email_status != "pending":
        return EmailOutcome("skipped")
    address = n.user.employee.email if n.user.employee else None
    if not address:
        n.email_status = "skipped"
        return EmailOutcome("no-address")
    name = n.user.employee.name if n.user.employee else n.user.username
    message = render(n.kind, n.context, n.user.locale, name)
    msg = mailer.build_message(address, message.subject, message.text, message.html, n.dedupe_key)
    n.email_attempts += 1
    try:
        (send or mailer.send)(msg)
    except Exception as exc:  # noqa: BLE001 - every SMTP/network failure counts as an attempt
        n.email_error = f"{type(exc).__name__}: {exc}"[:2000]
        if n.email_attempts < current_app.config["EMAIL_MAX_ATTEMPTS"]:
            return EmailOutcome("retry", exc, n.email_attempts)
        n.email_status = "failed"
        record_incident("email_delivery", "notification", n.id, n.email_error, n.email_attempts, _unit_of(n))
        log.error("email for notification %s failed %s times: incident recorded", n.id, n.email_attempts)
        return EmailOutcome("failed", exc, n.email_attempts)
    n.email_status = "sent"
    n.email_sent_at = utcnow()
    n.email_error = None
    return EmailOutcome("sent", None, n.email_attempts)


def _unit_of(n: Notification) -> int | None:
    if n.appraisal_id:
        return db.session.scalar(select(Appraisal.unit_id).where(Appraisal.id == n.appraisal_id))
    return None


def record_incident(
    kind: str, ref_type: str, ref_id: int, error: str, attempts: int, unit_id: int | None
) -> Incident:
    open_one = db.session.scalar(
        select(Incident).where(
            Incident.kind == kind,
            Incident.ref_type == ref_type,
            Incident.ref_id == ref_id,
            Incident.resolved_at.is_(None),
        )
    )
    if open_one is not None:
        open_one.error, open_one.attempts = error, attempts
        return open_one
    incident = Incident(
        kind=kind, ref_type=ref_type, ref_id=ref_id, error=error, attempts=attempts, unit_id=unit_id
    )
    db.session.add(incident)
    return incident


def email_digest(user_id: int) -> str:
    """One email with every pending non-urgent notification of a daily-digest user (no commit)."""
    user = db.session.get(User, user_id)
    rows = db.session.scalars(
        select(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.email_status == "pending",
            Notification.urgent.is_(False),
        )
        .order_by(Notification.id)
        .with_for_update()
    ).all()
    if user is None or not rows:
        return "empty"
    address = user.employee.email if user.employee else None
    if not address:
        for n in rows:
            n.email_status = "skipped"
        return "no-address"
    items = []
    for n in rows:
        subject, body = subject_and_body(n.kind, n.context, user.locale)
        items.append({"subject": subject, "body": body, "link": link_for(n.context)})
    message = render("digest", {"count": len(rows)}, user.locale, user.employee.name, items=items)
    day = utcnow().date().isoformat()
    mailer.send(
        mailer.build_message(address, message.subject, message.text, message.html, f"digest:{user_id}:{day}")
    )
    now = utcnow()
    for n in rows:
        n.email_status = "digest"
        n.email_sent_at = now
        n.email_attempts += 1
    return "sent"
