"""Kinerja benchmarks (issue 9's goals): each figure beside the physical limit or a peer.

    python -m bench.run                       # PostgreSQL if it answers (else SQLite), 100,000 employees
    python -m bench.run --quick               # small sizes, every benchmark, about a minute
    python -m bench.run --only launch,sweep   # some of: launch dashboards sweep transitions http delivery
    python -m bench.run --db postgresql --appraisals 1000000 --json out.json

Province benchmarks (one database, BENCH_DATABASE_URL, default kinerja_bench on 127.0.0.1):
launch against COPY, dashboards against one GROUP BY / top-50, the escalation sweep against the
partial-index query and one UPDATE … RETURNING. Service benchmarks (PostgreSQL and Redis; each
module's docstring says what it starts): ``bench.transitions`` (in-process against raw psycopg
and django-fsm-2), ``bench.http`` (gunicorn as shipped + the worker), ``bench.delivery``
(outbox → notifications → emails to an aiosmtpd sink, against RQ's default).

Every figure is reported next to a baseline measured in the same run on the same data, and the
ratio between them is the result; absolute seconds depend on the machine. Setup (schema, org
chart, employees) is set-based and not measured. The process exits non-zero only on errors —
including a disagreement between a service and its naive baseline — never because something
was slow.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import psutil
import sqlalchemy
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import make_url

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/kinerja_bench"
PROTECTED_DATABASES = frozenset({"test", "kinerja_ci"})
DEFAULT_EMPLOYEES = 100_000
QUICK_EMPLOYEES = 2_000
DEFAULT_NAIVE_SAMPLE = 5_000
QUICK_NAIVE_SAMPLE = 500
CHUNK = 10_000
PER_PAGE = 50
BENCHMARKS = ("launch", "dashboards", "sweep", "transitions", "http", "delivery")
# Benchmarks with their own database, processes and services (PostgreSQL and Redis only):
# name → (module, entry point, report), run after the province benchmarks above.
SERVICE_BENCHMARKS = {
    "transitions": ("bench.transitions", "bench_transitions", "report_transitions"),
    "http": ("bench.http", "bench_http", "report_http"),
    "delivery": ("bench.delivery", "bench_delivery", "report_delivery"),
}

# Share of appraisals per state after the spread (20 slots).
STATE_SLOTS = (
    ["plan_drafted"] * 3
    + ["plan_submitted"] * 3
    + ["plan_approved"] * 2
    + ["midyear_review"] * 2
    + ["final_review"] * 2
    + ["scored"] * 2
    + ["feedback_given", "training_assigned", "objection_filed"]
    + ["closed"] * 2
    + ["cancelled"]
)


class BenchError(RuntimeError):
    """The benchmark could not run, or a result failed its cross-check."""


# --------------------------------------------------------------------------- measuring


class _RssSampler(threading.Thread):
    """Polls the process RSS to find its high-water mark while a block runs."""

    def __init__(self, interval: float = 0.005):
        super().__init__(daemon=True)
        self._proc = psutil.Process()
        self._interval = interval
        self._done = threading.Event()
        self.start_rss = self._proc.memory_info().rss
        self.peak = self.start_rss

    def run(self) -> None:
        while not self._done.wait(self._interval):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def stop(self) -> int:
        self._done.set()
        self.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        return self.peak - self.start_rss


def timed(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """Run ``fn`` once: (result, wall seconds, RSS high-water growth in bytes). No tracemalloc."""
    gc.collect()
    sampler = _RssSampler()
    sampler.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - started
        rss = sampler.stop()
    return result, seconds, rss


def traced(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``fn`` once under tracemalloc: (result, peak traced Python allocation in bytes)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --------------------------------------------------------------------------- database


def database_url(kind: str, workdir: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir}/kinerja-bench.db"
    raw = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise BenchError(f"BENCH_DATABASE_URL must be a PostgreSQL URL, got {url.get_backend_name()!r}")
    if url.database in PROTECTED_DATABASES or not url.database:
        raise BenchError(f"refusing to benchmark in database {url.database!r}; use a dedicated one")
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def postgresql_reachable() -> bool:
    """Whether ``--db auto`` finds PostgreSQL (BENCH_DATABASE_URL's server, or the default)."""
    try:
        ensure_pg_database(database_url("postgresql", ""))
    except BenchError:
        return False
    return True


def ensure_pg_database(url: str) -> None:
    """Create the benchmark database if it does not exist (connecting to a maintenance db)."""
    import psycopg
    from psycopg import sql

    u = make_url(url)
    params = {
        "host": u.host or "127.0.0.1",
        "port": u.port or 5432,
        "user": u.username,
        "password": u.password,
    }
    params = {k: v for k, v in params.items() if v is not None}
    last: Exception | None = None
    for maintenance in ("postgres", "test"):
        try:
            conn = psycopg.connect(dbname=maintenance, autocommit=True, connect_timeout=3, **params)
        except psycopg.OperationalError as exc:
            last = exc
            continue
        with conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone()
            if not found:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(u.database)))
        return
    raise BenchError(f"cannot reach PostgreSQL at {u.host}:{u.port}: {last}")


