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
from workflow_app.models import Appraisal, Cycle, Unit
from workflow_app.scoring import PREDIKATS
from workflow_app.services.access import Actor, unit_scope_filter

AGEING_BUCKETS = ((7, "0-7"), (14, "8-14"), (30, "15-30"))


def require_monitor(actor: Actor) -> None:
    """Monitoring (its pages, lists and interventions) is for HR and admins: 403 for anyone else."""
    if not (actor.hr_paths or actor.admin_paths):
        raise problems.forbidden(N_("Monitoring is for HR and admins."))


def _scoped(actor: Actor, query, filters: dict):
    require_monitor(actor)
    query = query.where(unit_scope_filter(actor))
    if filters.get("cycle") is not None:
        query = query.where(Appraisal.cycle_id == filters["cycle"])
    if filters.get("unit") is not None:
        unit = db.session.get(Unit, filters["unit"])
        if unit is None or not actor.manages(unit.path):
            raise problems.validation_error({"unit": [N_("No unit with that id is in your scope.")]})
        query = query.where(Unit.path.startswith(unit.path, autoescape=True))
    return query


def _open_overdue_and_age(now):
    """SQL expressions: the appraisal is open; it is open and past due; its ageing bucket."""
    is_open = Appraisal.state.in_(APPRAISAL.open_states)
    age = func.coalesce(Appraisal.state_entered_at, now)
    bucket = case(
        *[(age >= now - timedelta(days=d), label) for d, label in AGEING_BUCKETS],
        else_=">30",
    )
    return is_open, and_(is_open, Appraisal.due_at < now), bucket


def summary(actor: Actor, filters: dict) -> dict:
    now = utcnow()
    open_states = APPRAISAL.open_states
    is_open, overdue, bucket = _open_overdue_and_age(now)
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


# --- the monitoring page (web): one dashboard, and the list of appraisals that need HR -------


def _scope_roots(actor: Actor) -> list[str]:
    """The outermost unit paths of the actor's HR and admin scopes."""
    paths = sorted(set(actor.hr_paths + actor.admin_paths), key=len)
    roots: list[str] = []
    for path in paths:
        if not any(path.startswith(root) for root in roots):
            roots.append(path)
    return roots


def _unit_id_of(path: str) -> int:
    return int(path.rstrip("/").rsplit("/", 1)[-1])


