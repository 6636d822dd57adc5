"""Monitoring use cases for HR: counts per state and unit, ageing, overdue and stuck items."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, false, func, literal, or_, select, text, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import selectinload

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Appraisal, AppraisalClock, AppraisalCount, Cycle, Unit
from workflow_app.scoring import PREDIKATS
from workflow_app.services.access import Actor, unit_scope_filter

AGEING_BUCKETS = ((7, "0-7"), (14, "8-14"), (30, "15-30"))
log = logging.getLogger(__name__)


def require_monitor(actor: Actor) -> None:
    """Monitoring (its pages, lists and interventions) is for HR and admins: 403 for anyone else."""
    if not (actor.hr_paths or actor.admin_paths):
        raise problems.forbidden(N_("Monitoring is for HR and admins."))


# --- counting: the triggers' deltas, the clock's base and what crossed a boundary since ---------

# The ages ``appraisal_clock`` keeps a count before (its columns; AGEING_BUCKETS' edges).
CLOCK_DAYS = (7, 14, 30)
# The stuck list counts its rows up to this many; past it, its total says "at least this many".
STUCK_COUNT_LIMIT = 10_000
# A read that met more uncompacted deltas than this compacts them (PostgreSQL, its own
# transaction) instead of waiting for the next sweep: a bulk update wrote one per row.
LAZY_COMPACT_DELTAS = 50_000


def _in_scope(actor: Actor, query, filters: dict, cycle_column, unit_column):
    """``query`` joined to the unit of ``unit_column``, limited to the actor's scope and filters."""
    require_monitor(actor)
    query = query.join(Unit, Unit.id == unit_column).where(unit_scope_filter(actor))
    if filters.get("cycle") is not None:
        query = query.where(cycle_column == filters["cycle"])
    if filters.get("unit") is not None:
        unit = db.session.get(Unit, filters["unit"])
        if unit is None or not actor.manages(unit.path):
            raise problems.validation_error({"unit": [N_("No unit with that id is in your scope.")]})
        query = query.where(Unit.path.startswith(unit.path, autoescape=True))
    return query


def _scoped(actor: Actor, query, filters: dict):
    """An appraisal query (already joined to its unit) limited to the actor's scope and filters."""
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


def state_counts(actor: Actor, filters: dict, *, by_predikat: bool = False) -> list[tuple]:
    """(unit id, unit path, unit name, state, n) — with ``by_predikat`` (…, state, predikat, n) —
    for every non-empty key in scope: the sums of the deltas the triggers wrote, no appraisal read."""
    C = AppraisalCount
    keys = (C.unit_id, C.state) + ((C.predikat,) if by_predikat else ())
    total = func.sum(C.n)
    # summed per unit id first (the unit's scope as a semi-join), named after
    units = _scoped(actor, select(Unit.id), {k: v for k, v in filters.items() if k != "cycle"})
    summed = select(*keys, total.label("n")).where(C.unit_id.in_(units)).group_by(*keys).having(total != 0)
    if filters.get("cycle") is not None:
        summed = summed.where(C.cycle_id == filters["cycle"])
    summed = summed.subquery()
    named = [summed.c.unit_id, Unit.path, Unit.name, summed.c.state]
    named += [summed.c.predikat] if by_predikat else []
    return db.session.execute(select(*named, summed.c.n).join(Unit, Unit.id == summed.c.unit_id)).all()


