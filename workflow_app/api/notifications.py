"""In-app notifications of the caller."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from workflow_app.api import actor
from workflow_app.notifications import inbox
from workflow_app.schemas.base import PageQuery, Patch, QueryBool, UTCDateTime, page_body, page_schema
from workflow_app.uow import read_only, unit_of_work


class NotificationQuery(PageQuery):
    unread = QueryBool()


class NotificationOut(Schema):
    id = fields.Int()
    kind = fields.Str()
    subject = fields.Str()
    body = fields.Str()
    link = fields.Str()
    appraisal_id = fields.Int(allow_none=True)
    urgent = fields.Bool()
    created_at = UTCDateTime()
    read_at = UTCDateTime(allow_none=True)
    email_status = fields.Str()


NotificationPage = page_schema(NotificationOut, unread=fields.Int())


class PreferencesIn(Patch):
    locale = fields.Str(validate=validate.OneOf(["id", "en"]))
    email_digest = fields.Str(validate=validate.OneOf(["immediate", "daily"]))


class PreferencesOut(Schema):
    locale = fields.Str()
    email_digest = fields.Str()


blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications", description="Notifications")


@blp.route("", methods=["GET"])
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationPage)
def list_notifications(query):
    """Your notifications, newest first, in your language."""
    page, per_page = query["page"], query["per_page"]
    with read_only():
        result = inbox.list_notifications(actor(), bool(query.get("unread")), page, per_page)
    return page_body(result["items"], result["total"], page, per_page, unread=result["unread"])


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationOut)
def mark_read(notification_id):
    """Mark one of your notifications read."""
    with unit_of_work():
        return inbox.mark_read(actor(), notification_id)


@blp.route("/read-all", methods=["POST"])
@blp.response(204)
def mark_all_read():
    """Mark all your notifications read."""
    with unit_of_work():
        inbox.mark_all_read(actor())


@blp.route("/preferences", methods=["GET"])
@blp.response(200, PreferencesOut)
def get_preferences():
    return inbox.preferences(actor())


@blp.route("/preferences", methods=["PATCH"])
@blp.arguments(PreferencesIn)
@blp.response(200, PreferencesOut)
def set_preferences(data):
    """Language of your emails and whether non-urgent ones come as a daily digest."""
    with unit_of_work():
        return inbox.set_preferences(actor(), data)