def dashboard(actor: Actor, filters: dict) -> dict:
    """Counts per state, and per unit one level below the focus: open, overdue, ageing, predikat.

    The focus is the unit filter, else the actor's scope (its top unit, or each of its top units
    when the scope has several). Appraisals of deeper units count toward the unit below the focus
    that contains them, so the page drills down one level at a time. Two grouped scans.
    """

    now = utcnow()
    open_states = APPRAISAL.open_states
    is_open, overdue, bucket = _open_overdue_and_age(now)
    cells = db.session.execute(
        _scoped(
            actor,
            select(
                Unit.path,
                Appraisal.state,
                bucket.label("bucket"),
                func.count().label("n"),
                func.sum(case((overdue, 1), else_=0)).label("overdue"),
            )
            .select_from(Appraisal)
            .join(Unit, Unit.id == Appraisal.unit_id)
            .group_by(Unit.path, Appraisal.state, bucket),
            filters,
        )
    ).all()
    grades = db.session.execute(
        _scoped(
            actor,
            select(Unit.path, Appraisal.predikat, func.count())
            .select_from(Appraisal)
            .join(Unit, Unit.id == Appraisal.unit_id)
            .where(Appraisal.predikat.is_not(None), Appraisal.state != "cancelled")
            .group_by(Unit.path, Appraisal.predikat),
            filters,
        )
    ).all()

    if filters.get("unit") is not None:
        focus_paths = [db.session.get(Unit, filters["unit"]).path]
    else:
        focus_paths = _scope_roots(actor)
    single = len(focus_paths) == 1

    def group_of(path: str) -> str:
        """The path of the row an appraisal of the unit at ``path`` counts toward."""
        for focus in focus_paths:
            if path.startswith(focus):
                if not single or path == focus:
                    return focus
                child = path[len(focus) :].split("/", 1)[0]
                return f"{focus}{child}/"
        return path  # not reached: the query is scoped to these paths

    ageing_labels = [label for _, label in AGEING_BUCKETS] + [">30"]

    def empty_row() -> dict:
        return {
            "total": 0,
            "open": 0,
            "overdue": 0,
            "states": dict.fromkeys(APPRAISAL.states, 0),
            "ageing": dict.fromkeys(ageing_labels, 0),
            "predikat": dict.fromkeys(PREDIKATS, 0),
        }

    rows: dict[str, dict] = {}
    totals = empty_row()
    for path, state, label, n, n_overdue in cells:
        for row in (rows.setdefault(group_of(path), empty_row()), totals):
            row["total"] += n
            row["states"][state] += n
            row["overdue"] += int(n_overdue or 0)
            if state in open_states:
                row["open"] += n
                row["ageing"][label] += n
    for path, predikat, n in grades:
        if predikat in totals["predikat"]:
            rows.setdefault(group_of(path), empty_row())["predikat"][predikat] += n
            totals["predikat"][predikat] += n

    ids = {path: _unit_id_of(path) for path in rows}
    # The focus and the units above it in the actor's scope: the way back up.
    trail_ids = [int(i) for p in focus_paths[:1] if single for i in p.strip("/").split("/")]
    wanted = set(ids.values()) | set(trail_ids)
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(wanted))).all()}
    children = set(
        db.session.scalars(select(Unit.parent_id).where(Unit.parent_id.in_(set(ids.values()))).distinct())
    )
    trail = [
        {"id": units[i].id, "name": units[i].name}
        for i in trail_ids
        if i in units and actor.manages(units[i].path)
    ]
    by_unit = []
    for path, row in rows.items():
        unit = units.get(ids[path])
        if unit is None:
            continue
        row.update(
            unit_id=unit.id,
            unit=unit.name,
            code=unit.code,
            is_focus=path in focus_paths and single,
            has_children=unit.id in children and not (path in focus_paths and single),
        )
        by_unit.append(row)
    # The focus unit's own appraisals first, then the units below it by name.
    by_unit.sort(key=lambda r: (not r["is_focus"], r["unit"]))
    return {
        "generated_at": now,
        **totals,
        "by_unit": by_unit,
        "focus_unit_id": _unit_id_of(focus_paths[0]) if single and focus_paths else None,
        "trail": trail,
        "ageing_buckets": ageing_labels,
    }


def attention_query(actor: Actor, filters: dict):
    """The appraisals HR's list shows, oldest first, as a query (the page and the CSV share it).

    Open appraisals that are stuck (past due, or idle ``idle_days``), narrowed by ``state`` and
    ``overdue``; a terminal ``state`` (closed, cancelled) lists those appraisals instead, so that
    HR finds the closed one to reopen.
    """
    now = utcnow()
    idle_days = filters.get("idle_days") or current_app.config["STUCK_AFTER_DAYS"]
    state = filters.get("state")
    query = select(Appraisal).join(Unit, Unit.id == Appraisal.unit_id)
    if state in APPRAISAL.terminal_states:
        query = query.where(Appraisal.state == state)
        order = (Appraisal.state_entered_at, Appraisal.id)
    else:
        query = query.where(
            Appraisal.state.in_([state] if state else APPRAISAL.open_states),
            or_(Appraisal.due_at < now, Appraisal.state_entered_at < now - timedelta(days=idle_days)),
        )
        order = (func.coalesce(Appraisal.due_at, Appraisal.state_entered_at), Appraisal.id)
    if filters.get("overdue"):
        query = query.where(Appraisal.due_at < now, Appraisal.state.in_(APPRAISAL.open_states))
    return _scoped(actor, query, filters).order_by(*order), idle_days


def attention(actor: Actor, filters: dict, page: int, per_page: int):
    """One page of ``attention_query``: (rows with their people loaded, total, idle_days)."""
    query, idle_days = attention_query(actor, filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(
        query.options(
            selectinload(Appraisal.unit),
            selectinload(Appraisal.employee),
            selectinload(Appraisal.assessor),
            selectinload(Appraisal.superior),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, total, idle_days


def cycles_in_scope(actor: Actor) -> list:
    """Cycles whose unit tree overlaps the actor's HR or admin scope, newest first."""
    require_monitor(actor)
    roots = actor.hr_paths + actor.admin_paths
    rows = db.session.scalars(
        select(Cycle)
        .join(Unit, Unit.id == Cycle.unit_id)
        .options(selectinload(Cycle.unit))
        .order_by(Cycle.year.desc(), Cycle.id.desc())
    ).all()
    return [c for c in rows if any(c.unit.path.startswith(p) or p.startswith(c.unit.path) for p in roots)]
