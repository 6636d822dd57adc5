"""The org chart as the services read it: who is an active employee, who reports to whom."""

from __future__ import annotations

from workflow_app import problems
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Employee


def active_employee(employee_id: int, field: str) -> Employee:
    """The active employee ``employee_id``, or a 422 on ``field``."""
    employee = db.session.get(Employee, employee_id)
    if employee is None or not employee.active:
        raise problems.validation_error({field: [N_("No active employee with that id.")]})
    return employee


def superior_of(employee_id: int | None) -> int | None:
    if employee_id is None:
        return None
    employee = db.session.get(Employee, employee_id)
    return employee.superior_id if employee is not None else None
