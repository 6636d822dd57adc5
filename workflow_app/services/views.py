"""The read model: what front doors show, computed once, as plain dicts.

Every page and API response about appraisals and cycles is built here — the events the caller
may fire, who holds an item, whether it is overdue, how long it has idled, the labels — so no
handler or template computes them and nothing is attached to ORM rows for presentation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from state_machines import APPRAISAL, CYCLE
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Appraisal, Cycle, Delegation, Employee, TransitionLog, Unit, User
from workflow_app.services import (
    appraisals,
    calendar,
    cycles,
    delegations,
    guards,
    incidents,
    interventions,
    monitoring,
    sla,
)
from workflow_app.services.access import Actor, appraisal_relations, holder_employee_id
from workflow_app.services.sla import local_date


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
    row = appraisal_answer(actor, a, relations)
    row.update(
        plan_items=list(a.plan_items),
        behaviours={b.value: b.expectation for b in a.behaviours},
        trainings=list(a.trainings),
        objection=a.objections[-1] if a.objections else None,
    )
    return row


def appraisal_answer(actor: Actor, a: Appraisal, relations: frozenset[str]) -> dict:
    """An appraisal's list row with its ratings, feedback and the caller's relations: what an
    event answers (from the row it changed) and the detail adds its collections to."""
    row = appraisal_row(actor, a, relations=relations)
    row.update(
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
    """A page of the stuck list; ``total`` counts up to ``monitoring.STUCK_COUNT_LIMIT`` and
    ``total_capped`` says there are more."""
    rows, total, idle_days, more = monitoring.stuck_counted(actor, filters, page, per_page)
    now = utcnow()
    items = []
    for a in rows:
        row = appraisal_row(actor, a, now)
        row.update(held_by=holder(a), idle_days=(now - a.state_entered_at).days)
        items.append(row)
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "total_capped": more,
        "idle_days": idle_days,
    }


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


def _history_of(appraisal_id: int) -> list[dict]:
    """Every step of the appraisal's log, oldest first, with the people named (the caller's
    right to see the appraisal is checked by whoever calls this)."""
    person_of = (joinedload(TransitionLog.actor).joinedload(User.employee),
                 joinedload(TransitionLog.on_behalf_of).joinedload(User.employee))  # fmt: skip
    rows = db.session.scalars(
        select(TransitionLog)
        .where(TransitionLog.entity == "appraisal", TransitionLog.entity_id == appraisal_id)
        .options(*person_of)
        .order_by(TransitionLog.seq)
    ).all()
    return [
        {
            "seq": r.seq,
            "event": r.event,
            "transition": r.event in APPRAISAL.transitions,
            "from_state": r.from_state,
            "to_state": r.to_state,
            "actor": _user_label(r.actor),
            "actor_role": r.actor_role,
            "on_behalf_of": _user_label(r.on_behalf_of),
            "comment": r.comment,
            "payload": r.payload or {},
            "at": r.created_at,
        }
        for r in rows
    ]


def appraisal_overview(actor: Actor, appraisal_id: int, *, with_history: bool = False) -> dict:
    """The detail (``appraisal_detail``) with what the appraisal page adds: who holds it, the
    cycle, what comes next, which edits besides events the caller may make (the services
    authorise each one again) and, ``with_history``, every past step from the log."""
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
        history=_history_of(a.id) if with_history else None,
    )
    return row


# --- HR's monitoring page, its list, its interventions and the cycle page (web) --------------

# The most rows one CSV export holds (the page says so when the list is longer).
EXPORT_LIMIT = 10_000


def attention_row(actor: Actor, a: Appraisal, now: datetime) -> dict:
    """A row of HR's list: the appraisal, who holds it, how long it idles, what HR may do."""
    relations = appraisal_relations(actor, a)
    row = appraisal_row(actor, a, now, relations=relations)
    row.update(
        held_by=holder(a),
        idle_days=(now - a.state_entered_at).days,
        interventions=interventions.available(actor, a, relations),
    )
    return row


def attention_page(actor: Actor, filters: dict, page: int, per_page: int) -> dict:
    """A page of HR's list: stuck appraisals oldest first (``monitoring.attention_query``)."""
    rows, total, idle_days = monitoring.attention(actor, filters, page, per_page)
    now = utcnow()
    items = [attention_row(actor, a, now) for a in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total, "idle_days": idle_days}


def monitoring_filters(actor: Actor, filters: dict) -> tuple[list[Cycle], Cycle | None, dict]:
    """The cycles HR may choose from, the chosen one (the filter's, else the current one: the
    newest that is not closed) and the filters with that cycle; 403 for anyone but HR and admins."""
    visible = monitoring.cycles_in_scope(actor)
    chosen = None
    if filters.get("cycle") is not None:
        chosen = next((c for c in visible if c.id == filters["cycle"]), None)
        if chosen is None:
            raise problems.validation_error({"cycle": [N_("No cycle with that id is in your scope.")]})
    elif visible:
        chosen = next((c for c in visible if c.state != "closed"), visible[0])
    return visible, chosen, {**filters, "cycle": chosen.id if chosen else None}


