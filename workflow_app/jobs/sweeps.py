"""Periodic sweeps, driven from the database (Redis never holds a deadline).

Each sweep is idempotent: what it did is recorded on the rows it touched (reminder_sent_at,
escalation_level, cycle state, delegation activated/ended), and every outbox row it writes has a
dedupe key tied to the state entry, so a second run sends nothing new.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import DateTime, Integer, and_, bindparam, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased, joinedload

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.clock import ZONE_OFFSETS, end_of_local_day, utcnow
from workflow_app.extensions import db
from workflow_app.models import (
    LADDER_STATES,
    Appraisal,
    Cycle,
    Employee,
    Leave,
    Notification,
    OutboxMessage,
    Unit,
    User,
)
from workflow_app.scoring import NO_TRAINING_PREDIKATS
from workflow_app.services import audit_verify, calendar, monitoring, sla
from workflow_app.services.access import Actor, holder_employee_id, holder_superior_employee_id
from workflow_app.services.appraisals import apply_event
from workflow_app.services.calendar import WorkCalendar
from workflow_app.services.cycles import fire_cycle_event
from workflow_app.services.delegations import activate_due, end_due
from workflow_app.services.guards import OBJECTION_WINDOW_DAYS
from workflow_app.services.snapshots import HR_LABEL, SYSTEM_LABEL
from workflow_app.uow import read_only, savepoint, unit_of_work

log = logging.getLogger(__name__)

# How far ahead the holder's leave is read (as ``deadlines.leave_days``).
LEAVE_HORIZON_DAYS = 400

HELD_STATES = tuple(
    state for role in ("employee", "assessor", "superior", "hr") for state in APPRAISAL.states_held_by(role)
)


def ladder_of(sla_policy: dict | None) -> dict:
    policy = (sla_policy or {}).get("ladder", {})
    return {
        "reminder_days_before": int(policy.get("reminder_days_before", 2)),
        "level2_after_days": int(policy.get("level2_after_days", 5)),
    }


def _skip_locked(query):
    return query.with_for_update(skip_locked=True, of=Appraisal)


_EMPLOYEE = aliased(Employee, name="employee")
_ASSESSOR = aliased(Employee, name="assessor")
_SUPERIOR = aliased(Employee, name="superior")


def _ladder_rows(now: datetime, remind_until: datetime, level2_until: datetime, after, batch: int):
    """The next page of appraisals that may need a ladder step, locked, as plain rows.

    Two statements. The first pages along the ladder's partial index ``(due_at, id)`` on the
    appraisals alone and locks what it finds: only rows due by the latest bound are read, so a
    sweep with nothing due touches no table rows, and a one-table statement is planned in a
    fraction of a millisecond. Only when it finds rows, the second brings everything the step and
    its message need (the unit's zone, the cycle's ladder and calendar, the three people's
    names) for those ids, so no row is loaded through the ORM.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        # psycopg prepares a statement run often; PostgreSQL may then plan it once for any
        # bounds, as if a third of the appraisals were due (a bitmap scan of a third of the
        # index: 40 ms at 1,000,000 with nothing due). Planned for this sweep's bounds, it reads
        # the index range only.
        db.session.execute(_CUSTOM_PLAN)
    ids = db.session.scalars(
        _ladder_ids_statement(),
        {
            "now": now,
            "remind_until": remind_until,
            "level2_until": level2_until,
            "until": max(remind_until, now, level2_until),
            "after_due": after[0],
            "after_id": after[1],
            "batch": batch,
        },
    ).all()
    if not ids:
        return []
    return db.session.execute(_ladder_statement(), {"ids": ids}).all()


# And priced for SSD storage (random_page_cost 1.1, the usual setting there): at the default 4
# the planner prefers a bitmap scan of the (state, due_at) index, which reads every appraisal
# left at level 2 that the ladder's partial index leaves out (11,000 rows to find none at
# 100,000 appraisals); on the ladder index it reads only rows near a step.
_CUSTOM_PLAN = text("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL random_page_cost = 1.1")


@lru_cache(maxsize=1)
def _ladder_ids_statement():
    """Built once: constructing a statement costs more than running it with nothing due."""
    now, remind_until, level2_until = (
        bindparam(name, type_=DateTime) for name in ("now", "remind_until", "level2_until")
    )
    return (
        select(Appraisal.id)
        .where(
            # the index's predicate, so the planner may use it
            Appraisal.state.in_(LADDER_STATES),
            Appraisal.due_at.is_not(None),
            Appraisal.escalation_level < 2,
            Appraisal.due_at <= bindparam("until", type_=DateTime),
            tuple_(Appraisal.due_at, Appraisal.id)
            > tuple_(bindparam("after_due", type_=DateTime), bindparam("after_id", type_=Integer)),
            or_(
                # Supersets from the national calendar; the exact test (cycle calendar, holder's
                # leave) follows per row in Python, so only rows near a step are read.
                and_(
                    Appraisal.escalation_level == 0,
                    Appraisal.reminder_sent_at.is_(None),
                    Appraisal.due_at <= remind_until,
                ),
                and_(Appraisal.escalation_level == 0, Appraisal.due_at <= now),
                and_(Appraisal.escalation_level == 1, Appraisal.due_at <= level2_until),
            ),
        )
        .order_by(Appraisal.due_at, Appraisal.id)
        .limit(bindparam("batch", type_=Integer))
        .with_for_update(skip_locked=True)
    )


