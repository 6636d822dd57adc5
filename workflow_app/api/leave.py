"""Leave of an employee: recorded leave moves the due dates of what they hold."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from workflow_app.api import actor
from workflow_app.schemas.base import (
    Day,
    In,
    Text,
)
from workflow_app.services import leave
from workflow_app.uow import unit_of_work


class LeaveIn(In):
    start_date = Day(required=True)
    end_date = Day(required=True)
    kind = fields.Str(
        load_default="cuti_tahunan",
        validate=validate.OneOf(
            [
                "cuti_tahunan",
                "cuti_sakit",
                "cuti_besar",
                "cuti_melahirkan",
                "cuti_alasan_penting",
                "dinas_luar",
                "lainnya",
            ]
        ),
    )
    note = Text(allow_none=True)


class LeaveOut(Schema):
    id = fields.Int()
    employee_id = fields.Int()
    start_date = Day()
    end_date = Day()
    kind = fields.Str()
    note = fields.Str(allow_none=True)
    rescheduled = fields.Int()


blp = Blueprint("leave", __name__, url_prefix="/api/v1/employees", description="Leave")


@blp.route("/<int:employee_id>/leave", methods=["GET"])
@blp.response(200, LeaveOut(many=True))
def list_leave(employee_id):
    return leave.list_leave(actor(), employee_id)


@blp.route("/<int:employee_id>/leave", methods=["POST"])
@blp.arguments(LeaveIn)
@blp.response(201, LeaveOut)
def add_leave(data, employee_id):
    """Record leave; due dates of what the employee holds move back by the working days missed."""
    with unit_of_work():
        row, changed = leave.add_leave(actor(), employee_id, data)
    return {**{c.key: getattr(row, c.key) for c in row.__table__.columns}, "rescheduled": changed}


@blp.route("/<int:employee_id>/leave/<int:leave_id>", methods=["DELETE"])
@blp.response(204)
def delete_leave(employee_id, leave_id):
    with unit_of_work():
        leave.delete_leave(actor(), employee_id, leave_id)