def reset_schema() -> None:
    """Drop everything in the benchmark database and build the schema with the migrations."""
    from workflow_app.dbtools import rebuild_schema

    try:
        rebuild_schema(protected=PROTECTED_DATABASES)
    except RuntimeError as exc:
        raise BenchError(str(exc)) from None


def analyze(*tables: str) -> None:
    """Refresh planner statistics (and on PostgreSQL reclaim dead rows), as production would."""
    from workflow_app.extensions import db

    db.session.remove()
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def server_version() -> str:
    from workflow_app.extensions import db

    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            return conn.exec_driver_sql("SHOW server_version").scalar()
        return "SQLite " + conn.exec_driver_sql("SELECT sqlite_version()").scalar()


# --------------------------------------------------------------------------- setup (not measured)


def _nip(i: int) -> str:
    from workflow_app.nip import make_nip

    born = date(1960, 1, 1) + timedelta(days=i // 999)
    return make_nip(born, born.year + 20 + i % 5, 1 + i % 12, 1 + i % 2, i % 999 + 1)


def build_org(employees: int, opd: int = 30, bidang: int = 4, seksi: int = 3) -> dict:
    """Province → OPD → bidang → seksi, a head per unit, staff in the seksi; Core executemany.

    Ids are assigned here so paths and superiors are known without reading back. ``employees``
    active employees are created, plus 1 % inactive ones that a launch must skip.
    """
    from workflow_app.clock import utcnow
    from workflow_app.extensions import db
    from workflow_app.models import Employee, Unit

    now = utcnow()
    units: list[dict] = []

    def add_unit(parent: dict | None, code: str, name: str, tz: str) -> dict:
        uid = len(units) + 1
        row = {
            "id": uid,
            "parent_id": parent["id"] if parent else None,
            "code": code,
            "name": name,
            "timezone": tz,
            "path": f"{parent['path'] if parent else '/'}{uid}/",
            "created_at": now,
        }
        units.append(row)
        return row

    heads: list[tuple[dict, str, str]] = []  # (unit, position, position_type) in tree order
    root = add_unit(None, "PROV", "Pemerintah Provinsi Bench", "WIB")
    heads.append((root, "Sekretaris Daerah", "JPT"))
    seksi_units: list[dict] = []
    for o in range(1, opd + 1):
        tz = {7: "WITA", 8: "WIT"}.get(o % 10, "WIB")  # exercise the per-zone due date
        dinas = add_unit(root, f"OPD{o:02d}", f"Dinas {o:02d}", tz)
        heads.append((dinas, f"Kepala Dinas {o:02d}", "JPT"))
        for b in range(1, bidang + 1):
            bid = add_unit(dinas, f"OPD{o:02d}-B{b}", f"Bidang {b} Dinas {o:02d}", tz)
            heads.append((bid, "Kepala Bidang", "JA"))
            for s in range(1, seksi + 1):
                sek = add_unit(bid, f"OPD{o:02d}-B{b}-S{s}", f"Seksi {s} Bidang {b} Dinas {o:02d}", tz)
                heads.append((sek, "Kepala Seksi", "JA"))
                seksi_units.append(sek)
    if employees < len(heads):
        raise BenchError(f"--employees must be at least {len(heads)} (one head per unit)")

    head_of: dict[int, int] = {}  # unit id -> employee id of its head

    def employee(eid: int, unit: dict, superior: int | None, position: str, ptype: str, active: bool) -> dict:
        return {
            "id": eid,
            "nip": _nip(eid),
            "name": f"Pegawai Bench {eid}",
            "email": f"pegawai{eid}@bench.go.id",
            "unit_id": unit["id"],
            "position": position,
            "position_type": ptype,
            "employment_type": "PPPK" if eid % 7 == 0 else "PNS",
            "grade": "III/a",
            "superior_id": superior,
            "active": active,
            "created_at": now,
        }

    def rows() -> Iterator[dict]:
        for eid, (unit, position, ptype) in enumerate(heads, start=1):
            head_of[unit["id"]] = eid
            yield employee(eid, unit, head_of.get(unit["parent_id"]), position, ptype, True)
        inactive = employees // 100
        positions = (("Analis Kebijakan", "JF"), ("Pengelola Layanan", "JA"), ("Pranata Komputer", "JF"))
        for k in range(employees - len(heads) + inactive):
            eid = len(heads) + k + 1
            unit = seksi_units[k % len(seksi_units)]
            position, ptype = positions[k % len(positions)]
            yield employee(eid, unit, head_of[unit["id"]], position, ptype, eid <= employees)

    with db.engine.begin() as conn:
        conn.execute(insert(Unit.__table__), units)
        for batch in _chunks(rows(), CHUNK):
            conn.execute(insert(Employee.__table__), batch)
        if conn.dialect.name == "postgresql":
            for table in ("units", "employees"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    return {
        "root_id": root["id"],
        "root_path": root["path"],
        "units": len(units),
        "depth": 4,
        "employees_active": employees,
        "employees_inactive": employees // 100,
    }


def make_cycle(root_id: int, name: str) -> int:
    from state_machines import CYCLE
    from workflow_app.clock import utcnow
    from workflow_app.extensions import db
    from workflow_app.models import Cycle

    t = utcnow().date()
    cycle = Cycle(
        name=name,
        year=t.year,
        unit_id=root_id,
        period_start=t - timedelta(days=30),
        period_end=t + timedelta(days=335),
        plan_due=t + timedelta(days=30),
        midyear_start=t + timedelta(days=150),
        midyear_end=t + timedelta(days=180),
        scoring_start=t + timedelta(days=300),
        scoring_end=t + timedelta(days=330),
        feedback_due=t + timedelta(days=340),
        training_due=t + timedelta(days=400),
        state=CYCLE.initial,
        machine_version=CYCLE.version,
    )
    db.session.add(cycle)
    db.session.commit()
    cycle_id = cycle.id
    db.session.remove()
    return cycle_id


def hr_actor(root_path: str):
    from workflow_app.services.access import Actor

    return Actor(user_id=None, employee_id=None, username="bench", hr_paths=(root_path,), admin_paths=())


def appraisal_count(cycle_id: int | None = None) -> int:
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal

    query = select(func.count()).select_from(Appraisal)
    if cycle_id is not None:
        query = query.where(Appraisal.cycle_id == cycle_id)
    with db.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def delete_appraisals(cycle_id: int) -> None:
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal

    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(delete(Appraisal.__table__).where(Appraisal.cycle_id == cycle_id))


# --------------------------------------------------------------------------- benchmark 1: launch


def fire_launch(actor, cycle_id: int) -> int:
    """The use case: HR fires ``launch`` (→ ``cycles.launch``, one INSERT … SELECT), then commit."""
    from workflow_app.clock import utcnow
    from workflow_app.extensions import db
    from workflow_app.models import Cycle
    from workflow_app.services.cycles import fire_cycle_event

    db.session.remove()
    version = db.session.scalar(select(Cycle.version).where(Cycle.id == cycle_id))
    _, result = fire_cycle_event(actor, cycle_id, "launch", {"version": version}, now=utcnow())
    db.session.commit()
    db.session.remove()
    return result["created"]


def naive_launch(cycle_id: int, root_path: str, limit: int) -> int:
    """Baseline: one ORM ``Appraisal`` per employee, ``session.add`` + ``flush`` each, then commit."""
    from sqlalchemy.orm import joinedload

    from state_machines import APPRAISAL
    from workflow_app.clock import end_of_local_day, utcnow
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal, Cycle, Employee, Unit
    from workflow_app.scoring import scheme

    db.session.remove()
    now = utcnow()
    cycle = db.session.get(Cycle, cycle_id)
    rules = scheme(cycle.scoring_scheme)
    people = db.session.scalars(
        select(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Employee.active.is_(True), Unit.path.startswith(root_path, autoescape=True))
        .options(joinedload(Employee.unit), joinedload(Employee.superior))
        .order_by(Employee.id)
        .limit(limit)
    ).all()
    for person in people:
        db.session.add(
            Appraisal(
                cycle_id=cycle.id,
                employee_id=person.id,
                unit_id=person.unit_id,
                assessor_id=person.superior_id,
                superior_id=person.superior.superior_id if person.superior else None,
                position=person.position,
                state=APPRAISAL.initial,
                state_entered_at=now,
                due_at=end_of_local_day(cycle.plan_due, person.unit.timezone),
                escalation_level=0,
                machine_version=APPRAISAL.version,
                scoring_scheme=rules.name,
                scoring_version=rules.version,
                created_at=now,
            )
        )
        db.session.flush()
    db.session.commit()
    db.session.remove()
    return len(people)


def _appraisal_rows(cycle_id: int) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of a cycle's appraisals as stored, without ids: what COPY must write."""
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal

    table = Appraisal.__table__
    columns = [c.name for c in table.columns if c.name != "id"]
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(*(table.c[name] for name in columns))
            .where(table.c.cycle_id == cycle_id)
            .order_by(table.c.id)
        ).all()
    return columns, [tuple(r) for r in rows]


def copy_appraisals(columns: list[str], rows: list[tuple]) -> int:
    """Baseline: the same appraisal rows written by ``COPY … FROM STDIN`` (PostgreSQL; SQLite, which
    has no COPY, by one prepared ``executemany``), then commit — the fastest the database loads them."""
    from workflow_app.extensions import db

    db.session.remove()
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY appraisals ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(json.dumps(v) if isinstance(v, (dict, list)) else v for v in row))
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(
                f"INSERT INTO appraisals ({', '.join(columns)}) VALUES ({marks})",
                [tuple(json.dumps(v) if isinstance(v, (dict, list)) else v for v in row) for row in rows],
            )
        raw.commit()
    finally:
        raw.close()
    return len(rows)


