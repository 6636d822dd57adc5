"""The read model: what front doors show, computed once, as plain dicts.

Every page and API response about appraisals and cycles is built here — the events the caller
may fire, who holds an item, whether it is overdue, how long it has idled, the labels — so no
handler or template computes them and nothing is attached to ORM rows for presentation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from state_machines import APPRAISAL, CYCLE
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Cycle, Delegation, Employee, Unit
from workflow_app.services import appraisals, calendar, cycles, delegations, guards, monitoring, sla
from workflow_app.services.access import Actor, appraisal_relations, holder_employee_id


def person(e: Employee | None) -> dict | None:
    return None if e is None else {"id": e.id, "nip": e.nip, "name": e.name}


def unit_ref(u: Unit) -> dict:
    return {"id": u.id, "code": u.code, "name": u.name, "timezone": u.timezone}


def holder(a: Appraisal) -> dict:
    """Who the appraisal waits on, as role and person (a vacant slot is held by HR)."""
    role = APPRAISAL.holder_of(a.state)
    employee_id = holder_employee_id(a)
    people = {e.id: e for e in (a.employee, a.assessor, a.superior) if e is not None}
    who = people.get(employee_id)
    return {"role": role, "employee_id": employee_id, "name": who.name if who else None}


def appraisal_row(
    actor: Actor, a: Appraisal, now: datetime | None = None, relations: frozenset[str] | None = None
) -> dict:
    now = now or utcnow()
    state = APPRAISAL.states[a.state]
    if relations is None:
        relations = appraisal_relations(actor, a)
    return {
        "id": a.id,
        "cycle_id": a.cycle_id,
        "employee": person(a.employee),
        "unit": unit_ref(a.unit),
        "assessor": person(a.assessor),
        "superior": person(a.superior),
        "position": a.position,
        "state": a.state,
        "state_label": state.label,
        "holder": state.holder,
        "version": a.version,
        "state_entered_at": a.state_entered_at,
        "due_at": a.due_at,
        "overdue": APPRAISAL.is_overdue(a.state, a.due_at, now),
        "escalation_level": a.escalation_level,
        "rating_hasil_kerja": a.rating_hasil_kerja,
        "rating_perilaku": a.rating_perilaku,
        "predikat": a.predikat,
        "machine_version": a.machine_version,
        "scoring_scheme": a.scoring_scheme,
        "scoring_version": a.scoring_version,
        "allowed_events": APPRAISAL.allowed_events(a.state, relations),
    }


def appraisal_detail(actor: Actor, appraisal_id: int) -> dict:
    """One appraisal with its plan, trainings, objection and what the caller may do."""
    a = (
        db.session.scalars(
            select(Appraisal)
            .where(Appraisal.id == appraisal_id)
            .options(*appraisals.detail_options())
            # read what was just committed, not what this session remembers
            .execution_options(populate_existing=True)
        )
        .unique()
        .one_or_none()
    )
    relations = appraisal_relations(actor, a) if a is not None else frozenset()
    if not relations:
        raise problems.not_found("appraisal")  # never leaking existence
    row = appraisal_row(actor, a, relations=relations)
    objection = a.objections[-1] if a.objections else None
    row.update(
        plan_items=list(a.plan_items),
        behaviours={b.value: b.expectation for b in a.behaviours},
        trainings=list(a.trainings),
        objection=objection,
        score_justification=a.score_justification,
        scored_at=a.scored_at,
        result_accepted_at=a.result_accepted_at,
        objection_deadline=guards.objection_deadline(a.scored_at, a.unit.timezone),
        midyear_feedback=a.midyear_feedback,
        feedback=a.feedback,
        relations=sorted(relations),
    )
    return row


def _rows(actor: Actor, rows) -> list[dict]:
    now = utcnow()
    return [appraisal_row(actor, a, now) for a in rows]


def appraisal_page(actor: Actor, filters: dict, page: int, per_page: int) -> dict:
    rows, total = appraisals.list_appraisals(actor, filters, page, per_page)
    return {"items": _rows(actor, rows), "page": page, "per_page": per_page, "total": total}


def inbox(actor: Actor) -> list[dict]:
    """What waits on the caller, overdue (oldest due) first."""
    return _rows(actor, appraisals.tasks(actor))


def stuck_page(actor: Actor, filters: dict, page: int, per_page: int) -> dict:
    rows, total, idle_days = monitoring.stuck(actor, filters, page, per_page)
    now = utcnow()
    items = []
    for a in rows:
        row = appraisal_row(actor, a, now)
        row.update(held_by=holder(a), idle_days=(now - a.state_entered_at).days)
        items.append(row)
    return {"items": items, "page": page, "per_page": per_page, "total": total, "idle_days": idle_days}


def cycle_view(actor: Actor, cycle: Cycle) -> dict:
    data = {c.key: getattr(cycle, c.key) for c in Cycle.__table__.columns}
    data["allowed_events"] = CYCLE.allowed_events(cycle.state, cycles.cycle_relations(actor, cycle))
    return data


def delegation_view(d: Delegation, *, with_exceptions: bool = False) -> dict:
    data = {c.key: getattr(d, c.key) for c in Delegation.__table__.columns}
    data.update(delegator=d.delegator.name, delegate=d.delegate.name)
    if with_exceptions:
        data["exceptions"] = delegations.exceptions(d)
    return data


def inbox_with_deadlines(actor: Actor, now: datetime | None = None) -> list[dict]:
    """The inbox (``inbox``), each row with the working days left to its due date.

    Working days follow the cycle's calendar (weekends, national holidays, cuti bersama and
    the cycle's own additions); the holder's leave has already moved ``due_at`` itself.
    """
    now = now or utcnow()
    rows = []
    for a in appraisals.tasks(actor):
        row = appraisal_row(actor, a, now)
        zone = a.unit.timezone
        row["working_days_left"] = sla.working_days_left(a.due_at, zone, calendar.for_cycle(a.cycle), now)
        rows.append(row)
    return rows


# --- the appraisal page of the web UI -----------------------------------------------------------


def next_steps(state: str, relations) -> list[dict]:
    """What may happen next from ``state``, read from the definition: each event with its label,
    the state it leads to, the roles that fire it and whether the caller holds one of them
    (guards are not evaluated: they are checked when the event is fired)."""
    relations = frozenset(relations)
    return [
        {
            "event": t.event,
            "label": t.label,
            "to": t.target(state),
            "roles": list(t.roles),
            "yours": bool(relations.intersection(t.roles)),
        }
        for t in APPRAISAL.events_from(state)
    ]


def appraisal_history(actor: Actor, appraisal_id: int) -> list[dict]:
    """Every step of the appraisal's log, oldest first, with the people named (404 as the detail)."""
    from workflow_app.models import User

    rows = appraisals.history(actor, appraisal_id)
    ids = {r.actor_user_id for r in rows} | {r.on_behalf_of_user_id for r in rows}
    ids.discard(None)
    names: dict[int, str] = {}
    if ids:
        names = dict(
            db.session.execute(
                select(User.id, Employee.name)
                .join(Employee, Employee.id == User.employee_id)
                .where(User.id.in_(ids))
            ).all()
        )

    def who(user) -> str | None:
        return None if user is None else names.get(user.id) or user.username

    return [
        {
            "seq": r.seq,
            "event": r.event,
            "transition": r.event in APPRAISAL.transitions,
            "from_state": r.from_state,
            "to_state": r.to_state,
            "actor": who(r.actor),
            "actor_role": r.actor_role,
            "on_behalf_of": who(r.on_behalf_of),
            "comment": r.comment,
            "payload": r.payload or {},
            "at": r.created_at,
        }
        for r in rows
    ]


def appraisal_overview(actor: Actor, appraisal_id: int) -> dict:
    """The detail (``appraisal_detail``) with what the appraisal page adds: who holds it, the
    cycle, what comes next, and which edits besides events the caller may make (the services
    authorise each one again)."""
    row = appraisal_detail(actor, appraisal_id)
    a = db.session.get(Appraisal, appraisal_id)  # loaded by appraisal_detail: no query
    relations = frozenset(row["relations"])
    editor = bool(relations & appraisals.PLAN_EDITORS)
    training_statuses = []
    if a.state == "training_assigned":
        training_statuses = [
            s for s, role in (("completed", "employee"), ("recorded", "hr")) if role in relations
        ]
    row.update(
        held_by=holder(a),
        cycle={"id": a.cycle.id, "name": a.cycle.name, "year": a.cycle.year},
        next_steps=next_steps(a.state, relations),
        may_edit_plan=editor and a.state == "plan_drafted",
        progress_column=appraisals.PROGRESS_COLUMNS.get(a.state) if editor else None,
        training_statuses=training_statuses,
    )
    return row
