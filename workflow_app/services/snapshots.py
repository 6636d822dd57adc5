"""What a message says, fixed in the transaction of the event that causes it.

Delivery renders emails and in-app notifications from this snapshot, never from the rows as
they are later: a plan submitted and approved before the worker runs still tells the assessor
the due date of the submission.
"""

from __future__ import annotations

from workflow_app.extensions import db
from workflow_app.models import Appraisal, Cycle, Delegation, Employee, User
from workflow_app.services.access import holder_employee_id
from workflow_app.services.sla import local_date

HR_LABEL = "HR"
SYSTEM_LABEL = "Sistem"


def user_name(user_id: int | None) -> str:
    if user_id is None:
        return SYSTEM_LABEL
    user = db.session.get(User, user_id)
    if user is None:
        return SYSTEM_LABEL
    return user.employee.name if user.employee else user.username


def employee_name(employee_id: int | None) -> str | None:
    if employee_id is None:
        return None
    employee = db.session.get(Employee, employee_id)
    return employee.name if employee else None


def appraisal_snapshot(appraisal: Appraisal, *, actor_user_id: int | None = None, **extra) -> dict:
    """Everything a notification about ``appraisal`` may state, as of now."""
    with db.session.no_autoflush:
        zone = appraisal.unit.timezone
        return {
            "appraisal_id": appraisal.id,
            "cycle_id": appraisal.cycle_id,
            "cycle": appraisal.cycle.name,
            "employee": appraisal.employee.name,
            "state": appraisal.state,
            "due": local_date(appraisal.due_at, zone).isoformat() if appraisal.due_at else None,
            "predikat": appraisal.predikat,
            "actor": user_name(actor_user_id),
            "holder": employee_name(holder_employee_id(appraisal)) or HR_LABEL,
            **extra,
        }


def cycle_snapshot(cycle: Cycle) -> dict:
    return {"cycle": cycle.name, "cycle_id": cycle.id, "due": cycle.plan_due.isoformat()}


def delegation_snapshot(d: Delegation) -> dict:
    return {
        "delegator": employee_name(d.delegator_id),
        "delegation_kind": d.kind,
        "start": d.start_date.isoformat(),
        "end": d.end_date.isoformat(),
    }