def bench_launch(org: dict, employees: int, naive_sample: int, log: Callable[[str], None]) -> dict:
    actor = hr_actor(org["root_path"])
    main_cycle = make_cycle(org["root_id"], "Bench launch")
    naive_cycle = make_cycle(org["root_id"], "Bench naive baseline")

    log(f"  launch: bulk, {employees:,} employees …")
    created, seconds, rss = timed(lambda: fire_launch(actor, main_cycle))
    if created != employees or appraisal_count(main_cycle) != employees:
        raise BenchError(f"launch created {created} appraisals, expected {employees}")
    bulk = {"created": created, "seconds": seconds, "rss_peak_delta": rss}

    log("  launch: relaunch of the same cycle (idempotent) …")
    again, seconds, rss = timed(lambda: fire_launch(actor, main_cycle))
    if again != 0 or appraisal_count(main_cycle) != employees:
        raise BenchError(f"relaunch created {again} appraisals, expected 0")
    relaunch = {"created": again, "seconds": seconds, "rss_peak_delta": rss}

    sample = min(employees, naive_sample)
    log(f"  launch: naive baseline, {sample:,} rows one by one …")
    made, seconds, rss = timed(lambda: naive_launch(naive_cycle, org["root_path"], sample))
    if made != sample or appraisal_count(naive_cycle) != sample:
        raise BenchError(f"naive launch created {made} appraisals, expected {sample}")
    naive = {"created": made, "seconds": seconds, "rss_peak_delta": rss}

    log("  launch: tracemalloc passes (naive, then bulk again after deleting its rows) …")
    delete_appraisals(naive_cycle)
    _, naive["tracemalloc_peak"] = traced(lambda: naive_launch(naive_cycle, org["root_path"], sample))
    delete_appraisals(naive_cycle)
    delete_appraisals(main_cycle)
    created, bulk["tracemalloc_peak"] = traced(lambda: fire_launch(actor, main_cycle))
    if created != employees:
        raise BenchError(f"launch (tracemalloc pass) created {created}, expected {employees}")
    _, relaunch["tracemalloc_peak"] = traced(lambda: fire_launch(actor, main_cycle))

    # Issue 9: a launch must cost at most 1.5× a COPY of the same rows, also into a table that
    # has just lost many rows (a delete then VACUUM ANALYZE once made a launch 3× slower).
    log(f"  launch: COPY of the same {employees:,} rows (baseline), then the launch again …")
    columns, rows = _appraisal_rows(main_cycle)
    copy_runs, after_runs = [], []
    for _ in range(2):
        delete_appraisals(main_cycle)
        analyze("appraisals")
        copied, seconds, _ = timed(lambda: copy_appraisals(columns, rows))
        if copied != employees or appraisal_count(main_cycle) != employees:
            raise BenchError(f"COPY wrote {copied} rows, expected {employees}")
        copy_runs.append(seconds)
        delete_appraisals(main_cycle)
        analyze("appraisals")
        created, seconds, _ = timed(lambda: fire_launch(actor, main_cycle))
        if created != employees:
            raise BenchError(f"launch after a delete created {created}, expected {employees}")
        after_runs.append(seconds)
    rows.clear()  # memory back before the next benchmark
    analyze("appraisals")
    copy = {"created": employees, "seconds": min(copy_runs), "runs": copy_runs}
    after_delete = {"created": employees, "seconds": min(after_runs), "runs": after_runs}

    for r in (bulk, relaunch, naive, copy, after_delete):
        r["rows_per_second"] = r["created"] / r["seconds"] if r["created"] else None
    bulk_row = bulk["seconds"] / employees
    naive_row = naive["seconds"] / sample
    return {
        "cycle_id": main_cycle,
        "bulk": bulk,
        "relaunch": relaunch,
        "naive": naive,
        "copy": copy,
        "after_delete": after_delete,
        # the first launch, and the best of two into a table emptied by a delete, against COPY
        "ratio_copy": bulk["seconds"] / copy["seconds"],
        "ratio_copy_after_delete": after_delete["seconds"] / copy["seconds"],
        "goal_copy": 1.5,
        "naive_extrapolated_seconds": naive_row * employees,
        "naive_extrapolated_tracemalloc_peak": naive["tracemalloc_peak"] / sample * employees,
        "ratio_time_per_row": bulk_row / naive_row,
        "speedup": naive_row / bulk_row,
        "ratio_tracemalloc_per_row": (bulk["tracemalloc_peak"] / employees)
        / (naive["tracemalloc_peak"] / sample),
    }


