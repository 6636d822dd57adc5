"""Incidents: jobs that exhausted their retries, listed and retried by HR."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from workflow_app.api import actor
from workflow_app.schemas.base import (
    PageQuery,
    QueryBool,
    UTCDateTime,
    page_body,
    page_schema,
    take_page,
)
from workflow_app.services import incidents
from workflow_app.uow import unit_of_work


class IncidentQuery(PageQuery):
    include_resolved = QueryBool(load_default=False)


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


IncidentPage = page_schema(IncidentOut)


blp = Blueprint("incidents", __name__, url_prefix="/api/v1/monitoring/incidents", description="Incidents")


@blp.route("", methods=["GET"])
@blp.arguments(IncidentQuery, location="query")
@blp.response(200, IncidentPage)
def list_incidents(query):
    """Jobs that exhausted their retries in your scope, newest first (``page``, ``per_page``)."""
    page, per_page = take_page(query)
    rows, total = incidents.list_incidents(actor(), query["include_resolved"], page, per_page)
    return page_body(rows, total, page, per_page)


@blp.route("/<int:incident_id>/retry", methods=["POST"])
@blp.response(200, IncidentOut)
def retry_incident(incident_id):
    """Put the failed delivery back in the queue; the incident resolves when it is re-queued."""
    with unit_of_work():
        return incidents.retry(actor(), incident_id)