def monitoring_overview(actor: Actor, filters: dict, page: int, per_page: int) -> dict:
    """The monitoring page: the cycles to choose from, the chosen cycle's dashboard, HR's list of
    stuck appraisals and the open incidents."""
    visible, chosen, filters = monitoring_filters(actor, filters)
    summary = monitoring.dashboard(actor, filters)
    stuck = attention_page(actor, filters, page, per_page)
    open_incidents, incident_total = incidents.list_incidents(actor, False, 1, 20)
    return {
        "cycles": [{"id": c.id, "name": c.name, "year": c.year, "state": c.state} for c in visible],
        "cycle": cycle_view(actor, chosen) if chosen else None,
        "summary": summary,
        "stuck": stuck,
        "incidents": open_incidents,
        "incident_total": incident_total,
        "filters": filters,
        "export_limit": EXPORT_LIMIT,
    }


def attention_export(actor: Actor, filters: dict, limit: int = EXPORT_LIMIT, batch: int = 500) -> list[dict]:
    """Every row of HR's list for ``filters`` (the cycle chosen as the page chooses it), up to
    ``limit``, in the order the page shows them; read in batches, without counting."""
    _, _, filters = monitoring_filters(actor, filters)
    query, _idle = monitoring.attention_query(actor, filters)
    query = query.options(
        selectinload(Appraisal.unit),
        selectinload(Appraisal.employee),
        selectinload(Appraisal.assessor),
        selectinload(Appraisal.superior),
    )
    now = utcnow()
    items: list[dict] = []
    while len(items) < limit:
        size = min(batch, limit - len(items))
        chunk = db.session.scalars(query.limit(size).offset(len(items))).all()
        items += [attention_row(actor, a, now) for a in chunk]
        if len(chunk) < size:
            break
    return items


def assessor_candidates(actor: Actor, a: Appraisal, limit: int = 50) -> list[dict]:
    """Likely new assessors: active people of the appraisal's unit and the units above it, in
    the caller's HR scope, nearest unit first (any other employee id may still be typed)."""
    prefixes = []
    path = a.unit.path
    while path.count("/") > 1:
        prefixes.append(path)
        path = path[: path.rstrip("/").rfind("/") + 1]
    rows = db.session.execute(
        select(Employee.id, Employee.name, Employee.position, Unit.name, Unit.path)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Employee.active.is_(True), Unit.path.in_(prefixes), Employee.id != a.employee_id)
        .order_by(func.length(Unit.path).desc(), Employee.name, Employee.id)
        .limit(limit)
    ).all()
    return [
        {"id": eid, "name": name, "position": position, "unit": unit}
        for eid, name, position, unit, unit_path in rows
        if actor.hr_covers(unit_path)
    ]


def intervention_view(actor: Actor, appraisal_id: int) -> dict:
    """One appraisal as HR's intervention page shows it: the facts, and each action HR may take."""
    monitoring.require_monitor(actor)
    a = appraisals.load(actor, appraisal_id)  # 404 for one the caller may not see
    now = utcnow()
    row = attention_row(actor, a, now)
    last = interventions.last_nudge(a.id)
    row.update(
        cycle_name=a.cycle.name,
        cycle_end=guards.cycle_end(a.cycle),
        today=local_date(now, a.unit.timezone),
        last_nudge_at=last,
        next_nudge_at=last + interventions.NUDGE_INTERVAL if last else None,
        events=[e for e in row["allowed_events"] if e in ("cancel", "reopen")],
        candidates=assessor_candidates(actor, a) if "reassign" in row["interventions"] else [],
    )
    return row


CYCLE_PHASES = (
    ("period", "period_start", "period_end"),
    ("plan_due", None, "plan_due"),
    ("midyear", "midyear_start", "midyear_end"),
    ("scoring", "scoring_start", "scoring_end"),
    ("feedback_due", None, "feedback_due"),
    ("training_due", None, "training_due"),
)


def cycle_page(actor: Actor, cycle_id: int) -> dict:
    """A cycle with its phases, its history and the events the caller may fire (with their fields).

    Visible to whoever ``GET /api/v1/cycles/{id}`` shows it to (``cycles.load``); its history
    (who did what, HR's comments, a forced close's reason) only to HR and admins over the cycle,
    as the API keeps it to them.
    """
    cycle = cycles.load(actor, cycle_id)  # 404 for a cycle the caller may not see
    data = cycle_view(actor, cycle)
    manages = actor.manages(cycle.unit.path)
    history = (
        db.session.scalars(
            select(TransitionLog)
            .where(TransitionLog.entity == "cycle", TransitionLog.entity_id == cycle.id)
            .options(joinedload(TransitionLog.actor).joinedload(User.employee))
            .order_by(TransitionLog.seq.desc())
        ).all()
        if manages
        else []
    )
    data.update(
        unit=unit_ref(cycle.unit),
        phases=[
            {"phase": name, "start": getattr(cycle, start) if start else None, "end": getattr(cycle, end)}
            for name, start, end in CYCLE_PHASES
        ],
        history=[
            {
                "seq": h.seq,
                "event": h.event,
                "from_state": h.from_state,
                "to_state": h.to_state,
                "actor": _user_label(h.actor),
                "actor_role": h.actor_role,
                "comment": h.comment,
                "payload": h.payload,
                "created_at": h.created_at,
            }
            for h in history
        ],
        events=[
            {"event": e, "fields": list(CYCLE.transitions[e].accepted_fields)} for e in data["allowed_events"]
        ],
        manages=manages,
        open_appraisals=cycles.open_appraisal_count(cycle.id) if manages else None,
    )
    return data


def _user_label(user) -> str | None:
    if user is None:
        return None
    return user.employee.name if user.employee else user.username
