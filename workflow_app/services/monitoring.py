"""Monitoring use cases for HR: counts per state and unit, ageing, overdue and stuck items."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Appraisal, Unit
from workflow_app.services.access import Actor, unit_scope_filter

AGEING_BUCKETS = ((7, "0-7"), (14, "8-14"), (30, "15-30"))


def _scoped(actor: Actor, query, filters: dict):
    if not (actor.hr_paths or actor.admin_paths):
        raise problems.forbidden(N_("Monitoring is for HR and admins."))
    query = query.where(unit_scope_filter(actor))
    if filters.get("cycle") is not None:
        query = query.where(Appraisal.cycle_id == filters["cycle"])
    if filters.get("unit") is not None:
        unit = db.session.get(Unit, filters["unit"])
        if unit is None or not actor.manages(unit.path):
            raise problems.validation_error({"unit": [N_("No unit with that id is in your scope.")]})
        query = query.where(Unit.path.startswith(unit.path, autoescape=True))
    return query


def summary(actor: Actor, filters: dict) -> dict:
    now = utcnow()
    open_states = APPRAISAL.open_states
    is_open = Appraisal.state.in_(open_states)
    overdue = and_(is_open, Appraisal.due_at < now)
    age = func.coalesce(Appraisal.state_entered_at, now)
    bucket = case(
        *[(age >= now - timedelta(days=d), label) for d, label in AGEING_BUCKETS],
        else_=">30",
    )
    # One scan: cells of unit × state × age bucket; the Python side folds them up.
    query = _scoped(
        actor,
        select(
            Appraisal.unit_id,
            Unit.name,
            Appraisal.state,
            bucket.label("bucket"),
            func.count().label("n"),
            func.sum(case((overdue, 1), else_=0)).label("overdue"),
        )
        .select_from(Appraisal)
        .join(Unit, Unit.id == Appraisal.unit_id)
        .group_by(Appraisal.unit_id, Unit.name, Appraisal.state, bucket),
        filters,
    )
    units: dict[int, dict] = {}
    totals: dict[str, int] = dict.fromkeys(APPRAISAL.states, 0)
    ageing = {label: 0 for _, label in AGEING_BUCKETS} | {">30": 0}
    overdue_total = 0
    for unit_id, unit_name, state, label, n, n_overdue in db.session.execute(query):
        row = units.setdefault(unit_id, {"unit_id": unit_id, "unit": unit_name, "states": {}, "overdue": 0})
        row["states"][state] = row["states"].get(state, 0) + n
        row["overdue"] += int(n_overdue or 0)
        totals[state] += n
        overdue_total += int(n_overdue or 0)
        if state in open_states:
            ageing[label] += n
    return {
        "generated_at": now,
        "total": sum(totals.values()),
        "open": sum(totals[s] for s in open_states),
        "overdue": overdue_total,
        "by_state": totals,
        "ageing_days": ageing,
        "by_unit": sorted(units.values(), key=lambda r: r["unit"]),
    }


def stuck(actor: Actor, filters: dict, page: int, per_page: int):
    now = utcnow()
    idle_days = filters.get("idle_days") or current_app.config["STUCK_AFTER_DAYS"]
    query = _scoped(
        actor,
        select(Appraisal)
        .join(Unit, Unit.id == Appraisal.unit_id)
        .where(
            Appraisal.state.in_(APPRAISAL.open_states),
            or_(Appraisal.due_at < now, Appraisal.state_entered_at < now - timedelta(days=idle_days)),
        ),
        filters,
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    since = func.coalesce(Appraisal.due_at, Appraisal.state_entered_at)
    # selectinload, not joinedload: the page's 50 ids are sorted and limited first, then their
    # people are fetched; joining before LIMIT made PostgreSQL join every stuck row (bench/).
    rows = db.session.scalars(
        query.options(
            selectinload(Appraisal.unit),
            selectinload(Appraisal.employee),
            selectinload(Appraisal.assessor),
            selectinload(Appraisal.superior),
        )
        .order_by(since, Appraisal.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, total, idle_days