def clock_counts(actor: Actor, filters: dict, now: datetime) -> dict[int, list[int]]:
    """Per unit id: open appraisals past due at ``now``, and open appraisals that entered their
    state more than 7, 14 and 30 days before ``now`` — exactly, without counting every row.

    At the last compaction (``mark``) ``appraisal_clock`` counted them; since then the triggers
    recorded every open row that came, went or moved (its deadline and entry time in
    ``appraisal_counts``), and the rows whose deadline or age crossed a boundary between
    ``mark`` and ``now`` are read from the partial indexes: a count now is base + deltas on the
    far side of the boundary at ``mark`` + rows between the boundary at ``mark`` and at ``now``.
    """
    C, K = AppraisalCount, AppraisalClock
    mark = db.session.scalar(select(func.max(K.mark)))
    out: dict[int, list[int]] = {}

    def add(rows) -> None:
        for unit_id, *values in rows:
            acc = out.setdefault(unit_id, [0] * (1 + len(CLOCK_DAYS)))
            for i, v in enumerate(values):
                acc[i] += int(v or 0)

    if mark is not None:
        base = select(
            K.unit_id,
            func.sum(K.overdue),
            func.sum(K.entered_before_7),
            func.sum(K.entered_before_14),
            func.sum(K.entered_before_30),
        ).group_by(K.unit_id)
        add(db.session.execute(_in_scope(actor, base, filters, K.cycle_id, K.unit_id)))
        on_far_side = [C.due_at < mark] + [C.entered_at < mark - timedelta(days=d) for d in CLOCK_DAYS]
        deltas = (
            select(C.unit_id, *[func.sum(case((cond, C.n), else_=0)) for cond in on_far_side], func.count())
            .where(C.entered_at.is_not(None))  # open rows' deltas not yet compacted
            .group_by(C.unit_id)
        )
        found = db.session.execute(_in_scope(actor, deltas, filters, C.cycle_id, C.unit_id)).all()
        add(row[:-1] for row in found)
        if sum(row[-1] for row in found) > LAZY_COMPACT_DELTAS:
            _compact_after_a_large_read()

    # The rows between a boundary at ``mark`` and the same boundary at ``now`` (subtracted when
    # the clock reads earlier than the mark).
    sign = 1 if mark is None or mark <= now else -1
    is_open = Appraisal.state.in_(APPRAISAL.open_states)
    parts = []
    for i, (column, days) in enumerate(
        [(Appraisal.due_at, 0)] + [(Appraisal.state_entered_at, d) for d in CLOCK_DAYS]
    ):
        edge_now = now - timedelta(days=days)
        edge_mark = None if mark is None else mark - timedelta(days=days)
        lo, hi = (edge_mark, edge_now) if sign > 0 else (edge_now, edge_mark)
        where = [is_open, column < hi] + ([column >= lo] if lo is not None else [column.is_not(None)])
        columns = [literal(sign if k == i else 0) for k in range(1 + len(CLOCK_DAYS))]
        part = select(Appraisal.unit_id, *[c * func.count() for c in columns]).where(*where)
        parts.append(
            _in_scope(actor, part, filters, Appraisal.cycle_id, Appraisal.unit_id).group_by(Appraisal.unit_id)
        )
    add(db.session.execute(union_all(*parts)))
    return out


def _compact_after_a_large_read() -> None:
    if db.engine.dialect.name != "postgresql":
        return
    try:
        compact_counts()
    except DBAPIError:  # the sweep folds them later
        log.warning("monitoring counts: compaction after a read failed", exc_info=True)


def compact_counts(now: datetime | None = None, connection=None) -> dict:
    """Fold the deltas into one row per key and move the clock's base to ``now``.

    Exact under concurrent writers: on PostgreSQL it runs in one REPEATABLE READ transaction of
    its own (every statement sees the same snapshot: the deltas it folds and deletes are those
    of the rows it counts; it waits at most 5 s for a lock), SQLite lets no other writer in
    once it has written — there it runs in the session's transaction (the caller's unit of
    work commits it). Two compactions never run at once (an advisory lock; the second does
    nothing). ``connection``: compact in that connection's transaction (tests, without
    concurrent writers).
    """
    now = now or utcnow()
    if connection is not None:
        return _compact(connection, now)
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return _compact(db.session.connection(), now)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                if not conn.scalar(text("SELECT pg_try_advisory_xact_lock(7259001)")):
                    return {"compacted": 0, "skipped": True}
                return _compact(conn, now)
    except DBAPIError as exc:
        # another compaction committed under this one's snapshot (serialization failure), or a
        # lock was held too long: nothing was changed, the next sweep folds them
        if getattr(exc.orig, "sqlstate", None) not in ("40001", "55P03"):
            raise
        return {"compacted": 0, "skipped": True}


def rebuild_counts(now: datetime | None = None, connection=None) -> dict:
    """Count afresh from the appraisals: after a restore, or rows written with the triggers
    disabled. Writers to the appraisals wait meanwhile (PostgreSQL: a SHARE lock)."""
    now = now or utcnow()
    if connection is None:
        with db.engine.begin() as conn:
            return rebuild_counts(now, conn)
    A, C, K = Appraisal.__table__, AppraisalCount.__table__, AppraisalClock.__table__
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE appraisals IN SHARE MODE")
    connection.execute(C.delete())
    connection.execute(K.delete())
    keys = (A.c.cycle_id, A.c.unit_id, A.c.state, A.c.predikat)
    connection.execute(
        C.insert().from_select(
            ["cycle_id", "unit_id", "state", "predikat", "n"], select(*keys, func.count()).group_by(*keys)
        )
    )
    return _compact(connection, now)  # without a mark: the clock counted from every open row


