"""Delegations (Plt/Plh): a delegate holds the delegator's open appraisals."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from workflow_app.api import actor
from workflow_app.schemas.base import (
    Day,
    Id,
    In,
    Text,
    UTCDateTime,
)
from workflow_app.services import delegations, views
from workflow_app.uow import unit_of_work


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


blp = Blueprint("delegations", __name__, url_prefix="/api/v1/delegations", description="Delegations")


@blp.route("", methods=["GET"])
@blp.response(200, DelegationOut(many=True))
def list_delegations():
    return [views.delegation_view(d) for d in delegations.list_delegations(actor())]


@blp.route("", methods=["POST"])
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


@blp.route("/<int:delegation_id>/end", methods=["POST"])
@blp.response(200, DelegationOut)
def end_delegation(delegation_id):
    """End a delegation now; open work goes back to the delegator."""
    with unit_of_work():
        d = delegations.end_delegation(actor(), delegation_id)
    return views.delegation_view(d)
