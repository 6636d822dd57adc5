"""Delegation (Plt/Plh) and reassignment by HR: who acts as an appraisal's assessor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Appraisal, Delegation, Employee, Unit, User
from workflow_app.services import audit
from workflow_app.services.access import Actor
from workflow_app.services.org import active_employee, superior_of
from workflow_app.services.sla import local_date
from workflow_app.services.snapshots import delegation_snapshot
from workflow_app.uow import flush

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
    delegator = active_employee(data["delegator_id"], "delegator_id")
    delegate = active_employee(data["delegate_id"], "delegate_id")
    if not actor.hr_covers(delegator.unit.path):
        raise problems.forbidden(N_("Only HR in the delegator's unit scope records a delegation."))
    if not actor.hr_covers(delegate.unit.path):
        raise problems.forbidden(N_("The delegate works outside your HR scope."))
    errors = {}
    if delegator.id == delegate.id:
        errors["delegate_id"] = [N_("The delegate must be someone else.")]
    elif actor.employee_id == delegate.id:
        errors["delegate_id"] = [N_("You cannot appoint yourself; another HR officer records this.")]
    elif _moves_own_appraisal(actor, Appraisal.assessor_id == delegator.id) or _reports_to(actor, delegator):
        errors["delegator_id"] = [
            N_("The delegator assesses your own appraisal; another HR officer records this delegation.")
        ]
    if data["end_date"] < data["start_date"]:
        errors["end_date"] = [N_("Must not be before {field}.", field="start_date")]
    elif data["end_date"] < local_date(utcnow(), delegator.unit.timezone):
        errors["end_date"] = [N_("A delegation that has already ended cannot be recorded.")]
    overlapping = db.session.scalar(
        select(Delegation.id).where(
            Delegation.delegator_id == delegator.id,
            Delegation.ended_at.is_(None),
            Delegation.start_date <= data["end_date"],
            Delegation.end_date >= data["start_date"],
        )
    )
    if overlapping:
        errors["start_date"] = [N_("Delegation {id} already covers part of this range.", id=overlapping)]
    if errors:
        raise problems.validation_error(errors)
    d = Delegation(created_by_id=actor.user_id, **data)
    db.session.add(d)
    db.session.flush()
    now = utcnow()
    audit.record(
        "delegation",
        d.id,
        "delegation_created",
        actor,
        now,
        {
            "delegator_id": d.delegator_id,
            "delegate_id": d.delegate_id,
            "kind": d.kind,
            "start_date": d.start_date,
            "end_date": d.end_date,
        },
        comment=d.reason,
    )
    if d.start_date <= local_date(now, delegator.unit.timezone):
        activate(d, now, actor)
    return d


def _moves_own_appraisal(actor: Actor, moved) -> bool:
    """Whether a change of the appraisals matching ``moved`` would touch the actor's own."""
    if actor.employee_id is None:
        return False
    return (
        db.session.scalar(
            select(Appraisal.id)
            .where(
                Appraisal.employee_id == actor.employee_id,
                Appraisal.state.in_(APPRAISAL.open_states),
                moved,
            )
            .limit(1)
        )
        is not None
    )


def _reports_to(actor: Actor, delegator: Employee) -> bool:
    """Whether the delegator is the actor's superior in the org chart (their next assessor)."""
    return actor.employee_id is not None and superior_of(actor.employee_id) == delegator.id


def _plan(d: Delegation, a: Appraisal) -> tuple[int | None, int | None, str | None]:
    """(assessor, superior, exception) for one of the delegator's appraisals while ``d`` lasts.

    The delegate takes the delegator's place, except on an appraisal that would make them judge
    themself: their own appraisal goes to the delegator's superior (and its superior one level
    up, or to HR at the top of the tree). A superior who would also be the assessor moves up too.
    """
    assessor, superior, exception = d.delegate_id, a.superior_id, None
    if a.employee_id == d.delegate_id:
        assessor, exception = a.superior_id, "own_appraisal"
        superior = superior_of(assessor)
    if superior is not None and superior == assessor:
        superior = superior_of(superior)
        exception = exception or "superior_moved_up"
    if superior in (a.employee_id, assessor):
        superior = None
    if assessor == a.employee_id:
        assessor = None
    return assessor, superior, exception


