"""Deadlines that depend on people: the holder of an appraisal, their leave, and due_at."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update

from state_machines import APPRAISAL
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Leave
from workflow_app.services import calendar, sla
from workflow_app.services.access import holder_employee_id


def leave_days(employee_id: int | None, start: date, horizon_days: int = 400) -> frozenset[date]:
    if employee_id is None:
        return frozenset()
    end = start + timedelta(days=horizon_days)
    # No autoflush: this runs in the middle of a transition, whose row must be written once.
    with db.session.no_autoflush:
        ranges = db.session.execute(
            select(Leave.start_date, Leave.end_date).where(
                Leave.employee_id == employee_id, Leave.end_date >= start, Leave.start_date <= end
            )
        ).all()
    # Clip to the horizon: a leave of years expands to at most the days that matter.
    return calendar.expand_ranges((max(s, start), min(e, end)) for s, e in ranges)


def calendar_for(
    appraisal: Appraisal, entered: date, leave: frozenset[date] | None = None
) -> calendar.WorkCalendar:
    """The cycle's calendar with the holder's leave as days off (``leave``: already known)."""
    if leave is None:
        leave = leave_days(holder_employee_id(appraisal), entered)
    return calendar.for_cycle(appraisal.cycle, leave)


def set_due(
    appraisal: Appraisal,
    rule: dict | None,
    fields: dict,
    now: datetime,
    *,
    leave: frozenset[date] | None = None,
) -> None:
    """Resolve the SLA of the state just entered and set due_at (the holder's leave pauses it).

    ``leave``: the holder's days off when the caller knows them already (an empty set when
    nobody involved has leave recorded); None to query them."""
    days, until = sla.resolve_rule(rule, appraisal.cycle, fields)
    appraisal.sla_working_days, appraisal.sla_until = days, until
    zone = appraisal.unit.timezone
    entered = sla.local_date(now, zone)
    appraisal.due_at = sla.due_at(now, zone, days, until, calendar_for(appraisal, entered, leave))


def recompute_due_for_holder(employee_id: int) -> int:
    """After leave changes: recompute due_at of the open appraisals this employee holds."""
    holder_clauses = []
    for role, column in (
        ("employee", Appraisal.employee_id),
        ("assessor", Appraisal.assessor_id),
        ("superior", Appraisal.superior_id),
    ):
        states = APPRAISAL.states_held_by(role)
        holder_clauses.append((column == employee_id) & Appraisal.state.in_(states))
    rows = db.session.scalars(select(Appraisal).where(or_(*holder_clauses))).all()
    changed = 0
    for a in rows:
        if a.sla_working_days is None and a.sla_until is None:
            continue
        zone = a.unit.timezone
        entered = sla.local_date(a.state_entered_at, zone)
        new_due = sla.due_at(
            a.state_entered_at, zone, a.sla_working_days, a.sla_until, calendar_for(a, entered)
        )
        if new_due != a.due_at:
            # Core UPDATE: a moved deadline is not an edit the holder must reload for.
            db.session.execute(update(Appraisal.__table__).where(Appraisal.id == a.id).values(due_at=new_due))
            changed += 1
    db.session.expire_all()
    return changed