def _compact(conn, now: datetime) -> dict:
    C, K = AppraisalCount.__table__, AppraisalClock.__table__
    # Write first: on SQLite that takes the write lock before anything is read.
    old = conn.execute(K.delete().returning(K.c.cycle_id, K.c.unit_id, K.c.mark, K.c.overdue,
                                            K.c.entered_before_7, K.c.entered_before_14,
                                            K.c.entered_before_30)).all()  # fmt: skip
    last = conn.scalar(select(func.max(C.c.id)))
    if last is None and not old:
        return {"compacted": 0}
    mark = old[0].mark if old else None
    base: dict[tuple[int, int], list[int]] = {(r.cycle_id, r.unit_id): list(r[3:]) for r in old}

    def add(rows) -> None:
        for cycle_id, unit_id, *values in rows:
            acc = base.setdefault((cycle_id, unit_id), [0] * (1 + len(CLOCK_DAYS)))
            for i, v in enumerate(values):
                acc[i] += int(v or 0)

    folded = C.c.id <= last if last is not None else false()
    if mark is not None:
        far = [C.c.due_at < mark] + [C.c.entered_at < mark - timedelta(days=d) for d in CLOCK_DAYS]
        add(conn.execute(
            select(C.c.cycle_id, C.c.unit_id, *[func.sum(case((f, C.c.n), else_=0)) for f in far])
            .where(folded, C.c.entered_at.is_not(None))
            .group_by(C.c.cycle_id, C.c.unit_id)
        ))  # fmt: skip
    t = Appraisal.__table__
    is_open = t.c.state.in_(APPRAISAL.open_states)
    edges = [(t.c.due_at, 0)] + [(t.c.state_entered_at, d) for d in CLOCK_DAYS]
    if mark is None or mark <= now:
        # only the rows between the old and the new boundaries (the partial indexes)
        for i, (column, days) in enumerate(edges):
            lo = None if mark is None else mark - timedelta(days=days)
            hi = now - timedelta(days=days)
            where = [is_open, column < hi] + ([column >= lo] if lo is not None else [])
            rows = conn.execute(
                select(t.c.cycle_id, t.c.unit_id, func.count())
                .where(*where)
                .group_by(t.c.cycle_id, t.c.unit_id)
            ).all()
            add((c, u, *[n if k == i else 0 for k in range(len(edges))]) for c, u, n in rows)
    else:  # the clock went back: count afresh
        base = {}
        add(conn.execute(
            select(t.c.cycle_id, t.c.unit_id,
                   *[func.sum(case((col < now - timedelta(days=d), 1), else_=0)) for col, d in edges])
            .where(is_open).group_by(t.c.cycle_id, t.c.unit_id)
        ))  # fmt: skip
    deltas = 0
    if last is not None:
        gone = conn.execute(
            select(C.c.cycle_id, C.c.unit_id, C.c.state, C.c.predikat, func.sum(C.c.n), func.count())
            .where(folded)
            .group_by(C.c.cycle_id, C.c.unit_id, C.c.state, C.c.predikat)
        ).all()
        conn.execute(C.delete().where(folded))
        keep = [
            {"cycle_id": c, "unit_id": u, "state": s, "predikat": p, "n": n} for c, u, s, p, n, _ in gone if n
        ]
        if keep:
            conn.execute(C.insert(), keep)
        deltas = sum(k for *_, k in gone)
    rows = [
        {"cycle_id": c, "unit_id": u, "mark": now, "overdue": v[0],
         "entered_before_7": v[1], "entered_before_14": v[2], "entered_before_30": v[3]}
        for (c, u), v in base.items()
        if any(v)
    ]  # fmt: skip
    if rows:
        conn.execute(K.insert(), rows)
    else:  # keep the mark: one row of zeros
        conn.execute(K.insert(), [{"cycle_id": 0, "unit_id": 0, "mark": now, "overdue": 0,
                                   "entered_before_7": 0, "entered_before_14": 0, "entered_before_30": 0}])  # fmt: skip
    return {"compacted": deltas, "keys": len(rows)}


def _ageing(open_n: int, before: list[int]) -> dict[str, int]:
    """The ageing buckets from the open count and the counts entered before 7, 14, 30 days."""
    b7, b14, b30 = before
    return {"0-7": open_n - b7, "8-14": b7 - b14, "15-30": b14 - b30, ">30": b30}


