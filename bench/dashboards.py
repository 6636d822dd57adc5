"""Benchmark 2: HR's dashboards — the monitoring summary and the stuck list's first page.

Issue 9's goal: at 1,000,000 appraisals, summary and stuck page 1 p95 ≤ 100 ms, faster than the
one ``GROUP BY`` the limit needs today. Measured against, in the same run on the same data:

- *one GROUP BY*: the whole summary in one statement over the appraisals (per unit and state:
  count, overdue, ageing buckets), raw SQL through the driver — the least a scan must do;
- *top-50*: the stuck list's page 1 as one ``ORDER BY coalesce(due_at, state_entered_at), id
  LIMIT 50`` plus its exact ``count(*)``, raw SQL;
- a footnote: the naive ORM baseline (load every appraisal, count in Python), only up to
  ``NAIVE_MAX_ROWS`` appraisals; its results must equal the service's.

The service's results are cross-checked against the GROUP BY and the top-50 at every size (an
exact count of every figure; the stuck total up to its cap), so a fast wrong answer fails the run.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, case, literal, select, text, update

from bench.run import (
    PER_PAGE,
    STATE_SLOTS,
    BenchError,
    analyze,
    appraisal_count,
    hr_actor,
    timed,
    traced,
)

# Above this many appraisals the naive ORM baseline is skipped (minutes, and GiBs of RAM).
NAIVE_MAX_ROWS = 100_000
# Timed runs of each service call (p95 over these) and of each raw-SQL baseline (median).
SERVICE_RUNS = 20
BASELINE_RUNS = 3
GOAL_P95_SECONDS = 0.100


# --------------------------------------------------------------------------- data


def spread(now: datetime) -> None:
    """Spread appraisals over states, due dates and ages with one set-based UPDATE.

    Offsets are whole days plus 6 hours, so no value sits on a bucket edge while the run lasts.
    """
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal

    t = Appraisal.__table__
    due = case(
        *[(t.c.id % 61 == k, literal(now + timedelta(days=k - 40, hours=6), DateTime)) for k in range(1, 61)],
        else_=literal(None, DateTime),
    )
    entered = case(
        *[(t.c.id % 45 == k, literal(now - timedelta(days=k, hours=6), DateTime)) for k in range(1, 45)],
        else_=literal(now - timedelta(hours=6), DateTime),
    )
    state = case(*[(t.c.id % 20 == k, s) for k, s in enumerate(STATE_SLOTS)], else_="plan_drafted")
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(update(t).values(state=state, due_at=due, state_entered_at=entered))


# --------------------------------------------------------------------------- the service


def _comparable(result: dict) -> dict:
    return {
        "total": result["total"],
        "open": result["open"],
        "overdue": result["overdue"],
        "by_state": {k: v for k, v in result["by_state"].items() if v},
        "ageing_days": dict(result["ageing_days"]),
        "by_unit": {
            r["unit_id"]: ({k: v for k, v in r["states"].items() if v}, r["overdue"])
            for r in result["by_unit"]
        },
    }


def service_summary(actor) -> dict:
    from workflow_app.extensions import db
    from workflow_app.services import monitoring

    db.session.remove()
    result = monitoring.summary(actor, {})
    db.session.remove()
    return result


def service_stuck(actor) -> tuple[list[int], int]:
    from workflow_app.extensions import db
    from workflow_app.services import views

    db.session.remove()
    result = views.stuck_page(actor, {}, 1, PER_PAGE)  # what the API serves
    db.session.remove()
    return [row["id"] for row in result["items"]], result["total"]


# --------------------------------------------------------------------------- raw-SQL baselines


def _open_list() -> str:
    from state_machines import APPRAISAL

    return ", ".join(f"'{s}'" for s in APPRAISAL.open_states)


def group_by_summary(root_path: str, now: datetime) -> dict:
    """Baseline: the summary in one ``GROUP BY unit, state`` over the appraisals, raw SQL."""
    from workflow_app.extensions import db
    from workflow_app.services.monitoring import AGEING_BUCKETS

    open_ = _open_list()
    cuts = {label: now - timedelta(days=d) for d, label in AGEING_BUCKETS}
    sql = text(
        f"""
        SELECT a.unit_id, u.name, a.state, count(*),
               count(*) FILTER (WHERE a.state IN ({open_}) AND a.due_at < :now),
               count(*) FILTER (WHERE a.state IN ({open_}) AND coalesce(a.state_entered_at, :now) >= :c7),
               count(*) FILTER (WHERE a.state IN ({open_}) AND coalesce(a.state_entered_at, :now) < :c7
                                AND coalesce(a.state_entered_at, :now) >= :c14),
               count(*) FILTER (WHERE a.state IN ({open_}) AND coalesce(a.state_entered_at, :now) < :c14
                                AND coalesce(a.state_entered_at, :now) >= :c30),
               count(*) FILTER (WHERE a.state IN ({open_}) AND coalesce(a.state_entered_at, :now) < :c30)
        FROM appraisals a JOIN units u ON u.id = a.unit_id
        WHERE u.path LIKE :scope
        GROUP BY a.unit_id, u.name, a.state
        """
    )
    params = {
        "now": now,
        "c7": cuts["0-7"],
        "c14": cuts["8-14"],
        "c30": cuts["15-30"],
        "scope": root_path + "%",
    }
    with db.engine.connect() as conn:
        rows = conn.execute(sql, params).all()
    from state_machines import APPRAISAL

    open_states = set(APPRAISAL.open_states)
    totals: Counter = Counter()
    units: dict[int, dict] = {}
    ageing = {"0-7": 0, "8-14": 0, "15-30": 0, ">30": 0}
    overdue = 0
    for unit_id, name, state, n, n_over, a7, a14, a30, older in rows:
        totals[state] += n
        row = units.setdefault(unit_id, {"unit_id": unit_id, "unit": name, "states": {}, "overdue": 0})
        row["states"][state] = n
        row["overdue"] += n_over
        overdue += n_over
        for label, k in zip(ageing, (a7, a14, a30, older), strict=True):
            ageing[label] += k
    return {
        "total": sum(totals.values()),
        "open": sum(n for s, n in totals.items() if s in open_states),
        "overdue": overdue,
        "by_state": dict(totals),
        "ageing_days": ageing,
        "by_unit": sorted(units.values(), key=lambda r: r["unit"]),
    }


def top50_stuck(root_path: str, now: datetime, idle_days: int) -> tuple[list[int], int]:
    """Baseline: page 1 of the stuck list as one ``ORDER BY … LIMIT 50`` and its exact count."""
    from workflow_app.extensions import db

    where = (
        f"a.state IN ({_open_list()}) AND (a.due_at < :now OR a.state_entered_at < :cut) "
        "AND u.path LIKE :scope"
    )
    params = {"now": now, "cut": now - timedelta(days=idle_days), "scope": root_path + "%", "n": PER_PAGE}
    with db.engine.connect() as conn:
        ids = (
            conn.execute(
                text(
                    f"SELECT a.id FROM appraisals a JOIN units u ON u.id = a.unit_id WHERE {where} "
                    "ORDER BY coalesce(a.due_at, a.state_entered_at), a.id LIMIT :n"
                ),
                params,
            )
            .scalars()
            .all()
        )
        total = conn.execute(
            text(f"SELECT count(*) FROM appraisals a JOIN units u ON u.id = a.unit_id WHERE {where}"), params
        ).scalar_one()
    return list(ids), total


# --------------------------------------------------------------------------- the naive footnote


def _load_all(root_path: str) -> list:
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal, Unit

    return db.session.scalars(
        select(Appraisal)
        .join(Unit, Unit.id == Appraisal.unit_id)
        .where(Unit.path.startswith(root_path, autoescape=True))
    ).all()


def naive_summary(root_path: str) -> dict:
    """Footnote baseline: load every appraisal in scope with the ORM and count in Python."""
    from state_machines import APPRAISAL
    from workflow_app.clock import utcnow
    from workflow_app.extensions import db
    from workflow_app.services.monitoring import AGEING_BUCKETS

    db.session.remove()
    now = utcnow()
    open_states = set(APPRAISAL.open_states)
    totals: Counter = Counter()
    units: dict[int, dict] = {}
    ageing = {label: 0 for _, label in AGEING_BUCKETS} | {">30": 0}
    overdue = 0
    for a in _load_all(root_path):
        totals[a.state] += 1
        row = units.setdefault(
            a.unit_id, {"unit_id": a.unit_id, "unit": a.unit.name, "states": Counter(), "overdue": 0}
        )
        row["states"][a.state] += 1
        if a.state not in open_states:
            continue
        if a.due_at is not None and a.due_at < now:
            overdue += 1
            row["overdue"] += 1
        age = a.state_entered_at or now
        for days, label in AGEING_BUCKETS:
            if age >= now - timedelta(days=days):
                ageing[label] += 1
                break
        else:
            ageing[">30"] += 1
    db.session.remove()
    return {
        "total": sum(totals.values()),
        "open": sum(n for s, n in totals.items() if s in open_states),
        "overdue": overdue,
        "by_state": dict(totals),
        "ageing_days": ageing,
        "by_unit": sorted(units.values(), key=lambda r: r["unit"]),
    }


def naive_stuck(root_path: str, idle_days: int) -> tuple[list[int], int]:
    """Footnote baseline: load every appraisal in scope, filter and sort in Python, take page 1."""
    from state_machines import APPRAISAL
    from workflow_app.clock import utcnow
    from workflow_app.extensions import db
    from workflow_app.services import views

    db.session.remove()
    now = utcnow()
    cutoff = now - timedelta(days=idle_days)
    open_states = set(APPRAISAL.open_states)
    hits = [
        a
        for a in _load_all(root_path)
        if a.state in open_states
        and ((a.due_at is not None and a.due_at < now) or a.state_entered_at < cutoff)
    ]
    hits.sort(key=lambda a: (a.due_at or a.state_entered_at, a.id))
    page = hits[:PER_PAGE]
    for a in page:
        views.holder(a)
    db.session.remove()
    return [a.id for a in page], len(hits)


# --------------------------------------------------------------------------- measuring


def _p95(runs: list[float]) -> float:
    ordered = sorted(runs)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _repeat(fn: Callable[[], Any], times: int) -> tuple[Any, dict]:
    result, runs, rss = None, [], 0
    for _ in range(times):
        result, seconds, grew = timed(fn)
        runs.append(seconds)
        rss = max(rss, grew)
    stats = {
        "runs": runs,
        "seconds": statistics.median(runs),
        "p95": _p95(runs),
        "best": min(runs),
        "rss_peak_delta": rss,
    }
    return result, stats


def _capped(total: int) -> int:
    from workflow_app.services.monitoring import STUCK_COUNT_LIMIT

    return min(total, STUCK_COUNT_LIMIT)


def bench_dashboards(org: dict, repeat: int, log: Callable[[str], None]) -> dict:
    from flask import current_app

    from workflow_app.clock import utcnow
    from workflow_app.services import monitoring

    actor = hr_actor(org["root_path"])
    root = org["root_path"]
    log("  dashboards: spreading appraisals over states, due dates and ages …")
    _, spread_seconds, _ = timed(lambda: spread(utcnow()))
    # The minute sweep folds the triggers' deltas (the spread wrote one per changed row).
    log("  dashboards: compacting the counts (as the minute sweep does) …")
    compacted, compact_seconds, _ = timed(lambda: monitoring.compact_counts())
    analyze("appraisals", "appraisal_counts", "appraisal_clock")
    rows = appraisal_count()
    idle_days = current_app.config["STUCK_AFTER_DAYS"]
    runs = max(SERVICE_RUNS, repeat)

    log(f"  dashboards: monitoring.summary over {rows:,} appraisals ×{runs} …")
    summary, s_stats = _repeat(lambda: service_summary(actor), runs)
    _, s_stats["tracemalloc_peak"] = traced(lambda: service_summary(actor))
    log(f"  dashboards: monitoring.stuck (page 1 of {PER_PAGE}) ×{runs} …")
    stuck, k_stats = _repeat(lambda: service_stuck(actor), runs)
    _, k_stats["tracemalloc_peak"] = traced(lambda: service_stuck(actor))

    log(f"  dashboards: baseline, one GROUP BY unit, state ×{BASELINE_RUNS} …")
    now = utcnow()
    g_summary, g_stats = _repeat(lambda: group_by_summary(root, now), BASELINE_RUNS)
    log(f"  dashboards: baseline, top-{PER_PAGE} ORDER BY … LIMIT with count ×{BASELINE_RUNS} …")
    g_stuck, t_stats = _repeat(lambda: top50_stuck(root, utcnow(), idle_days), BASELINE_RUNS)

    if _comparable(summary) != _comparable(g_summary):
        raise BenchError("monitoring.summary disagrees with the one GROUP BY on the same data")
    if stuck[0] != g_stuck[0] or stuck[1] != _capped(g_stuck[1]):
        raise BenchError(f"the stuck page disagrees with the top-{PER_PAGE}: {stuck[1]} vs {g_stuck[1]} rows")

    naive: dict[str, dict] | None = None
    if rows <= NAIVE_MAX_ROWS:
        log("  dashboards: footnote, naive summary (ORM load + Python counting) …")
        n_summary, seconds, rss = timed(lambda: naive_summary(root))
        ns_stats = {"seconds": seconds, "rss_peak_delta": rss}
        _, ns_stats["tracemalloc_peak"] = traced(lambda: naive_summary(root))
        log("  dashboards: footnote, naive stuck (ORM load + Python filter/sort) …")
        n_stuck, seconds, rss = timed(lambda: naive_stuck(root, idle_days))
        nk_stats = {"seconds": seconds, "rss_peak_delta": rss}
        _, nk_stats["tracemalloc_peak"] = traced(lambda: naive_stuck(root, idle_days))
        if _comparable(summary) != _comparable(n_summary):
            raise BenchError("monitoring.summary disagrees with the naive count on the same data")
        if stuck[0] != n_stuck[0] or stuck[1] != _capped(n_stuck[1]):
            raise BenchError(
                f"monitoring.stuck disagrees with the naive filter: {stuck[1]} vs {n_stuck[1]} rows"
            )
        naive = {"summary": ns_stats, "stuck": nk_stats}

    def figures(service: dict, baseline: dict, kind: str) -> dict:
        out = {
            "service": service,
            "baseline": baseline,
            "baseline_kind": kind,
            # p95 of the service against the baseline's median: below 1 is faster than the scan
            "ratio": service["p95"] / baseline["seconds"],
            "goal": {"p95_seconds": GOAL_P95_SECONDS, "ratio": 1.0},
            "met": service["p95"] <= GOAL_P95_SECONDS and service["p95"] < baseline["seconds"],
        }
        return out

    result = {
        "appraisals": rows,
        "spread_seconds": spread_seconds,
        "compact": {**compacted, "seconds": compact_seconds},
        "summary": {
            "total": summary["total"],
            "open": summary["open"],
            "overdue": summary["overdue"],
            "by_state": summary["by_state"],
            "ageing_days": summary["ageing_days"],
            "units": len(summary["by_unit"]),
            **figures(s_stats, g_stats, "one GROUP BY unit, state"),
        },
        "stuck": {
            "total": stuck[1],
            "total_exact": g_stuck[1],
            "page_size": len(stuck[0]),
            "idle_days": idle_days,
            **figures(k_stats, t_stats, f"top-{PER_PAGE} ORDER BY … LIMIT + count"),
        },
        "naive_skipped": naive is None,
    }
    if naive is not None:
        for key in ("summary", "stuck"):
            d = result[key]
            d["naive"] = naive[key]
            d["ratio_time"] = d["service"]["seconds"] / naive[key]["seconds"]
            d["ratio_tracemalloc"] = d["service"]["tracemalloc_peak"] / naive[key]["tracemalloc_peak"]
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def report_dashboards(dash: dict) -> list[str]:
    """The printed table's lines: figure, baseline, ratio, goal, met."""
    n = dash["appraisals"]
    lines = [
        f"dashboards over {n:,} appraisals (counts compacted after the spread:"
        f" {dash['compact'].get('compacted', 0):,} deltas in {dash['compact']['seconds']:.2f} s)",
        f"  {'figure':<34}{'p95':>11}{'median':>11}  {'baseline (median)':<44}{'ratio':>7}  goal               met",
    ]
    for key, label in (("summary", "monitoring summary"), ("stuck", f"stuck list, page 1 of {PER_PAGE}")):
        d = dash[key]
        s, b = d["service"], d["baseline"]
        lines.append(
            f"  {label:<34}{_ms(s['p95']):>11}{_ms(s['seconds']):>11}  "
            f"{d['baseline_kind'] + ' ' + _ms(b['seconds']):<44}{d['ratio']:>7.3f}  "
            f"≤ 100 ms, < 1.0×   {'yes' if d['met'] else 'no'}"
        )
    s = dash["summary"]
    k = dash["stuck"]
    capped = "" if k["total"] == k["total_exact"] else f" (counted up to {k['total']:,}: '{k['total']:,}+')"
    lines.append(
        f"  summary: total {s['total']:,}, open {s['open']:,}, overdue {s['overdue']:,}, {s['units']} units;"
        f" stuck total {k['total_exact']:,}{capped} (service and GROUP BY / top-{PER_PAGE} agree)"
    )
    if dash["naive_skipped"]:
        lines.append(f"  (naive ORM baseline skipped above {NAIVE_MAX_ROWS:,} appraisals)")
    else:
        for key in ("summary", "stuck"):
            d = dash[key]
            lines.append(
                f"  footnote, naive ORM+Python {key}: {_ms(d['naive']['seconds'])};"
                f" service/naive = {d['ratio_time']:.4f} ({1 / d['ratio_time']:,.1f}× faster);"
                f" traced memory service/naive = {d['ratio_tracemalloc']:.5f}"
            )
        lines.append("  (service and naive agree)")
    return lines
