"""Delegation (Plt/Plh) and reassignment by HR: who acts as an appraisal's assessor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Delegation, Employee, Unit, User
from workflow_app.services import audit
from workflow_app.services.access import Actor, appraisal_relations
from workflow_app.services.appraisals import _flush
from workflow_app.services.sla import local_date


def _employee(employee_id: int, field: str) -> Employee:
    employee = db.session.get(Employee, employee_id)
    if employee is None or not employee.active:
        raise problems.validation_error({field: ["No active employee with that id."]})
    return employee


def _log_move(
    a: Appraisal, event: str, actor: Actor, now: datetime, payload: dict, comment=None, on_behalf=None
):
    """An audited change of who holds an appraisal: a log row that keeps the state."""
    log = audit.append(
        entity="appraisal",
        entity_id=a.id,
        event=event,
        from_state=a.state,
        to_state=a.state,
        actor_user_id=actor.user_id,
        actor_role="system" if actor.is_system else "hr",
        machine_version=a.machine_version,
        at=now,
        comment=comment,
        payload=payload,
        on_behalf_of_user_id=on_behalf,
    )
    return log


# --- delegation ------------------------------------------------------------------------------


def list_delegations(actor: Actor) -> list[Delegation]:
    query = (
        select(Delegation)
        .join(Employee, Employee.id == Delegation.delegator_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .options(joinedload(Delegation.delegator), joinedload(Delegation.delegate))
        .order_by(Delegation.start_date.desc(), Delegation.id.desc())
    )
    rows = db.session.scalars(query).all()
    return [
        d
        for d in rows
        if actor.manages(d.delegator.unit.path) or actor.employee_id in (d.delegator_id, d.delegate_id)
    ]


def create_delegation(actor: Actor, data: dict) -> Delegation:
    delegator = _employee(data["delegator_id"], "delegator_id")
    delegate = _employee(data["delegate_id"], "delegate_id")
    if not actor.hr_covers(delegator.unit.path):
        raise problems.forbidden("Only HR in the delegator's unit scope records a delegation.")
    errors = {}
    if delegator.id == delegate.id:
        errors["delegate_id"] = ["The delegate must be someone else."]
    if data["end_date"] < data["start_date"]:
        errors["end_date"] = ["Must not be before start_date."]
    overlapping = db.session.scalar(
        select(Delegation.id).where(
            Delegation.delegator_id == delegator.id,
            Delegation.ended_at.is_(None),
            Delegation.start_date <= data["end_date"],
            Delegation.end_date >= data["start_date"],
        )
    )
    if overlapping:
        errors["start_date"] = [f"Delegation {overlapping} already covers part of this range."]
    if errors:
        raise problems.validation_error(errors)
    d = Delegation(created_by_id=actor.user_id, **data)
    db.session.add(d)
    db.session.flush()
    now = utcnow()
    if d.start_date <= local_date(now, delegator.unit.timezone):
        activate(d, now, actor)
    return d


def activate(d: Delegation, now: datetime, actor: Actor | None = None) -> int:
    """Move the delegator's open appraisals (in flight too) to the delegate."""
    actor = actor or Actor.system()
    rows = db.session.scalars(
        select(Appraisal)
        .where(
            Appraisal.assessor_id == d.delegator_id,
            Appraisal.delegation_id.is_(None),
            Appraisal.state.in_(APPRAISAL.open_states),
        )
        .with_for_update(of=Appraisal)
    ).all()
    for a in rows:
        a.assessor_id = d.delegate_id
        a.delegation_id = d.id
        _log_move(
            a,
            "delegate",
            actor,
            now,
            {
                "delegation_id": d.id,
                "kind": d.kind,
                "from_assessor_id": d.delegator_id,
                "to_assessor_id": d.delegate_id,
            },
        )
    if d.activated_at is None:
        d.activated_at = now
        audit.outbox("delegation.started", {"delegation_id": d.id}, f"delegation:{d.id}:started", now)
    _flush()
    return len(rows)