def exceptions(d: Delegation) -> list[dict]:
    """The delegator's open appraisals the delegate does not take over, and who holds them."""
    involved = (Appraisal.employee_id == d.delegate_id) | (Appraisal.superior_id == d.delegate_id)
    rows = db.session.scalars(
        select(Appraisal).where(
            Appraisal.state.in_(APPRAISAL.open_states),
            ((Appraisal.assessor_id == d.delegator_id) & Appraisal.delegation_id.is_(None) & involved)
            | (
                (Appraisal.delegation_id == d.id)
                & (
                    Appraisal.pre_delegation_superior_id.is_not(None)
                    | (Appraisal.employee_id == d.delegate_id)
                )
            ),
        )
    ).all()
    result = []
    for a in rows:
        if a.delegation_id == d.id:
            assessor, superior = a.assessor_id, a.superior_id
            reason = "own_appraisal" if a.employee_id == d.delegate_id else "superior_moved_up"
        else:
            assessor, superior, reason = _plan(d, a)
        if reason:
            result.append(
                {
                    "appraisal_id": a.id,
                    "employee_id": a.employee_id,
                    "reason": reason,
                    "assessor_id": assessor,
                    "superior_id": superior,
                }
            )
    return result


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
        assessor, superior, exception = _plan(d, a)
        if superior != a.superior_id:
            a.pre_delegation_superior_id = a.superior_id
        payload = {
            "delegation_id": d.id,
            "kind": d.kind,
            "from_assessor_id": d.delegator_id,
            "to_assessor_id": assessor,
        }
        if exception:
            payload.update(exception=exception, from_superior_id=a.superior_id, to_superior_id=superior)
        a.assessor_id, a.superior_id, a.delegation_id = assessor, superior, d.id
        audit.move(a, "delegate", actor, now, payload)
    if d.activated_at is None:
        d.activated_at = now
        audit.outbox(
            "delegation.started",
            {"delegation_id": d.id, "context": delegation_snapshot(d)},
            f"delegation:{d.id}:started",
            now,
        )
    flush()
    return len(rows)


def end(d: Delegation, now: datetime, actor: Actor | None = None) -> int:
    """Give the open work back to the delegator (and a moved superior back to its place)."""
    actor = actor or Actor.system()
    rows = db.session.scalars(
        select(Appraisal).where(Appraisal.delegation_id == d.id).with_for_update(of=Appraisal)
    ).all()
    for a in rows:
        payload = {"delegation_id": d.id, "from_assessor_id": a.assessor_id, "to_assessor_id": d.delegator_id}
        if a.pre_delegation_superior_id is not None:
            payload.update(from_superior_id=a.superior_id, to_superior_id=a.pre_delegation_superior_id)
            a.superior_id, a.pre_delegation_superior_id = a.pre_delegation_superior_id, None
        a.assessor_id = d.delegator_id
        a.delegation_id = None
        audit.move(a, "end_delegation", actor, now, payload)
    d.ended_at = now
    audit.record("delegation", d.id, "delegation_ended", actor, now, {"returned": len(rows)})
    audit.outbox(
        "delegation.ended",
        {"delegation_id": d.id, "context": delegation_snapshot(d)},
        f"delegation:{d.id}:ended",
        now,
    )
    flush()
    return len(rows)


def end_delegation(actor: Actor, delegation_id: int) -> Delegation:
    d = db.session.get(Delegation, delegation_id)
    if d is None or not actor.hr_covers(d.delegator.unit.path):
        raise problems.not_found("delegation")
    if d.ended_at is not None:
        raise problems.Problem(409, "delegation-ended", detail=N_("This delegation has already ended."))
    if _moves_own_appraisal(actor, Appraisal.delegation_id == d.id):
        raise problems.forbidden(
            N_("Ending this delegation moves your own appraisal; another HR officer ends it.")
        )
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
        if d is None or d.delegate_id != actor.employee_id:
            return None  # an exception: the delegator's superior acts in their own right
        return db.session.scalar(select(User.id).where(User.employee_id == d.delegator_id))


def my_delegations(actor: Actor) -> list[Delegation]:
    """The delegations (Plt/Plh) the caller takes part in, as delegator or as delegate, newest first."""
    if actor.employee_id is None:
        return []
    return db.session.scalars(
        select(Delegation)
        .where((Delegation.delegator_id == actor.employee_id) | (Delegation.delegate_id == actor.employee_id))
        .options(joinedload(Delegation.delegator), joinedload(Delegation.delegate))
        .order_by(Delegation.start_date.desc(), Delegation.id.desc())
    ).all()
