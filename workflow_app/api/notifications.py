"""In-app notifications of the caller."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select, update

from workflow_app import problems
from workflow_app.api import actor
from workflow_app.api.schemas import In, Page, PageOut, Patch, PerPage, QueryBool, UTCDateTime
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Notification, User
from workflow_app.notifications.render import link_for, subject_and_body
from workflow_app.uow import unit_of_work

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications", description="Notifications")


class NotificationQuery(In):
    unread = QueryBool()
    page = Page()
    per_page = PerPage()


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


class NotificationPage(PageOut):
    unread = fields.Int()
    items = fields.List(fields.Nested(NotificationOut))


class PreferencesIn(Patch):
    locale = fields.Str(validate=validate.OneOf(["id", "en"]))
    email_digest = fields.Str(validate=validate.OneOf(["immediate", "daily"]))


class PreferencesOut(Schema):
    locale = fields.Str()
    email_digest = fields.Str()


def _present(n: Notification, lang: str) -> Notification:
    n.subject, n.body = subject_and_body(n.kind, n.context, lang)
    n.link = link_for(n.context)
    return n


@blp.route("", methods=["GET"])
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationPage)
def list_notifications(query):
    """Your notifications, newest first, in your language."""
    me = db.session.get(User, actor().user_id)
    base = select(Notification).where(Notification.user_id == me.id)
    if query.get("unread"):
        base = base.where(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    unread = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == me.id, Notification.read_at.is_(None))
    )
    page, per_page = query["page"], query["per_page"]
    rows = db.session.scalars(
        base.order_by(Notification.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    items = [_present(n, me.locale) for n in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total, "unread": unread}


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationOut)
def mark_read(notification_id):
    """Mark one of your notifications read."""
    with unit_of_work():
        n = db.session.get(Notification, notification_id)
        if n is None or n.user_id != actor().user_id:
            raise problems.not_found("notification")
        if n.read_at is None:
            n.read_at = utcnow()
    return _present(n, db.session.get(User, actor().user_id).locale)


@blp.route("/read-all", methods=["POST"])
@blp.response(204)
def mark_all_read():
    """Mark all your notifications read."""
    with unit_of_work():
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == actor().user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )


@blp.route("/preferences", methods=["GET"])
@blp.response(200, PreferencesOut)
def get_preferences():
    return db.session.get(User, actor().user_id)


@blp.route("/preferences", methods=["PATCH"])
@blp.arguments(PreferencesIn)
@blp.response(200, PreferencesOut)
def set_preferences(data):
    """Language of your emails and whether non-urgent ones come as a daily digest."""
    with unit_of_work():
        me = db.session.get(User, actor().user_id)
        for key, value in data.items():
            setattr(me, key, value)
    return me