# --------------------------------------------------------------------------- benchmark 2: dashboards


def add_cycles(org: dict, target: int, employees: int, log: Callable[[str], None]) -> dict:
    """Launch extra cycles over the same employees until there are ``target`` appraisals."""
    actor = hr_actor(org["root_path"])
    have = appraisal_count()
    extra = max(0, math.ceil((target - have) / employees))
    started = time.perf_counter()
    for k in range(extra):
        cycle_id = make_cycle(org["root_id"], f"Bench extra {k + 1}")
        fire_launch(actor, cycle_id)
        log(f"  extra cycle {k + 1}/{extra}: {appraisal_count():,} appraisals")
    return {"extra_cycles": extra, "seconds": time.perf_counter() - started, "appraisals": appraisal_count()}


def sample(fn: Callable[[], Any], runs: int, warmup: int = 1) -> tuple[Any, dict]:
    """Run a short ``fn`` ``warmup`` + ``runs`` times without samplers: median and p95 seconds."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    times.sort()
    p95 = times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]
    return result, {"runs": len(times), "seconds": statistics.median(times), "p95": p95, "best": times[0]}


def _repeat(fn: Callable[[], Any], times: int) -> tuple[Any, dict]:
    result, runs, rss = None, [], 0
    for _ in range(times):
        result, seconds, grew = timed(fn)
        runs.append(seconds)
        rss = max(rss, grew)
    stats = {"runs": runs, "seconds": statistics.median(runs), "best": min(runs), "rss_peak_delta": rss}
    return result, stats


def bench_sweep(repeat: int, log: Callable[[str], None]) -> dict:
    """The escalation sweep over every appraisal: with nothing due, and with a slice due.

    Baselines: the ladder's partial-index query alone (nothing due), and one ``UPDATE … RETURNING``
    feeding one outbox ``INSERT`` for the due slice, rolled back (what the sweep must at least do).
    """
    from sqlalchemy import insert, select, update

    from workflow_app.clock import utcnow
    from workflow_app.extensions import db
    from workflow_app.jobs.sweeps import escalation_sweep
    from workflow_app.models import LADDER_STATES, Appraisal, OutboxMessage

    rows = appraisal_count()
    now = utcnow()
    on_ladder = (
        Appraisal.state.in_(LADDER_STATES),
        Appraisal.due_at.is_not(None),
        Appraisal.escalation_level < 2,
    )
    log(f"  sweep: every deadline a month away, a tenth long past at level 2 ({rows:,} appraisals) …")
    db.session.execute(
        update(Appraisal).values(due_at=now + timedelta(days=30), escalation_level=0, reminder_sent_at=None),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(Appraisal)
        .where(Appraisal.id % 10 == 0)
        .values(due_at=now - timedelta(days=60), escalation_level=2),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    analyze("appraisals")

    def index_query():
        ids = db.session.scalars(
            select(Appraisal.id)
            .where(*on_ladder, Appraisal.due_at <= now + timedelta(days=5))
            .order_by(Appraisal.due_at, Appraisal.id)
            .limit(500)
        ).all()
        db.session.rollback()
        return ids

    runs = max(20, 10 * repeat)
    log(f"  sweep: nothing due ×{runs} …")
    counts, none_stats = sample(lambda: escalation_sweep(), runs)
    if any(counts.values()):
        raise BenchError(f"the sweep escalated {counts} with nothing due")
    _, base_none = sample(index_query, runs)

    due = max(1, min(10_000, rows // 100))
    runs, base_runs = [], []
    for round_ in range(repeat):
        # each round its own deadline, so each escalation is a new outbox row (dedupe key)
        deadline = now - timedelta(hours=1, seconds=round_)
        picked = (
            select(Appraisal.id)
            .where(Appraisal.id % 10 != 0, Appraisal.state.in_(LADDER_STATES))
            .order_by(Appraisal.id)
            .limit(due)
        )
        db.session.execute(
            update(Appraisal)
            .where(Appraisal.id.in_(picked.scalar_subquery()))
            .values(due_at=deadline, escalation_level=0, reminder_sent_at=None),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()

        def baseline(round_=round_):
            ids = db.session.scalars(
                update(Appraisal)
                .where(*on_ladder, Appraisal.escalation_level == 0, Appraisal.due_at <= now)
                .values(escalation_level=1, reminder_sent_at=now)
                .returning(Appraisal.id),
                execution_options={"synchronize_session": False},
            ).all()
            db.session.execute(
                insert(OutboxMessage),
                [
                    {"topic": "appraisal.escalation_1", "payload": {"appraisal_id": i}, "status": "pending",
                     "dedupe_key": f"bench:{round_}:{i}", "available_at": now, "created_at": now}
                    for i in ids
                ],
            )  # fmt: skip
            db.session.rollback()
            return len(ids)

        escalated, seconds, _ = timed(baseline)
        if escalated != due:
            raise BenchError(f"the baseline escalated {escalated}, expected {due}")
        base_runs.append(seconds)
        log(f"  sweep: {due:,} due, round {round_ + 1} …")
        counts, seconds, _ = timed(lambda: escalation_sweep())
        if counts["escalation_1"] != due:
            raise BenchError(f"the sweep escalated {counts}, expected {due} escalation_1")
        runs.append(seconds)
    due_stats = {"runs": runs, "seconds": statistics.median(runs)}
    base_due = {"runs": base_runs, "seconds": statistics.median(base_runs)}
    return {
        "appraisals": rows,
        "none_due": {
            "service": none_stats,
            "baseline": base_none,
            "ratio_time": none_stats["seconds"] / base_none["seconds"],
            "goal_seconds": 0.005,
        },
        "due": {
            "rows": due,
            "service": due_stats,
            "baseline": base_due,
            "ratio_time": due_stats["seconds"] / base_due["seconds"],
        },
    }


# --------------------------------------------------------------------------- driver


def machine_info() -> dict:
    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model
            )
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_physical": psutil.cpu_count(logical=False),
        "cpu_model": model,
        "memory_total": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
    }


def run(
    db_kind: str = "sqlite",
    employees: int = DEFAULT_EMPLOYEES,
    appraisals: int | None = None,
    naive_sample: int = DEFAULT_NAIVE_SAMPLE,
    repeat: int = 3,
    opd: int = 30,
    log: Callable[[str], None] = print,
    only: frozenset[str] | None = None,
    quick: bool = False,
) -> dict:
    """Run both benchmarks in a fresh database and return the results (see ``--json``)."""
    from workflow_app import create_app
    from workflow_app.extensions import db

    with tempfile.TemporaryDirectory(prefix="kinerja-bench-") as workdir:
        url = database_url(db_kind, workdir)
        if db_kind == "postgresql":
            ensure_pg_database(url)
        app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "", "OUTBOX_KICK": False})
        with app.app_context():
            try:
                results: dict = {
                    "meta": {
                        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
                        "command": None,
                        "machine": machine_info(),
                        "db": {
                            "dialect": db.engine.dialect.name,
                            "driver": db.engine.dialect.driver,
                            "version": server_version(),
                            "url": make_url(url).render_as_string(hide_password=True),
                        },
                        "employees": employees,
                        "naive_sample": min(employees, naive_sample),
                        "repeat": repeat,
                    }
                }
                log(f"setup: migrations, org chart and {employees:,} employees ({db.engine.dialect.name}) …")
                started = time.perf_counter()
                reset_schema()
                org = build_org(employees, opd=opd)
                analyze("units", "employees")
                results["setup"] = {**org, "seconds": time.perf_counter() - started}
                log("benchmark 1: launch")
                if only and "launch" not in only:
                    fire_launch(hr_actor(org["root_path"]), make_cycle(org["root_id"], "Bench launch"))
                else:
                    results["launch"] = bench_launch(org, employees, naive_sample, log)
                if appraisals and appraisals > appraisal_count():
                    log(f"adding cycles to reach {appraisals:,} appraisals …")
                    results["extra"] = add_cycles(org, appraisals, employees, log)
                if not only or "dashboards" in only:
                    from bench.dashboards import bench_dashboards

                    log("benchmark 2: dashboards")
                    results["dashboards"] = bench_dashboards(org, repeat, log)
                if not only or "sweep" in only:
                    log("benchmark 3: escalation sweep")
                    results["sweep"] = bench_sweep(repeat, log)
            finally:
                db.session.remove()
                db.engine.dispose()
    for name, (module, entry, _) in SERVICE_BENCHMARKS.items():
        if only and name not in only:
            continue
        if db_kind != "postgresql":
            results[name] = {"skipped": "PostgreSQL and Redis only: run with --db postgresql"}
            continue
        log(f"benchmark: {name}")
        results[name] = getattr(importlib.import_module(module), entry)(quick=quick, log=log)
    return results


def _mib(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.1f} MiB"


def report(r: dict) -> str:
    meta = r["meta"]
    m = meta["machine"]
    lines = [
        "",
        f"Kinerja benchmarks — {meta['date']}",
        f"  db: {meta['db']['version']} ({meta['db']['dialect']}+{meta['db']['driver']});"
        f" python {m['python']}; SQLAlchemy {m['sqlalchemy']}",
        f"  machine: {m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_total'] / 2**30:.1f} GiB RAM",
        f"  setup: {r['setup']['units']} units, {meta['employees']:,} active + "
        f"{r['setup']['employees_inactive']:,} inactive employees in {r['setup']['seconds']:.1f} s (not measured)",
        "",
        f"{'benchmark':<50}{'rows':>11}{'seconds':>10}{'rows/s':>12}{'tracemalloc':>14}{'RSS Δ':>14}",
    ]

    def line(name: str, rows: int, x: dict) -> None:
        per = f"{rows / x['seconds']:,.0f}" if rows and x["seconds"] else "-"
        lines.append(
            f"{name:<50}{rows:>11,}{x['seconds']:>10.3f}{per:>12}"
            f"{_mib(x.get('tracemalloc_peak')):>14}{_mib(x.get('rss_peak_delta')):>14}"
        )

    if "launch" in r:
        _report_launch(r, lines, line)
    if "extra" in r:
        e = r["extra"]
        lines.append(
            f"  (+{e['extra_cycles']} extra cycles launched in {e['seconds']:.1f} s → {e['appraisals']:,} appraisals)"
        )
    if "dashboards" in r:
        _report_dashboards(r["dashboards"], lines, line)
    if "sweep" in r:
        _report_sweep(r["sweep"], lines, line)
    for name, (module, _, reporter) in SERVICE_BENCHMARKS.items():
        if name not in r:
            continue
        lines.append("")
        if "skipped" in r[name]:
            lines.append(f"{name}: skipped ({r[name]['skipped']})")
        else:
            lines += getattr(importlib.import_module(module), reporter)(r[name])
    return "\n".join(lines)


def _report_launch(r: dict, lines: list[str], line) -> None:
    meta, launch = r["meta"], r["launch"]
    line("launch: bulk INSERT … SELECT", launch["bulk"]["created"], launch["bulk"])
    line("launch: relaunch (idempotent, 0 new)", 0, launch["relaunch"])
    line("launch: naive add+flush per row", launch["naive"]["created"], launch["naive"])
    lines.append(
        f"  → per-row cost bulk/naive = {launch['ratio_time_per_row']:.4f} ({launch['speedup']:,.0f}× faster);"
        f" memory per row bulk/naive = {launch['ratio_tracemalloc_per_row']:.4f}"
    )
    if "copy" in launch:
        line("launch: COPY of the same rows (baseline)", launch["copy"]["created"], launch["copy"])
        line(
            "launch: again, after a delete + VACUUM",
            launch["after_delete"]["created"],
            launch["after_delete"],
        )
        lines.append(
            f"  → time launch/COPY = {launch['ratio_copy']:.2f}, after a delete {launch['ratio_copy_after_delete']:.2f}"
            f" (goal ≤ {launch['goal_copy']}, issue 9)"
        )
    lines.append(
        f"  → naive extrapolated to {meta['employees']:,} rows: {launch['naive_extrapolated_seconds']:,.1f} s,"
        f" {_mib(launch['naive_extrapolated_tracemalloc_peak'])} traced"
    )


def _report_dashboards(dash: dict, lines: list[str], line) -> None:
    from bench.dashboards import report_dashboards

    lines += report_dashboards(dash)


def _report_sweep(sw: dict, lines: list[str], line) -> None:
    n = sw["appraisals"]
    line("sweep, nothing due: escalation_sweep (median)", n, sw["none_due"]["service"])
    line("sweep, nothing due: partial-index query", n, sw["none_due"]["baseline"])
    lines.append(
        f"  → sweep {sw['none_due']['service']['seconds'] * 1000:.1f} ms (p95"
        f" {sw['none_due']['service']['p95'] * 1000:.1f} ms; goal ≤ 5 ms, issue 9), time sweep/query ="
        f" {sw['none_due']['ratio_time']:.1f}"
    )
    d = sw["due"]
    line(f"sweep, {d['rows']:,} due: escalation_sweep (median)", d["rows"], d["service"])
    line(f"sweep, {d['rows']:,} due: UPDATE … RETURNING + INSERT", d["rows"], d["baseline"])
    lines.append(f"  → time sweep/one statement = {d['ratio_time']:.1f} (goal ≤ 3, issue 9)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        choices=("auto", "sqlite", "postgresql"),
        default="auto",
        help="auto (default): PostgreSQL when BENCH_DATABASE_URL's server (or the default) answers, else SQLite",
    )
    parser.add_argument(
        "--employees", type=int, default=None, help=f"active employees (default {DEFAULT_EMPLOYEES:,})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EMPLOYEES:,} employees, a smoke run")
    parser.add_argument(
        "--appraisals", type=int, default=None, help="launch extra cycles until the dashboards see this many"
    )
    parser.add_argument("--naive-sample", type=int, default=None, help="rows for the naive launch baseline")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each dashboard query (median reported)"
    )
    parser.add_argument(
        "--opd", type=int, default=30, help="OPDs under the province (4 bidang × 3 seksi each)"
    )
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument(
        "--only", metavar="NAMES", help=f"comma-separated benchmarks to run, of: {', '.join(BENCHMARKS)}"
    )
    args = parser.parse_args(argv)
    employees = args.employees or (QUICK_EMPLOYEES if args.quick else DEFAULT_EMPLOYEES)
    naive = args.naive_sample or (QUICK_NAIVE_SAMPLE if args.quick else DEFAULT_NAIVE_SAMPLE)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    only = frozenset(n.strip() for n in args.only.split(",")) if args.only else None
    if args.db == "auto":
        args.db = "postgresql" if postgresql_reachable() else "sqlite"
        log(f"--db auto: {args.db}")
    if only and only - set(BENCHMARKS):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(only - set(BENCHMARKS)))}")
    try:
        results = run(
            args.db, employees, args.appraisals, naive, max(1, args.repeat), args.opd, log, only, args.quick
        )
    except Exception:  # noqa: BLE001 - report any failure and exit non-zero
        traceback.print_exc()
        return 1
    results["meta"]["command"] = " ".join(
        ["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]
    )
    print(report(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, default=str)
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
