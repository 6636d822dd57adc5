"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select, text

from state_machines import APPRAISAL
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, OutboxMessage
from workflow_app.redis_conn import get_redis

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as not ready
        checks["database"] = f"error: {type(exc).__name__}"
    finally:
        db.session.rollback()
    try:
        client = get_redis()
        if client is None:
            checks["redis"] = "error: REDIS_URL is not set"
        else:
            client.ping()
            checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


@bp.route("/metrics")
def metrics():
    registry = CollectorRegistry()
    by_state = Gauge("kinerja_appraisals", "Appraisals per state", ["state"], registry=registry)
    overdue = Gauge("kinerja_appraisals_overdue", "Open appraisals past due_at", registry=registry)
    outbox = Gauge("kinerja_outbox_messages", "Outbox messages per status", ["status"], registry=registry)
    counts = dict(db.session.execute(select(Appraisal.state, func.count()).group_by(Appraisal.state)).all())
    for state in APPRAISAL.states:
        by_state.labels(state).set(counts.get(state, 0))
    overdue.set(
        db.session.scalar(
            select(func.count())
            .select_from(Appraisal)
            .where(Appraisal.state.in_(APPRAISAL.open_states), Appraisal.due_at < utcnow())
        )
    )
    for status, n in db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        outbox.labels(status).set(n)
    db.session.rollback()
    # CONTENT_TYPE_LATEST carries its charset already: as ``content_type`` it is sent as is
    # (``mimetype=`` would append a second ``charset``).
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
