"""A user's in-app notifications: list (rendered in their language), mark read, preferences.

Use cases for every front door; they only flush, the unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Notification, User
from workflow_app.notifications.render import link_for, subject_and_body
from workflow_app.services.access import Actor


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    subject: str
    body: str
    link: str | None
    appraisal_id: int | None
    urgent: bool
    created_at: datetime
    read_at: datetime | None
    email_status: str


def _me(actor: Actor) -> User:
    user = db.session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise problems.forbidden(N_("Notifications belong to a signed-in user."))
    return user


def present(n: Notification, lang: str) -> NotificationView:
    subject, body = subject_and_body(n.kind, n.context, lang)
    return NotificationView(
        n.id, n.kind, subject, body, link_for(n.context), n.appraisal_id, n.urgent, n.created_at, n.read_at,
        n.email_status,
    )  # fmt: skip


def list_notifications(actor: Actor, unread_only: bool, page: int, per_page: int) -> dict:
    """The caller's notifications, newest first, with the page, the total and the unread count."""
    me = _me(actor)
    base = select(Notification).where(Notification.user_id == me.id)
    if unread_only:
        base = base.where(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    unread = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == me.id, Notification.read_at.is_(None))
    )
    rows = db.session.scalars(
        base.order_by(Notification.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return {"items": [present(n, me.locale) for n in rows], "total": total, "unread": unread}


def mark_read(actor: Actor, notification_id: int) -> NotificationView:
    me = _me(actor)
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != me.id:
        raise problems.not_found("notification")
    if n.read_at is None:
        n.read_at = utcnow()
        db.session.flush()
    return present(n, me.locale)


def mark_all_read(actor: Actor) -> int:
    me = _me(actor)
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == me.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0


def preferences(actor: Actor) -> dict:
    me = _me(actor)
    return {"locale": me.locale, "email_digest": me.email_digest}


def set_preferences(actor: Actor, data: dict) -> dict:
    me = _me(actor)
    for key in ("locale", "email_digest"):
        if key in data:
            setattr(me, key, data[key])
    db.session.flush()
    return preferences(actor)


def unread_count(actor: Actor) -> int:
    """How many of the caller's notifications are unread (the bell on every page)."""
    if actor.user_id is None:
        return 0
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    )
