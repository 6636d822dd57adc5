"""Periodic sweeps, driven from the database (Redis never holds a deadline).

Each sweep is idempotent: what it did is recorded on the rows it touched (reminder_sent_at,
escalation_level, cycle state, delegation activated/ended), and every outbox row it writes has a
dedupe key tied to the state entry, so a second run sends nothing new.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, tuple_, update
from sqlalchemy.orm import joinedload

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.clock import ZONE_OFFSETS, end_of_local_day, utcnow
from workflow_app.extensions import db
from workflow_app.models import LADDER_STATES, Appraisal, Cycle, Notification, User
from workflow_app.scoring import NO_TRAINING_PREDIKATS
from workflow_app.services import audit, audit_verify, monitoring, sla
from workflow_app.services.access import Actor, holder_employee_id, holder_superior_employee_id
from workflow_app.services.appraisals import apply_event
from workflow_app.services.calendar import WorkCalendar
from workflow_app.services.cycles import fire_cycle_event
from workflow_app.services.deadlines import calendar_for
from workflow_app.services.delegations import activate_due, end_due
from workflow_app.services.guards import OBJECTION_WINDOW_DAYS
from workflow_app.services.snapshots import appraisal_snapshot
from workflow_app.uow import read_only, savepoint, unit_of_work

log = logging.getLogger(__name__)

HELD_STATES = tuple(
    state for role in ("employee", "assessor", "superior", "hr") for state in APPRAISAL.states_held_by(role)
)


def ladder(cycle: Cycle) -> dict:
    policy = (cycle.sla_policy or {}).get("ladder", {})
    return {
        "reminder_days_before": int(policy.get("reminder_days_before", 2)),
        "level2_after_days": int(policy.get("level2_after_days", 5)),
    }


def _skip_locked(query):
    return query.with_for_update(skip_locked=True, of=Appraisal)


def escalation_sweep(now: datetime | None = None, batch: int = 500) -> dict:
    """Reminder at T−2 working days, level 1 at due_at, level 2 five working days later."""
    now = now or utcnow()
    counts = {"reminder": 0, "escalation_1": 0, "escalation_2": 0}
    remind_until, level2_until = _prefilter_bounds(now)
    # Keyset paging along the ladder's partial index (due_at, id): only rows due by the latest
    # bound are read, so a sweep with nothing due touches no table rows at all.
    after = (datetime.min, 0)
    while True:
        with unit_of_work(hooks=False):  # one batch per transaction: locks are held briefly
            rows = db.session.scalars(
                _skip_locked(
                    select(Appraisal)
                    .where(
                        # the index's predicate, so the planner may use it
                        Appraisal.state.in_(LADDER_STATES),
                        Appraisal.due_at.is_not(None),
                        Appraisal.escalation_level < 2,
                        Appraisal.due_at <= max(remind_until, now, level2_until),
                        tuple_(Appraisal.due_at, Appraisal.id) > after,
                        or_(
                            # Supersets from the national calendar; the exact test (cycle calendar,
                            # holder's leave) follows per row, so only rows near a step are read.
                            and_(
                                Appraisal.escalation_level == 0,
                                Appraisal.reminder_sent_at.is_(None),
                                Appraisal.due_at <= remind_until,
                            ),
                            and_(Appraisal.escalation_level == 0, Appraisal.due_at <= now),
                            and_(Appraisal.escalation_level == 1, Appraisal.due_at <= level2_until),
                        ),
                    )
                    # the message snapshot names the employee and the holder: load them here
                    .options(
                        joinedload(Appraisal.unit),
                        joinedload(Appraisal.cycle),
                        joinedload(Appraisal.employee),
                        joinedload(Appraisal.assessor),
                        joinedload(Appraisal.superior),
                    )
                    .order_by(Appraisal.due_at, Appraisal.id)
                    .limit(batch)
                )
            ).all()
            if not rows:
                break
            after = (rows[-1].due_at, rows[-1].id)
            for a in rows:
                step = _next_step(a, now)
                if step:
                    _record_step(a, step, now)
                    counts[step] += 1
    return counts


def _prefilter_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Latest due_at that may need a reminder now, and that may need level 2 now.

    Computed once per sweep from the national calendar with a day of slack either way (cycle
    calendars and leave only move steps later, except a removed holiday, which the slack
    covers), over the most eager ladder of any cycle with open appraisals.
    """
    policies = [
        ladder(c) for c in db.session.scalars(select(Cycle).where(Cycle.state != "closed")).all()
    ] or [ladder(Cycle(sla_policy={}))]
    remind_days = max(p["reminder_days_before"] for p in policies)
    level2_days = min(p["level2_after_days"] for p in policies)
    cal = WorkCalendar()
    today = sla.local_date(now, "WIT")  # the zone whose day starts first
    remind_until = end_of_local_day(cal.add_working_days(today, remind_days) + timedelta(days=1), "WIB")
    level2_until = end_of_local_day(cal.subtract_working_days(today, level2_days) + timedelta(days=1), "WIB")
    return remind_until, level2_until


def _next_step(a: Appraisal, now: datetime) -> str | None:
    zone = a.unit.timezone
    steps = ladder(a.cycle)
    due_day = sla.local_date(a.due_at, zone)
    cal = calendar_for(a, sla.local_date(a.state_entered_at, zone))
    if a.escalation_level == 0 and now > a.due_at:
        return "escalation_1"
    if a.escalation_level == 0 and a.reminder_sent_at is None:
        remind_on = cal.subtract_working_days(due_day, steps["reminder_days_before"])
        if sla.local_date(now, zone) >= remind_on:
            return "reminder"
    if a.escalation_level == 1:
        level2_at = end_of_local_day(cal.add_working_days(due_day, steps["level2_after_days"]), zone)
        if now > level2_at:
            return "escalation_2"
    return None


def _record_step(a: Appraisal, step: str, now: datetime) -> None:
    values = {"reminder_sent_at": now} if step == "reminder" else {"escalation_level": int(step[-1])}
    if step == "escalation_1" and a.reminder_sent_at is None:
        values["reminder_sent_at"] = now
    db.session.execute(update(Appraisal.__table__).where(Appraisal.id == a.id).values(**values))
    audit.outbox(
        f"appraisal.{step}",
        {
            "appraisal_id": a.id,
            "state": a.state,
            "due_at": a.due_at.isoformat(),
            "context": appraisal_snapshot(a),
            # who is told: the holder and their superior as of now, not as of delivery
            "holder_employee_id": holder_employee_id(a),
            "holder_superior_employee_id": holder_superior_employee_id(a),
        },
        # Once per step of one deadline: an extension (a new due date) starts the ladder again.
        dedupe_key=f"{step}:{a.id}:{a.state}:{a.state_entered_at.isoformat()}:{a.due_at.isoformat()}",
        at=now,
    )


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
