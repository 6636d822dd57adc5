"""Reassignment: change the assessor (and superior) of open appraisals."""

from flask_smorest import Blueprint
from marshmallow import fields, validate

from workflow_app.api import actor
from workflow_app.api.appraisals import AppraisalDetailOut, BulkOut, bulk_response, dump_detail
from workflow_app.schemas.base import (
    Id,
    In,
    StrictBool,
)
from workflow_app.schemas.interventions import ReassignIn
from workflow_app.services import reassignment
from workflow_app.uow import read_only, unit_of_work


class BulkReassignIn(In):
    ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=500))
    assessor_id = Id(required=True)
    superior_id = Id(allow_none=True, load_default=None)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    dry_run = StrictBool(load_default=False)


blp = Blueprint("reassignment", __name__, url_prefix="/api/v1/appraisals", description="Reassignment")


@blp.route("/<int:appraisal_id>/reassign", methods=["POST"])
@blp.arguments(ReassignIn)
@blp.response(200, AppraisalDetailOut)
def reassign(data, appraisal_id):
    """Change the assessor (and superior) of one open appraisal; both assessors are notified."""
    with unit_of_work():
        a = reassignment.reassign_one(actor(), appraisal_id, data)
    return dump_detail(a)


@blp.route("/bulk-reassign", methods=["POST"])
@blp.arguments(BulkReassignIn)
@blp.response(200, BulkOut)
def bulk_reassign(data):
    """Reassign many appraisals; each item applies whole or not at all."""
    with read_only() if data["dry_run"] else unit_of_work():
        results = reassignment.reassign_many(actor(), data)
    return bulk_response("reassign", data["dry_run"], results)
