"""HR operations: incidents, leave, delegations and reassignment."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from workflow_app.api import actor, schemas
from workflow_app.api.appraisals import bulk_response, dump_detail
from workflow_app.api.schemas import AppraisalDetailOut, BulkOut, Day, Id, In, Text, UTCDateTime
from workflow_app.services import delegations, incidents, leave, reassignment, views
from workflow_app.uow import read_only, unit_of_work

blp = Blueprint(
    "operations", __name__, url_prefix="/api/v1", description="Incidents, leave, delegation, reassignment"
)


# --- incidents -------------------------------------------------------------------------------


class IncidentQuery(In):
    include_resolved = schemas.QueryBool(load_default=False)
    page = schemas.Page()
    per_page = schemas.PerPage()


class IncidentOut(Schema):
    id = fields.Int()
    kind = fields.Str()
    ref_type = fields.Str()
    ref_id = fields.Int()
    unit_id = fields.Int(allow_none=True)
    error = fields.Str()
    attempts = fields.Int()
    created_at = UTCDateTime()
    retried_at = UTCDateTime(allow_none=True)
    resolved_at = UTCDateTime(allow_none=True)


@blp.route("/monitoring/incidents", methods=["GET"])
@blp.arguments(IncidentQuery, location="query")
@blp.response(200, IncidentOut(many=True))
def list_incidents(query):
    """Jobs that exhausted their retries in your scope, newest first (``page``, ``per_page``)."""
    rows, _total = incidents.list_incidents(
        actor(), query["include_resolved"], query["page"], query["per_page"]
    )
    return rows


@blp.route("/monitoring/incidents/<int:incident_id>/retry", methods=["POST"])
@blp.response(200, IncidentOut)
def retry_incident(incident_id):
    """Put the failed delivery back in the queue; the incident resolves when it is re-queued."""
    with unit_of_work():
        return incidents.retry(actor(), incident_id)


# --- leave -----------------------------------------------------------------------------------


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


@blp.route("/employees/<int:employee_id>/leave", methods=["GET"])
@blp.response(200, LeaveOut(many=True))
def list_leave(employee_id):
    return leave.list_leave(actor(), employee_id)


@blp.route("/employees/<int:employee_id>/leave", methods=["POST"])
@blp.arguments(LeaveIn)
@blp.response(201, LeaveOut)
def add_leave(data, employee_id):
    """Record leave; due dates of what the employee holds move back by the working days missed."""
    with unit_of_work():
        row, changed = leave.add_leave(actor(), employee_id, data)
    return {**{c.key: getattr(row, c.key) for c in row.__table__.columns}, "rescheduled": changed}


@blp.route("/employees/<int:employee_id>/leave/<int:leave_id>", methods=["DELETE"])
@blp.response(204)
def delete_leave(employee_id, leave_id):
    with unit_of_work():
        leave.delete_leave(actor(), employee_id, leave_id)


# --- delegations -----------------------------------------------------------------------------


class DelegationIn(In):
    delegator_id = Id(required=True)
    delegate_id = Id(required=True)
    kind = fields.Str(load_default="plt", validate=validate.OneOf(["plt", "plh"]))
    start_date = Day(required=True)
    end_date = Day(required=True)
    reason = Text(allow_none=True)


class DelegationOut(Schema):
    id = fields.Int()
    delegator_id = fields.Int()
    delegate_id = fields.Int()
    delegator = fields.Str()
    delegate = fields.Str()
    kind = fields.Str()
    start_date = Day()
    end_date = Day()
    reason = fields.Str(allow_none=True)
    activated_at = UTCDateTime(allow_none=True)
    ended_at = UTCDateTime(allow_none=True)


class DelegationCreatedOut(DelegationOut):
    # The delegator's appraisals the delegate does not take over (their own, or one they are
    # the superior of), and who holds each instead.
    exceptions = fields.List(fields.Dict())


@blp.route("/delegations", methods=["GET"])
@blp.response(200, DelegationOut(many=True))
def list_delegations():
    return [views.delegation_view(d) for d in delegations.list_delegations(actor())]


@blp.route("/delegations", methods=["POST"])
@blp.arguments(DelegationIn)
@blp.response(201, DelegationCreatedOut)
def create_delegation(data):
    """Record a Plt/Plh; from its first day the delegate holds the delegator's open appraisals.

    The delegate never holds their own appraisal: it goes to the delegator's superior for the
    delegation's length, and ``exceptions`` lists each such appraisal with who holds it.
    """
    with unit_of_work():
        d = delegations.create_delegation(actor(), data)
    return views.delegation_view(d, with_exceptions=True)


@blp.route("/delegations/<int:delegation_id>/end", methods=["POST"])
@blp.response(200, DelegationOut)
def end_delegation(delegation_id):
    """End a delegation now; open work goes back to the delegator."""
    with unit_of_work():
        d = delegations.end_delegation(actor(), delegation_id)
    return views.delegation_view(d)


# --- reassignment ----------------------------------------------------------------------------


class ReassignIn(In):
    version = fields.Int(strict=True, required=True)
    assessor_id = Id(required=True)
    superior_id = Id(allow_none=True, load_default=None)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class BulkReassignIn(In):
    ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=500))
    assessor_id = Id(required=True)
    superior_id = Id(allow_none=True, load_default=None)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    dry_run = schemas.StrictBool(load_default=False)


@blp.route("/appraisals/<int:appraisal_id>/reassign", methods=["POST"])
@blp.arguments(ReassignIn)
@blp.response(200, AppraisalDetailOut)
def reassign(data, appraisal_id):
    """Change the assessor (and superior) of one open appraisal; both assessors are notified."""
    with unit_of_work():
        a = reassignment.reassign_one(actor(), appraisal_id, data)
    return dump_detail(a)


@blp.route("/appraisals/bulk-reassign", methods=["POST"])
@blp.arguments(BulkReassignIn)
@blp.response(200, BulkOut)
def bulk_reassign(data):
    """Reassign many appraisals; each item applies whole or not at all."""
    with read_only() if data["dry_run"] else unit_of_work():
        results = reassignment.reassign_many(actor(), data)
    return bulk_response("reassign", data["dry_run"], results)
