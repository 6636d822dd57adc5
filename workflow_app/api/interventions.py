"""HR's interventions on an open appraisal: nudge its holder, extend its deadline."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from workflow_app.api import actor
from workflow_app.api.appraisals import AppraisalDetailOut, dump_detail
from workflow_app.schemas.base import UTCDateTime
from workflow_app.schemas.interventions import ExtendIn
from workflow_app.services import interventions
from workflow_app.uow import unit_of_work


class HolderOut(Schema):
    role = fields.Str(allow_none=True)
    employee_id = fields.Int(allow_none=True)
    name = fields.Str(allow_none=True)


class NudgeOut(Schema):
    appraisal_id = fields.Int()
    state = fields.Str()
    holder = fields.Nested(HolderOut)
    nudged_at = UTCDateTime()
    next_nudge_at = UTCDateTime(metadata={"description": "The earliest time of the next nudge."})


blp = Blueprint("interventions", __name__, url_prefix="/api/v1/appraisals", description="HR interventions")


@blp.route("/<int:appraisal_id>/nudge", methods=["POST"])
@blp.response(200, NudgeOut)
def nudge(appraisal_id):
    """Remind whoever holds an open appraisal (HR in scope; once an hour per appraisal).

    The holder gets a reminder notification and email; the nudge is recorded in the
    appraisal's history. A nudge within the hour after the last one answers 409
    ``nudged-recently`` with ``retry_after`` in seconds.
    """
    with unit_of_work():
        return interventions.nudge(actor(), appraisal_id)


@blp.route("/<int:appraisal_id>/extend", methods=["POST"])
@blp.arguments(ExtendIn)
@blp.response(200, AppraisalDetailOut)
def extend(data, appraisal_id):
    """Give an open appraisal a new due date (HR in scope, with version and reason).

    ``due_at`` becomes the end of ``due_date`` in the unit's zone, between today and the
    cycle's end; the escalation level and the reminder start over. Recorded in the history
    with the deadline before and after.
    """
    with unit_of_work():
        appraisal = interventions.extend_deadline(
            actor(), appraisal_id, data["version"], data["due_date"], data["reason"]
        )
    return dump_detail(appraisal)