def end(d: Delegation, now: datetime, actor: Actor | None = None) -> int:
    """Give the open work back to the delegator."""
    actor = actor or Actor.system()
    rows = db.session.scalars(
        select(Appraisal).where(Appraisal.delegation_id == d.id).with_for_update(of=Appraisal)
    ).all()
    for a in rows:
        a.assessor_id = d.delegator_id
        a.delegation_id = None
        _log_move(
            a,
            "end_delegation",
            actor,
            now,
            {"delegation_id": d.id, "from_assessor_id": d.delegate_id, "to_assessor_id": d.delegator_id},
        )
    d.ended_at = now
    audit.outbox("delegation.ended", {"delegation_id": d.id}, f"delegation:{d.id}:ended", now)
    _flush()
    return len(rows)


def end_delegation(actor: Actor, delegation_id: int) -> Delegation:
    d = db.session.get(Delegation, delegation_id)
    if d is None or not actor.manages(d.delegator.unit.path):
        raise problems.not_found("delegation")
    if d.ended_at is not None:
        raise problems.Problem(409, "delegation-ended", detail="This delegation has already ended.")
    end(d, utcnow(), actor)
    return d


def activate_due(now: datetime) -> int:
    """Start delegations whose first day has come; pick up work launched to the delegator since."""
    moved = 0
    for d in db.session.scalars(select(Delegation).where(Delegation.ended_at.is_(None))).all():
        today = local_date(now, d.delegator.unit.timezone)
        if d.start_date <= today <= d.end_date:
            moved += activate(d, now)
    return moved


def end_due(now: datetime) -> int:
    ended = 0
    for d in db.session.scalars(select(Delegation).where(Delegation.ended_at.is_(None))).all():
        if local_date(now, d.delegator.unit.timezone) > d.end_date:
            end(d, now)
            ended += 1
    return ended


def on_behalf_of(appraisal: Appraisal, actor: Actor, role: str) -> int | None:
    """The delegator's user when a delegate acts as assessor, for the log's on-behalf-of."""
    if role != "assessor" or appraisal.delegation_id is None or actor.employee_id != appraisal.assessor_id:
        return None
    with db.session.no_autoflush:
        d = db.session.get(Delegation, appraisal.delegation_id)
        return db.session.scalar(select(User.id).where(User.employee_id == d.delegator_id)) if d else None


# --- reassignment ----------------------------------------------------------------------------


def reassign(
    actor: Actor, appraisal: Appraisal, assessor_id: int, superior_id: int | None, reason: str
) -> Appraisal:
    """Use case: HR changes the assessor (and the assessor's superior) of an open appraisal."""
    if "hr" not in appraisal_relations(actor, appraisal):
        raise problems.forbidden("Only HR in scope reassigns an appraisal.")
    if appraisal.state not in APPRAISAL.open_states:
        raise problems.Problem(409, "appraisal-closed", detail=f"The appraisal is {appraisal.state}.")
    new_assessor = _employee(assessor_id, "assessor_id")
    if new_assessor.id == appraisal.employee_id:
        raise problems.validation_error({"assessor_id": ["An employee cannot assess themself."]})
    new_superior = superior_id if superior_id is not None else new_assessor.superior_id
    if new_superior is not None:
        _employee(new_superior, "superior_id")
    if (new_assessor.id, new_superior) == (appraisal.assessor_id, appraisal.superior_id):
        raise problems.validation_error({"assessor_id": ["This is already the assessor."]})
    now = utcnow()
    old = {"old_assessor_id": appraisal.assessor_id, "old_superior_id": appraisal.superior_id}
    appraisal.assessor_id = new_assessor.id
    appraisal.superior_id = new_superior
    appraisal.delegation_id = None
    payload = {**old, "new_assessor_id": new_assessor.id, "new_superior_id": new_superior}
    log = _log_move(appraisal, "reassign", actor, now, payload, comment=reason)
    audit.outbox(
        "appraisal.reassigned",
        {"appraisal_id": appraisal.id, "reason": reason, **payload},
        f"appraisal:{appraisal.id}:{log.seq}:reassigned",
        now,
    )
    _flush()
    return appraisal
