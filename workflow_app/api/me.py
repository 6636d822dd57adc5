"""The caller: GET /api/v1/me and GET /api/v1/tasks."""

from flask_smorest import Blueprint
from marshmallow import fields

from workflow_app.api import actor, current_user
from workflow_app.api.admin import EmployeeOut, UserOut
from workflow_app.api.appraisals import AppraisalOut, people_in_session
from workflow_app.clock import utcnow
from workflow_app.services import appraisals, views


class MeOut(UserOut):
    employee = fields.Nested(EmployeeOut, allow_none=True)


blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The caller and their tasks")


@blp.route("/me")
@blp.response(200, MeOut)
def me():
    """Who you are: account, employee record and scoped roles."""
    return current_user()


@blp.route("/tasks")
@blp.response(200, AppraisalOut(many=True))
def tasks():
    """What waits on you, oldest due first, with the events you may fire."""
    rows = appraisals.tasks(actor())
    people_in_session(rows)
    now = utcnow()
    return [views.appraisal_row(actor(), a, now) for a in rows]
