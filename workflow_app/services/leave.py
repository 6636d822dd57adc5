"""Recorded leave: the SLA clock of whatever the employee holds pauses while they are away."""

from __future__ import annotations

from sqlalchemy import select

from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Employee, Leave
from workflow_app.services import audit
from workflow_app.services.access import Actor
from workflow_app.services.deadlines import recompute_due_for_holder


def _employee(actor: Actor, employee_id: int, write: bool) -> Employee:
    employee = db.session.get(Employee, employee_id)
    if employee is None:
        raise problems.not_found("employee")
    if write and actor.employee_id == employee_id:
        raise problems.forbidden(
            N_("Your own leave pauses your own deadlines: another HR officer records it.")
        )
    if actor.manages(employee.unit.path):
        return employee
    if not write and actor.employee_id == employee_id:
        return employee
    if actor.employee_id == employee_id:
        raise problems.forbidden(N_("Leave is recorded by HR."))
    raise problems.not_found("employee")


def list_leave(actor: Actor, employee_id: int) -> list[Leave]:
    _employee(actor, employee_id, write=False)
    return db.session.scalars(
        select(Leave).where(Leave.employee_id == employee_id).order_by(Leave.start_date)
    ).all()


def add_leave(actor: Actor, employee_id: int, data: dict) -> tuple[Leave, int]:
    _employee(actor, employee_id, write=True)
    if data["end_date"] < data["start_date"]:
        raise problems.validation_error({"end_date": [N_("Must not be before {field}.", field="start_date")]})
    leave = Leave(employee_id=employee_id, created_by_id=actor.user_id, **data)
    db.session.add(leave)
    db.session.flush()
    audit.record("employee", employee_id, "leave_added", actor, utcnow(), {"leave_id": leave.id, **data})
    return leave, recompute_due_for_holder(employee_id)


def delete_leave(actor: Actor, employee_id: int, leave_id: int) -> int:
    _employee(actor, employee_id, write=True)
    leave = db.session.get(Leave, leave_id)
    if leave is None or leave.employee_id != employee_id:
        raise problems.not_found("leave")
    audit.record(
        "employee",
        employee_id,
        "leave_deleted",
        actor,
        utcnow(),
        {
            "leave_id": leave.id,
            "start_date": leave.start_date,
            "end_date": leave.end_date,
            "kind": leave.kind,
        },
    )
    db.session.delete(leave)
    db.session.flush()
    return recompute_due_for_holder(employee_id)
