"""Incidents: deliveries that exhausted their retries, for HR and admins to see and retry."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Incident, Notification, OutboxMessage, Unit
from workflow_app.services.access import Actor, unit_scope_filter


def _require_staff(actor: Actor) -> None:
    if not (actor.hr_paths or actor.admin_paths):
        raise problems.forbidden(N_("Incidents are for HR and admins."))


def _visible(actor: Actor):
    """Incidents of units in the actor's scope; those of no unit only to a whole-tree scope."""
    in_scope = Incident.unit_id.in_(select(Unit.id).where(unit_scope_filter(actor)))
    return or_(in_scope, Incident.unit_id.is_(None)) if actor.manages_a_whole_tree else in_scope


def list_incidents(
    actor: Actor, include_resolved: bool, page: int, per_page: int
) -> tuple[list[Incident], int]:
    """Newest first, filtered and paginated in SQL."""
    _require_staff(actor)
    query = select(Incident).where(_visible(actor))
    if not include_resolved:
        query = query.where(Incident.resolved_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Incident.created_at.desc(), Incident.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def retry(actor: Actor, incident_id: int) -> Incident:
    """Put the failed delivery back in the queue; the incident resolves when it is re-queued."""
    _require_staff(actor)
    incident = db.session.scalar(
        select(Incident).where(Incident.id == incident_id, _visible(actor)).with_for_update()
    )
    if incident is None:
        raise problems.not_found("incident")
    if incident.resolved_at is not None:
        raise problems.Problem(409, "incident-resolved", detail=N_("This incident is already resolved."))
    now = utcnow()
    if incident.ref_type == "notification":
        row = db.session.get(Notification, incident.ref_id)
        if row is not None:
            row.email_status, row.email_attempts, row.email_error = "pending", 0, None
    elif incident.ref_type == "outbox":
        row = db.session.get(OutboxMessage, incident.ref_id)
        if row is not None:
            row.status, row.attempts, row.available_at = "pending", 0, now
    incident.retried_at = incident.resolved_at = now
    db.session.flush()
    return incident