def summary(actor: Actor, filters: dict) -> dict:
    now = utcnow()
    open_states = set(APPRAISAL.open_states)
    cells = state_counts(actor, filters)
    clock = clock_counts(actor, filters, now)
    units: dict[int, dict] = {}
    totals: dict[str, int] = dict.fromkeys(APPRAISAL.states, 0)
    for unit_id, _path, name, state, n in cells:
        row = units.setdefault(unit_id, {"unit_id": unit_id, "unit": name, "states": {}, "overdue": 0})
        row["states"][state] = row["states"].get(state, 0) + int(n)
        totals[state] += int(n)
    before = [0, 0, 0]
    overdue_total = 0
    for unit_id, (overdue, *b) in clock.items():
        if overdue and unit_id in units:
            units[unit_id]["overdue"] += overdue
        overdue_total += overdue
        before = [x + y for x, y in zip(before, b, strict=True)]
    open_n = sum(n for s, n in totals.items() if s in open_states)
    return {
        "generated_at": now,
        "total": sum(totals.values()),
        "open": open_n,
        "overdue": overdue_total,
        "by_state": totals,
        "ageing_days": _ageing(open_n, before),
        "by_unit": sorted(units.values(), key=lambda r: r["unit"]),
    }


def _stuck_query(actor: Actor, filters: dict, now, idle_days: int):
    return _scoped(
        actor,
        select(Appraisal)
        .join(Unit, Unit.id == Appraisal.unit_id)
        .where(
            Appraisal.state.in_(APPRAISAL.open_states),
            or_(Appraisal.due_at < now, Appraisal.state_entered_at < now - timedelta(days=idle_days)),
        ),
        filters,
    )


def capped_count(query, limit: int | None = None) -> tuple[int, bool]:
    """The rows of ``query``, counted up to ``limit`` (STUCK_COUNT_LIMIT): (count, whether there
    are more)."""
    limit = STUCK_COUNT_LIMIT if limit is None else limit
    n = db.session.scalar(
        select(func.count()).select_from(
            query.with_only_columns(literal(1)).order_by(None).limit(limit + 1).subquery()
        )
    )
    return min(n, limit), n > limit


def stuck(actor: Actor, filters: dict, page: int, per_page: int):
    """A page of stuck appraisals, oldest first: (rows, total, idle_days); the total counts up
    to STUCK_COUNT_LIMIT (``stuck_counted`` says whether there are more)."""
    rows, total, idle_days, _more = stuck_counted(actor, filters, page, per_page)
    return rows, total, idle_days


def stuck_counted(actor: Actor, filters: dict, page: int, per_page: int):
    """``stuck``, and whether the total is capped at STUCK_COUNT_LIMIT (there are more).

    Counting every stuck appraisal of a million reads most of them (past due and idle rows
    are each a large share); the page itself reads 50 entries of ix_appraisals_open_since."""
    now = utcnow()
    idle_days = filters.get("idle_days") or current_app.config["STUCK_AFTER_DAYS"]
    query = _stuck_query(actor, filters, now, idle_days)
    total, more = capped_count(query)
    since = func.coalesce(Appraisal.due_at, Appraisal.state_entered_at)
    # selectinload, not joinedload: the page's 50 ids are sorted and limited first (along the
    # partial index ix_appraisals_open_since), then their people are fetched.
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
    return rows, total, idle_days, more


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
    that contains them, so the page drills down one level at a time. Counted from the triggers'
    counts and the clock (``state_counts``, ``clock_counts``), not from the appraisals.
    """

    now = utcnow()
    open_states = set(APPRAISAL.open_states)
    cells = state_counts(actor, filters, by_predikat=True)
    clock = clock_counts(actor, filters, now)
    path_of = {unit_id: path for unit_id, path, *_ in cells}

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
    open_of: dict[int, int] = {}
    for unit_id, _path, _name, state, predikat, n in cells:
        n = int(n)
        for row in (rows.setdefault(group_of(path_of[unit_id]), empty_row()), totals):
            row["total"] += n
            row["states"][state] += n
            if state in open_states:
                row["open"] += n
            if predikat in row["predikat"] and state != "cancelled":
                row["predikat"][predikat] += n
        if state in open_states:
            open_of[unit_id] = open_of.get(unit_id, 0) + n
    for unit_id, (overdue, *before) in clock.items():
        if unit_id not in open_of:  # none open (the clock's zeros)
            continue
        ageing = _ageing(open_of[unit_id], before)
        for row in (rows.setdefault(group_of(path_of[unit_id]), empty_row()), totals):
            row["overdue"] += overdue
            for label, n in ageing.items():
                row["ageing"][label] += n
    for unit_id, n in open_of.items():
        if unit_id not in clock:  # every open appraisal of this unit entered its state within 7 days
            for row in (rows[group_of(path_of[unit_id])], totals):
                row["ageing"]["0-7"] += n

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
