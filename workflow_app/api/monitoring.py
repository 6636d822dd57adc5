"""Monitoring for HR: summary and stuck appraisals."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from workflow_app.api import actor
from workflow_app.api.appraisals import AppraisalOut
from workflow_app.schemas.base import (
    In,
    PageQuery,
    QueryId,
    QueryInt,
    UTCDateTime,
    page_schema,
    take_page,
)
from workflow_app.services import monitoring, views


class MonitoringQuery(In):
    cycle = QueryId()
    unit = QueryId()


class StuckQuery(MonitoringQuery, PageQuery):
    idle_days = QueryInt(validate=validate.Range(min=1, max=3650))


class SummaryOut(Schema):
    generated_at = UTCDateTime()
    total = fields.Int()
    open = fields.Int()
    overdue = fields.Int()
    by_state = fields.Dict(keys=fields.Str(), values=fields.Int())
    ageing_days = fields.Dict(keys=fields.Str(), values=fields.Int())
    by_unit = fields.List(fields.Dict())


class StuckItemOut(AppraisalOut):
    held_by = fields.Dict()
    idle_days = fields.Int()


# total counts up to 10,000 stuck appraisals; total_capped: there are more than that.
StuckPage = page_schema(StuckItemOut, "StuckPage", idle_days=fields.Int(), total_capped=fields.Bool())


blp = Blueprint("monitoring", __name__, url_prefix="/api/v1/monitoring", description="Monitoring")


@blp.route("/summary")
@blp.arguments(MonitoringQuery, location="query")
@blp.response(200, SummaryOut)
def summary(query):
    """Counts per state and unit, overdue count and ageing of open appraisals in your scope."""
    return monitoring.summary(actor(), query)


@blp.route("/stuck")
@blp.arguments(StuckQuery, location="query")
@blp.response(200, StuckPage)
def stuck(query):
    """Appraisals past due or idle too long, oldest first, with who holds each."""
    page, per_page = take_page(query)
    return views.stuck_page(actor(), query, page, per_page)