@lru_cache(maxsize=1)
def _ladder_statement():
    """What a step and its message need of the locked rows ``ids``, in (due_at, id) order."""
    return (
        select(
            Appraisal.id,
            Appraisal.state,
            Appraisal.due_at,
            Appraisal.state_entered_at,
            Appraisal.escalation_level,
            Appraisal.reminder_sent_at,
            Appraisal.predikat,
            Appraisal.cycle_id,
            Appraisal.employee_id,
            Appraisal.assessor_id,
            Appraisal.superior_id,
            Appraisal.scored_by_employee_id,
            Unit.timezone,
            Cycle.name.label("cycle_name"),
            Cycle.sla_policy,
            _EMPLOYEE.name.label("employee_name"),
            _ASSESSOR.name.label("assessor_name"),
            _SUPERIOR.name.label("superior_name"),
            _SUPERIOR.superior_id.label("superior_superior_id"),
        )
        .join(Unit, Unit.id == Appraisal.unit_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .join(_EMPLOYEE, _EMPLOYEE.id == Appraisal.employee_id)
        .outerjoin(_ASSESSOR, _ASSESSOR.id == Appraisal.assessor_id)
        .outerjoin(_SUPERIOR, _SUPERIOR.id == Appraisal.superior_id)
        .where(Appraisal.id.in_(bindparam("ids", expanding=True)))
        .order_by(Appraisal.due_at, Appraisal.id)
    )


@lru_cache(maxsize=1)
def _open_policies_statement():
    return select(Cycle.sla_policy).where(Cycle.state != "closed")


def escalation_sweep(now: datetime | None = None, batch: int = 2000) -> dict:
    """Reminder at T−2 working days, level 1 at due_at, level 2 five working days later.

    Set-based: per page, one locking SELECT, the exact step of each row computed in Python
    (working-day calendars per cycle, the holders' leave in one query), one UPDATE per kind of
    step and one multi-row outbox INSERT. Its cost grows with the rows near a step, not with
    the number of appraisals.
    """
    now = now or utcnow()
    counts = {"reminder": 0, "escalation_1": 0, "escalation_2": 0}
    remind_until, level2_until = _prefilter_bounds(now)
    after = (datetime.min, 0)
    while True:
        with unit_of_work(hooks=False):  # one page per transaction: locks are held briefly
            rows = _ladder_rows(now, remind_until, level2_until, after, batch)
            if not rows:
                break
            after = (rows[-1].due_at, rows[-1].id)
            steps = _steps(rows, now)
            _record_steps(steps, now)
            for _, step, _ in steps:
                counts[step] += 1
        if len(rows) < batch:
            break
    return counts


def _prefilter_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Latest due_at that may need a reminder now, and that may need level 2 now.

    Computed once per sweep from the national calendar with a day of slack either way (cycle
    calendars and leave only move steps later, except a removed holiday, which the slack
    covers), over the most eager ladder of any cycle with open appraisals.
    """
    policies = [ladder_of(policy) for policy in db.session.scalars(_open_policies_statement()).all()] or [
        ladder_of({})
    ]
    remind_days = max(p["reminder_days_before"] for p in policies)
    level2_days = min(p["level2_after_days"] for p in policies)
    cal = WorkCalendar()
    today = sla.local_date(now, "WIT")  # the zone whose day starts first
    remind_until = end_of_local_day(cal.add_working_days(today, remind_days) + timedelta(days=1), "WIB")
    level2_until = end_of_local_day(cal.subtract_working_days(today, level2_days) + timedelta(days=1), "WIB")
    return remind_until, level2_until


class _Holding(NamedTuple):
    """What ``access`` reads of an appraisal to name its holder and their superior, from a
    sweep row (``superior`` stands for the superior's own row: only its ``superior_id``)."""

    state: str
    employee_id: int
    assessor_id: int | None
    superior_id: int | None
    scored_by_employee_id: int | None
    superior: SimpleNamespace | None


def _holders(row) -> tuple[int | None, int | None]:
    """(holder, the holder's superior) of a sweep row, as ``access`` defines them."""
    holding = _Holding(
        row.state,
        row.employee_id,
        row.assessor_id,
        row.superior_id,
        row.scored_by_employee_id,
        SimpleNamespace(superior_id=row.superior_superior_id) if row.superior_id is not None else None,
    )
    return holder_employee_id(holding), holder_superior_employee_id(holding)


def _leave_by_holder(holders: set[int], start: date, end: date) -> dict[int, list[tuple[date, date]]]:
    """The holders' leave overlapping [start, end], in one query."""
    found: dict[int, list[tuple[date, date]]] = {}
    if not holders:
        return found
    for employee_id, first, last in db.session.execute(
        select(Leave.employee_id, Leave.start_date, Leave.end_date).where(
            Leave.employee_id.in_(holders), Leave.end_date >= start, Leave.start_date <= end
        )
    ):
        found.setdefault(employee_id, []).append((first, last))
    return found


def _steps(rows, now: datetime) -> list[tuple[object, str, tuple[int | None, int | None]]]:
    """The ladder step each row needs now (rows needing none are left out)."""
    holders = {row.id: _holders(row) for row in rows}
    entered = {row.id: sla.local_date(row.state_entered_at, row.timezone) for row in rows}
    leave = _leave_by_holder(
        {h for h, _ in holders.values() if h is not None},
        min(entered.values()),
        max(entered.values()) + timedelta(days=LEAVE_HORIZON_DAYS),
    )
    steps = []
    for row in rows:
        holder = holders[row.id][0]
        start = entered[row.id]
        end = start + timedelta(days=LEAVE_HORIZON_DAYS)
        off = calendar.expand_ranges(
            (max(s, start), min(e, end)) for s, e in leave.get(holder, ()) if e >= start and s <= end
        )
        step = next_step(row, ladder_of(row.sla_policy), calendar.for_cycle(row, off), now)
        if step:
            steps.append((row, step, holders[row.id]))
    return steps


def next_step(row, steps: dict, cal: WorkCalendar, now: datetime) -> str | None:
    """The ladder step an appraisal needs at ``now``, on its cycle's calendar with the holder's leave."""
    zone = row.timezone
    due_day = sla.local_date(row.due_at, zone)
    if row.escalation_level == 0 and now > row.due_at:
        return "escalation_1"
    if row.escalation_level == 0 and row.reminder_sent_at is None:
        remind_on = cal.subtract_working_days(due_day, steps["reminder_days_before"])
        if sla.local_date(now, zone) >= remind_on:
            return "reminder"
    if row.escalation_level == 1:
        level2_at = end_of_local_day(cal.add_working_days(due_day, steps["level2_after_days"]), zone)
        if now > level2_at:
            return "escalation_2"
    return None


def _record_steps(steps: list[tuple[object, str, tuple]], now: datetime) -> None:
    """One UPDATE per kind of step and one multi-row outbox INSERT (a step already recorded for
    this deadline, by its dedupe key, is skipped rather than failing the page)."""
    if not steps:
        return
    table = Appraisal.__table__
    by_step: dict[str, list[int]] = {}
    for row, step, _ in steps:
        by_step.setdefault(step, []).append(row.id)
    if by_step.get("reminder"):
        db.session.execute(
            update(table).where(table.c.id.in_(by_step["reminder"])).values(reminder_sent_at=now)
        )
    if by_step.get("escalation_1"):
        db.session.execute(
            update(table)
            .where(table.c.id.in_(by_step["escalation_1"]))
            .values(escalation_level=1, reminder_sent_at=func.coalesce(table.c.reminder_sent_at, now))
        )
    if by_step.get("escalation_2"):
        db.session.execute(
            update(table).where(table.c.id.in_(by_step["escalation_2"])).values(escalation_level=2)
        )
    _insert_outbox([_message(row, step, people) for row, step, people in steps], now)


def _insert_outbox(messages: list[dict], now: datetime) -> None:
    """The page's outbox rows in one statement; a dedupe key already present is skipped."""
    table = OutboxMessage.__table__
    dialect = db.session.get_bind().dialect.name
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert_(table).on_conflict_do_nothing(index_elements=["dedupe_key"]),
        [{**m, "status": "pending", "attempts": 0, "available_at": now, "created_at": now} for m in messages],
    )


def _message(row, step: str, people: tuple[int | None, int | None]) -> dict:
    holder, boss = people
    names = {
        row.employee_id: row.employee_name,
        row.assessor_id: row.assessor_name,
        row.superior_id: row.superior_name,
    }
    due = row.due_at.isoformat()
    return {
        "topic": f"appraisal.{step}",
        "payload": {
            "appraisal_id": row.id,
            "state": row.state,
            "due_at": due,
            # what snapshots.appraisal_snapshot says of an appraisal, from the row in hand
            "context": {
                "appraisal_id": row.id,
                "cycle_id": row.cycle_id,
                "cycle": row.cycle_name,
                "employee": row.employee_name,
                "state": row.state,
                "due": sla.local_date(row.due_at, row.timezone).isoformat(),
                "predikat": row.predikat,
                "actor": SYSTEM_LABEL,
                "holder": (names.get(holder) if holder is not None else None) or HR_LABEL,
            },
            # who is told: the holder and their superior as of now, not as of delivery
            "holder_employee_id": holder,
            "holder_superior_employee_id": boss,
        },
        # Once per step of one deadline: an extension (a new due date) starts the ladder again.
        "dedupe_key": f"{step}:{row.id}:{row.state}:{row.state_entered_at.isoformat()}:{due}",
    }


def phase_sweep(now: datetime | None = None) -> dict:
    """Cycle phases by date: open mid-year and scoring; open late mid-year reviews; auto-close."""

    now = now or utcnow()
    system = Actor.system()
    done = {"cycles": 0, "midyear_opened": 0, "closed": 0}
    for cycle_id, state in db.session.execute(
        select(Cycle.id, Cycle.state).where(Cycle.state.in_(("planning", "midyear")))
    ).all():
        event = "open_midyear" if state == "planning" else "open_scoring"
        try:
            with unit_of_work(hooks=False):
                fire_cycle_event(system, cycle_id, event, {}, now=now)
            done["cycles"] += 1
        except problems.Problem:
            pass  # not yet: the window has not opened
    for event, where in (
        (
            "open_midyear_review",
            and_(Appraisal.state == "plan_approved", Cycle.state.in_(("midyear", "assessment"))),
        ),
        (
            # Results that need no training close once the right to object is spent: the
            # window has passed (a superset here; the closable guard decides in the unit's
            # zone), or the employee accepted the result.
            "close",
            and_(
                Appraisal.state == "feedback_given",
                Appraisal.predikat.in_(NO_TRAINING_PREDIKATS),
                or_(
                    Appraisal.scored_at <= now - timedelta(days=OBJECTION_WINDOW_DAYS),
                    Appraisal.result_accepted_at.is_not(None),
                ),
            ),
        ),
    ):
        with unit_of_work(hooks=False):
            ids = db.session.scalars(
                select(Appraisal.id).join(Cycle, Cycle.id == Appraisal.cycle_id).where(where).limit(2000)
            ).all()
            for aid in ids:
                a = db.session.scalars(
                    _skip_locked(select(Appraisal).where(Appraisal.id == aid))
                    .options(joinedload(Appraisal.unit), joinedload(Appraisal.cycle))
                    .execution_options(populate_existing=True)
                ).one_or_none()
                if a is None:
                    continue
                try:
                    with savepoint():
                        apply_event(system, a, event, {}, version=None, check_version=False, now=now)
                    done["midyear_opened" if event == "open_midyear_review" else "closed"] += 1
                except problems.Problem:
                    pass  # not closable yet (the guard says why): the next sweep tries again
    return done


def delegation_sweep(now: datetime | None = None) -> dict:

    now = now or utcnow()
    with unit_of_work(hooks=False):
        return {"activated": activate_due(now), "ended": end_due(now)}


def digest_sweep(now: datetime | None = None, hour: int = 7) -> list[int]:
    """Users with a daily digest and pending non-urgent notifications, once per day after 07:00."""

    now = now or utcnow()
    if (now + timedelta(hours=ZONE_OFFSETS["WIB"])).hour < hour:  # the digest goes out by WIB
        return []
    with read_only():
        users = db.session.scalars(
            select(User.id)
            .join(Notification, Notification.user_id == User.id)
            .where(
                User.email_digest == "daily",
                Notification.email_status == "pending",
                Notification.urgent.is_(False),
            )
            .distinct()
        ).all()
    return list(users)


def checkpoint_sweep(now: datetime | None = None) -> dict:
    """Signed checkpoints of every log chain whose head moved (last, to cover this run's rows).

    The copies outside the database are written only once the checkpoints are committed.
    """
    with unit_of_work(hooks=False):
        result, checkpoints = audit_verify.record_checkpoints(now)
    return {**result, "mirrored": audit_verify.mirror(checkpoints)}


def count_sweep(now: datetime | None = None) -> dict:
    """Fold the monitoring counts' deltas and move their clock on (services.monitoring)."""
    with unit_of_work(hooks=False):
        return monitoring.compact_counts(now)


def run_all(now: datetime | None = None) -> dict:
    return {
        "delegations": delegation_sweep(now),
        "phases": phase_sweep(now),
        "escalations": escalation_sweep(now),
        "checkpoints": checkpoint_sweep(now),
        "counts": count_sweep(now),
    }
