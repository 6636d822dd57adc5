"""Benchmark: the in-process transition path against raw SQL and against django-fsm-2.

    python -m bench.transitions            # PostgreSQL (BENCH_DATABASE_URL), 3 interleaved rounds
    python -m bench.transitions --quick    # one small round, ≤ 15 s

The appraisal's happy path from ``plan_drafted`` to ``closed`` in 8 events (submit_plan,
approve_plan, open_midyear_review, complete_midyear_review, score, give_feedback,
accept_result, close) is driven for K appraisals:

(a) **Kinerja, 1 thread**: each event in its own ``unit_of_work`` with a fresh session, through
    ``services.appraisals.fire_event``, as the API does (minus HTTP and the response).
(b) **raw psycopg, 1 thread**: the same reads and writes in as few statements as the database
    allows — ``SELECT … FOR UPDATE`` (the row, its chain head and the employee's name),
    ``UPDATE appraisals``, ``INSERT transition_log`` (HMAC-chained like ours), ``INSERT outbox``,
    ``COMMIT`` — on other appraisals of the same tables. Goal: (a) ≥ 0.3 × (b).
(c) **Kinerja, 16 workers** as deployed (the Dockerfile's gunicorn: 4 processes × 4 threads).
(d) **django-fsm-2, 16 workers**, same topology, on Django's ORM and its own PostgreSQL
    database (``bench/peers``): ``select_for_update``, ``@transition`` methods with conditions
    that read the plan, a log row and an outbox row per transition. Goal: (c) ≥ 1.0 × (d).

Rounds are interleaved (a, b, c, d, a, b, …) and each figure is the median of the rounds.
Besides rates and latencies, one Kinerja pass is counted: statements per transition (a
``before_cursor_execute`` listener) and commits, and optionally profiled (``--profile``).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import io
import json
import multiprocessing as mp
import os
import pstats
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import event, insert, select
from sqlalchemy.engine import make_url

from bench import run as benchrun

HAPPY_PATH: tuple[tuple[str, str, dict], ...] = (
    ("submit_plan", "employee", {}),
    ("approve_plan", "assessor", {"comment": "Disetujui, silakan dilaksanakan"}),
    ("open_midyear_review", "hr", {}),
    ("complete_midyear_review", "assessor", {"feedback": "Capaian tengah tahun sesuai rencana kerja"}),
    ("score", "assessor", {"rating_hasil_kerja": "sesuai", "rating_perilaku": "sesuai"}),
    ("give_feedback", "assessor", {"feedback": "Pertahankan kinerja dan tingkatkan kolaborasi tim"}),
    ("accept_result", "employee", {}),
    ("close", "hr", {}),
)
EVENTS = len(HAPPY_PATH)
GOAL_SERIAL = 0.3
GOAL_CONCURRENT = 1.0
DEPLOYED = (4, 4)  # gunicorn --workers 4 --threads 4 (Dockerfile)
FULL = {"serial": 32, "concurrent": 80, "rounds": 3}
QUICK = {"serial": 4, "concurrent": 16, "rounds": 1}
AUDIT_KEY = "bench-audit-key-of-at-least-32-characters!"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summarise(latencies: list[float], seconds: float) -> dict:
    n = len(latencies)
    return {
        "transitions": n,
        "seconds": seconds,
        "rate": n / seconds if seconds else 0.0,
        "p50_ms": _pct(latencies, 0.50) * 1000,
        "p99_ms": _pct(latencies, 0.99) * 1000,
    }


# --------------------------------------------------------------------------- setup (not measured)


def make_open_cycle(root_id: int, name: str = "Bench transitions") -> int:
    """A cycle whose mid-year and scoring windows are open today, so every guard can pass."""
    from state_machines import CYCLE
    from workflow_app.clock import utcnow
    from workflow_app.extensions import db
    from workflow_app.models import Cycle

    t = utcnow().date()
    cycle = Cycle(
        name=name,
        year=t.year,
        unit_id=root_id,
        period_start=t - timedelta(days=300),
        period_end=t + timedelta(days=20),
        plan_due=t - timedelta(days=200),
        midyear_start=t - timedelta(days=60),
        midyear_end=t + timedelta(days=30),
        scoring_start=t - timedelta(days=5),
        scoring_end=t + timedelta(days=30),
        feedback_due=t + timedelta(days=40),
        training_due=t + timedelta(days=60),
        state=CYCLE.initial,
        machine_version=CYCLE.version,
    )
    db.session.add(cycle)
    db.session.commit()
    cycle_id = cycle.id
    db.session.remove()
    return cycle_id


def setup_kinerja(appraisals: int, log: Callable[[str], None]) -> dict:
    """Org, users, a launched cycle and complete plans: ``appraisals`` staff appraisals ready."""
    from workflow_app.extensions import db
    from workflow_app.models import (
        BERAKHLAK,
        Appraisal,
        BehaviourExpectation,
        Employee,
        PlanItem,
        RoleAssignment,
        User,
    )
    from workflow_app.services.access import Actor

    benchrun.reset_schema()
    org = benchrun.build_org(appraisals + 40, opd=1)
    cycle_id = make_open_cycle(org["root_id"])
    hr = benchrun.hr_actor(org["root_path"])
    benchrun.fire_launch(hr, cycle_id)
    with db.engine.begin() as conn:
        people = conn.execute(select(Employee.id, Employee.name)).all()
        conn.execute(
            insert(User.__table__),
            [
                {"username": f"u{eid}", "password_hash": "x", "employee_id": eid, "locale": "id"}
                for eid, _ in people
            ]
            + [{"username": "hr-bench", "password_hash": "x", "employee_id": None, "locale": "id"}],
        )
        hr_user = conn.execute(select(User.id).where(User.username == "hr-bench")).scalar_one()
        conn.execute(
            insert(RoleAssignment.__table__), [{"user_id": hr_user, "role": "hr", "unit_id": org["root_id"]}]
        )
        users = dict(
            conn.execute(select(User.employee_id, User.id).where(User.employee_id.is_not(None))).all()
        )
        rows = conn.execute(
            select(Appraisal.id, Appraisal.employee_id, Appraisal.assessor_id)
            .where(
                Appraisal.cycle_id == cycle_id,
                Appraisal.assessor_id.is_not(None),
                Appraisal.superior_id.is_not(None),
            )
            .order_by(Appraisal.id)
        ).all()
        if len(rows) < appraisals:
            raise benchrun.BenchError(f"only {len(rows)} staff appraisals, {appraisals} needed")
        rows = rows[:appraisals]
        items, behaviours = [], []
        for a in rows:
            for i, kind in enumerate(("utama", "tambahan"), start=1):
                items.append(
                    {
                        "appraisal_id": a.id,
                        "position": i,
                        "kind": kind,
                        "leader_rhk": "Meningkatnya kualitas layanan perizinan",
                        "rhk": f"Tersusunnya laporan layanan {i}",
                        "aspect": "kuantitas",
                        "indicator": "Jumlah laporan yang disusun tepat waktu",
                        "target_value": "12",
                        "target_unit": "laporan",
                        "midyear_realisation": "6 laporan",
                        "final_realisation": "12 laporan",
                        "evidence": [],
                    }
                )
            behaviours += [
                {"appraisal_id": a.id, "value": v, "expectation": f"Ekspektasi khusus untuk {v}"}
                for v in BERAKHLAK
            ]
        conn.execute(insert(PlanItem.__table__), items)
        conn.execute(insert(BehaviourExpectation.__table__), behaviours)
    benchrun.analyze(
        "appraisals", "plan_items", "behaviour_expectations", "users", "transition_log", "outbox"
    )

    def actor(employee_id: int | None, user_id: int) -> Actor:
        return Actor(user_id, employee_id, f"u{employee_id}")

    hr_actor = Actor(hr_user, None, "hr-bench", hr_paths=(org["root_path"],), roles=("hr",))
    work = [
        {
            "id": a.id,
            "employee": actor(a.employee_id, users[a.employee_id]),
            "assessor": actor(a.assessor_id, users[a.assessor_id]),
            "hr": hr_actor,
        }
        for a in rows
    ]
    log(f"  setup: {len(work)} appraisals ready in cycle {cycle_id}")
    return {"cycle_id": cycle_id, "work": work, "org": org}


# --------------------------------------------------------------------------- (a)/(c) Kinerja


def kinerja_path(item: dict, latencies: list[float]) -> None:
    """Drive one appraisal along the happy path, each event in its own unit of work."""
    from workflow_app.extensions import db
    from workflow_app.services.appraisals import fire_event
    from workflow_app.uow import unit_of_work

    version = 1
    for name, role, fields in HAPPY_PATH:
        started = time.perf_counter()
        with unit_of_work():
            version = fire_event(item[role], item["id"], name, {"version": version, **fields}).version
        db.session.remove()
        latencies.append(time.perf_counter() - started)


def kinerja_serial(work: list[dict]) -> dict:
    latencies: list[float] = []
    started = time.perf_counter()
    for item in work:
        kinerja_path(item, latencies)
    return summarise(latencies, time.perf_counter() - started)


class StatementCounter:
    """Counts what one engine sends: statements by verb, commits, rollbacks, connection checkouts."""

    def __init__(self, engine):
        self.engine = engine
        self.counts: Counter = Counter()

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        self.counts[statement.lstrip().split(None, 1)[0].upper()] += 1

    def _commit(self, conn):
        self.counts["COMMIT"] += 1

    def _rollback(self, conn):
        self.counts["ROLLBACK"] += 1

    def _checkout(self, dbapi_conn, record, proxy):
        self.counts["checkout"] += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)
        event.listen(self.engine.pool, "checkout", self._checkout)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)
        event.remove(self.engine.pool, "checkout", self._checkout)


def count_statements(work: list[dict], profile: bool = False) -> dict:
    """Statements per transition over a few appraisals (and a cProfile of them if asked)."""
    from workflow_app.extensions import db

    latencies: list[float] = []
    profiler = cProfile.Profile() if profile else None
    with StatementCounter(db.engine) as counter:
        if profiler:
            profiler.enable()
        for item in work:
            kinerja_path(item, latencies)
        if profiler:
            profiler.disable()
    n = len(latencies)
    counts = dict(counter.counts)
    statements = sum(v for k, v in counts.items() if k not in ("COMMIT", "ROLLBACK", "checkout"))
    result = {
        "transitions": n,
        "per_transition": {k: v / n for k, v in sorted(counts.items())},
        "statements_per_transition": statements / n,
        "pre_ping": bool(db.engine.pool._pre_ping),
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        result["profile"] = out.getvalue()
    return result


# --------------------------------------------------------------------------- (b) raw psycopg

RAW_LOCK = (
    "SELECT a.state, a.version, a.log_seq, a.log_hash, e.name FROM appraisals a "
    "JOIN employees e ON e.id = a.employee_id WHERE a.id = %s FOR UPDATE OF a"
)
RAW_UPDATE = (
    "UPDATE appraisals SET state = %s, version = version + 1, state_entered_at = %s, due_at = %s, "
    "escalation_level = 0, reminder_sent_at = NULL, sla_working_days = %s, log_seq = %s, log_hash = %s, "
    "rating_hasil_kerja = coalesce(%s, rating_hasil_kerja), rating_perilaku = coalesce(%s, rating_perilaku), "
    "predikat = coalesce(%s, predikat), feedback = coalesce(%s, feedback) WHERE id = %s"
)
RAW_LOG = (
    "INSERT INTO transition_log (entity, entity_id, seq, event, from_state, to_state, actor_user_id, "
    "actor_role, on_behalf_of_user_id, comment, payload, machine_version, created_at, prev_hash, hash, key_id) "
    "VALUES ('appraisal', %s, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s, %s, %s, %s, %s)"
)
RAW_OUTBOX = (
    "INSERT INTO outbox (topic, payload, dedupe_key, status, attempts, available_at, created_at) "
    "VALUES ('appraisal.transitioned', %s, %s, 'pending', 0, %s, %s)"
)
DESTINATIONS = {
    "submit_plan": "plan_submitted",
    "approve_plan": "plan_approved",
    "open_midyear_review": "midyear_review",
    "complete_midyear_review": "final_review",
    "score": "scored",
    "give_feedback": "feedback_given",
    "accept_result": "scored",  # reflexive: stays where it is (set below)
    "close": "closed",
}


def _digest(key: bytes, material: dict) -> str:
    raw = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


def raw_path(conn, item: dict, latencies: list[float], key: bytes, key_id: str) -> None:
    from workflow_app.clock import utcnow

    for name, role, fields in HAPPY_PATH:
        started = time.perf_counter()
        actor = item[role]
        now = utcnow().replace(microsecond=0)
        with conn.cursor() as cur:
            cur.execute(RAW_LOCK, (item["id"],))
            state, version, seq, prev, employee = cur.fetchone()
            dest = state if name == "accept_result" else DESTINATIONS[name]
            seq += 1
            payload = {k: v for k, v in fields.items() if k != "comment"}
            comment = fields.get("comment") or fields.get("feedback")
            material = {
                "entity": "appraisal", "entity_id": item["id"], "seq": seq, "event": name, "from": state,
                "to": dest, "actor": actor.user_id, "role": role, "on_behalf_of": None, "comment": comment,
                "payload": payload, "machine_version": "2026.1", "at": now.isoformat(), "prev": prev,
                "key_id": key_id,
            }  # fmt: skip
            digest = _digest(key, material)
            due = now + timedelta(days=7)
            scored = name == "score"
            cur.execute(
                RAW_UPDATE,
                (
                    dest, now, due, 5, seq, digest,
                    fields.get("rating_hasil_kerja"), fields.get("rating_perilaku"), "baik" if scored else None,
                    fields.get("feedback"), item["id"],
                ),
            )  # fmt: skip
            cur.execute(
                RAW_LOG,
                (
                    item["id"], seq, name, state, dest, actor.user_id, role, comment, json.dumps(payload),
                    "2026.1", now, prev, digest, key_id,
                ),
            )  # fmt: skip
            message = {
                "appraisal_id": item["id"], "event": name, "from": state, "to": dest, "seq": seq,
                "actor_user_id": actor.user_id,
                "context": {
                    "appraisal_id": item["id"], "cycle": "Bench transitions", "employee": employee,
                    "state": dest, "due": due.date().isoformat(), "predikat": "baik" if scored else None,
                    "actor": actor.username, "holder": employee, "comment": comment,
                },
            }  # fmt: skip
            cur.execute(RAW_OUTBOX, (json.dumps(message), f"raw:{item['id']}:{seq}", now, now))
        conn.commit()
        latencies.append(time.perf_counter() - started)


def raw_serial(url: str, work: list[dict]) -> dict:
    import psycopg

    key = AUDIT_KEY.encode()
    key_id = hmac.new(key, b"kinerja-audit-key-id", hashlib.sha256).hexdigest()[:16]
    latencies: list[float] = []
    with psycopg.connect(libpq_url(url)) as conn:
        started = time.perf_counter()
        for item in work:
            raw_path(conn, item, latencies, key, key_id)
        seconds = time.perf_counter() - started
    return summarise(latencies, seconds)


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --------------------------------------------------------------------------- (c) workers


def run_workers(
    target, chunks: list[list], processes: int, threads: int, args: tuple = (), warm: list | None = None
) -> dict:
    """Run ``target(args, thread_chunks, warm_item, ready, go, results)`` in forked processes.

    Each process first drives its ``warm`` item (a fresh process compiles its queries and opens
    its connections, as a server does once), then waits for the common start. The rate is over
    all transitions, from the first start to the last end.
    """
    ctx = mp.get_context("fork")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    per_process = [chunks[p * threads : (p + 1) * threads] for p in range(processes)]
    warm = warm or [None] * processes
    procs = [
        ctx.Process(target=target, args=(args, part, warm[i], ready, go, results))
        for i, part in enumerate(per_process)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ok = ready.get(timeout=120)
        if ok != "ready":
            go.set()
            raise benchrun.BenchError(f"worker failed to start: {ok}")
    go.set()
    latencies, first, last, errors = [], None, None, []
    for _ in procs:
        got = results.get(timeout=600)
        errors += got["errors"]
        latencies += got["latencies"]
        first = got["start"] if first is None else min(first, got["start"])
        last = got["end"] if last is None else max(last, got["end"])
    for p in procs:
        p.join(timeout=30)
    if errors:
        raise benchrun.BenchError(f"{len(errors)} worker errors, first: {errors[0]}")
    return {**summarise(latencies, last - first), "processes": processes, "threads": threads}


def thread_pool(run_one: Callable[[dict, list[float]], None], parts: list[list], wrap=None) -> dict:
    """Run the chunks in threads; ``wrap`` gives a per-thread context manager. Start/end times."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    spans: list[tuple[float, float]] = []
    barrier = threading.Barrier(len(parts) + 1)

    def worker(part: list) -> None:
        mine: list[float] = []
        ctx = wrap() if wrap else None
        if ctx:
            ctx.__enter__()
        try:
            barrier.wait()
            started = time.perf_counter()
            for item in part:
                run_one(item, mine)
            ended = time.perf_counter()
        except Exception:  # noqa: BLE001 - reported to the parent
            errors.append(traceback.format_exc())
            started = ended = time.perf_counter()
        finally:
            if ctx:
                ctx.__exit__(None, None, None)
        with lock:
            latencies.extend(mine)
            spans.append((started, ended))

    ts = [threading.Thread(target=worker, args=(part,)) for part in parts]
    for t in ts:
        t.start()
    barrier.wait()
    for t in ts:
        t.join()
    return {
        "latencies": latencies,
        "errors": errors,
        "start": min(s for s, _ in spans),
        "end": max(e for _, e in spans),
    }


def _kinerja_process(args, parts, warm, ready, go, results) -> None:
    (app,) = args  # forked: the parent's app, its engine and its compiled-statement cache
    try:
        from workflow_app.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)  # the parent's connections stay the parent's
            if warm is not None:
                kinerja_path(warm, [])
    except Exception:  # noqa: BLE001 - reported to the parent
        ready.put(traceback.format_exc())
        return
    ready.put("ready")
    go.wait()
    results.put(thread_pool(kinerja_path, parts, wrap=app.app_context))


def kinerja_concurrent(app, work: list[dict], warm: list[dict], processes: int, threads: int) -> dict:
    chunks = [work[i :: processes * threads] for i in range(processes * threads)]
    return run_workers(_kinerja_process, chunks, processes, threads, (app,), warm)


# --------------------------------------------------------------------------- the app


def bench_app(url: str, pool_size: int | None = None):
    from workflow_app import create_app

    overrides = {
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": "",
        "OUTBOX_KICK": False,
        "AUDIT_KEY": AUDIT_KEY,
    }
    if pool_size:
        # The deployment sizes the pool from its threads (issue 9); unless the configuration
        # already does, the bench does the same.
        from config import Config

        options = dict(Config.SQLALCHEMY_ENGINE_OPTIONS)
        options.setdefault("pool_size", pool_size)
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = options
    return create_app("test", overrides)


# --------------------------------------------------------------------------- the benchmark


def bench_transitions(
    quick: bool = False,
    rounds: int | None = None,
    serial: int | None = None,
    concurrent: int | None = None,
    processes: int = DEPLOYED[0],
    threads: int = DEPLOYED[1],
    peer: bool = True,
    profile: bool = False,
    log: Callable[[str], None] = print,
) -> dict:
    """The four runs, interleaved over ``rounds``, on PostgreSQL; medians, ratios and goals."""
    from workflow_app.extensions import db

    sizes = QUICK if quick else FULL
    rounds = rounds or sizes["rounds"]
    serial = serial or sizes["serial"]
    concurrent = concurrent or sizes["concurrent"]
    workers = processes * threads
    concurrent = max(concurrent, workers)
    url = benchrun.database_url("postgresql", "")
    benchrun.ensure_pg_database(url)
    counted = 2
    per_round = 2 * serial + concurrent + processes
    total = per_round * rounds + counted
    app = bench_app(url, pool_size=threads)  # forked into the workers, as gunicorn does
    result: dict = {
        "events": [e for e, _, _ in HAPPY_PATH],
        "rounds": rounds,
        "serial_appraisals": serial,
        "concurrent_appraisals": concurrent,
        "processes": processes,
        "threads": threads,
    }
    runs: dict[str, list[dict]] = {"kinerja_1": [], "raw_1": [], "kinerja_n": [], "django_n": []}
    django = None
    with app.app_context():
        log(f"transitions: setup, {total} appraisals …")
        work = setup_kinerja(total, log)["work"]
        result["statements"] = count_statements(work[:counted], profile=profile)
        work = work[counted:]
        db.session.remove()
        db.engine.dispose()
        if peer:
            from bench.peers import django_fsm

            django = django_fsm.Peer(url, log)
            django.setup((concurrent + processes) * rounds)
        for r in range(rounds):
            batch = work[r * per_round : (r + 1) * per_round]
            mine, raw = batch[:serial], batch[serial : 2 * serial]
            many, warm = batch[2 * serial : 2 * serial + concurrent], batch[2 * serial + concurrent :]
            log(f"  round {r + 1}/{rounds}: Kinerja 1 thread, {len(mine) * EVENTS} transitions …")
            runs["kinerja_1"].append(kinerja_serial(mine))
            db.session.remove()
            log(f"  round {r + 1}/{rounds}: raw psycopg 1 thread …")
            runs["raw_1"].append(raw_serial(url, raw))
            db.engine.dispose()
            log(
                f"  round {r + 1}/{rounds}: Kinerja {processes}×{threads} workers, {len(many) * EVENTS} transitions …"
            )
            runs["kinerja_n"].append(kinerja_concurrent(app, many, warm, processes, threads))
            if django is not None:
                log(f"  round {r + 1}/{rounds}: django-fsm-2 {processes}×{threads} workers …")
                runs["django_n"].append(django.run(r, concurrent, processes, threads))
        db.session.remove()
        db.engine.dispose()
    result["runs"] = runs
    median = {k: _median_run(v) for k, v in runs.items() if v}
    result["median"] = median
    result["serial"] = {
        "rate": median["kinerja_1"]["rate"],
        "baseline_rate": median["raw_1"]["rate"],
        "ratio": median["kinerja_1"]["rate"] / median["raw_1"]["rate"],
        "goal": GOAL_SERIAL,
    }
    result["serial"]["met"] = result["serial"]["ratio"] >= GOAL_SERIAL
    if "django_n" in median:
        result["concurrent"] = {
            "rate": median["kinerja_n"]["rate"],
            "baseline_rate": median["django_n"]["rate"],
            "ratio": median["kinerja_n"]["rate"] / median["django_n"]["rate"],
            "goal": GOAL_CONCURRENT,
        }
        result["concurrent"]["met"] = result["concurrent"]["ratio"] >= GOAL_CONCURRENT
    return result


def _median_run(runs: list[dict]) -> dict:
    keys = ("rate", "p50_ms", "p99_ms", "seconds")
    out = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["transitions"] = runs[0]["transitions"]
    return out


def report_transitions(result: dict) -> list[str]:
    m = result["median"]
    w = f"{result['processes']}×{result['threads']}"
    lines = [
        f"transitions: 8-event happy path, median of {result['rounds']} interleaved round(s)",
        f"{'figure':<44}{'rate/s':>9}{'p50 ms':>9}{'p99 ms':>9}",
    ]
    labels = {
        "kinerja_1": "Kinerja in-process, 1 thread",
        "raw_1": "raw psycopg (lock, 3 writes, commit), 1 thread",
        "kinerja_n": f"Kinerja in-process, {w} workers",
        "django_n": f"django-fsm-2 on Django's ORM, {w} workers",
    }
    for key, label in labels.items():
        if key in m:
            x = m[key]
            lines.append(f"{label:<44}{x['rate']:>9.1f}{x['p50_ms']:>9.1f}{x['p99_ms']:>9.1f}")
    lines.append(f"{'ratio':<44}{'value':>9}{'goal':>9}{'met':>9}")
    for key, label in (
        ("serial", "Kinerja 1 thread / raw psycopg"),
        ("concurrent", f"Kinerja {w} / django-fsm-2"),
    ):
        if key in result:
            r = result[key]
            lines.append(
                f"{label:<44}{r['ratio']:>9.2f}{'≥ ' + str(r['goal']):>9}{'yes' if r['met'] else 'no':>9}"
            )
    s = result["statements"]
    verbs = ", ".join(f"{k} {v:.1f}" for k, v in s["per_transition"].items())
    lines.append(f"Kinerja per transition: {s['statements_per_transition']:.1f} statements ({verbs})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transitions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small round (≤ 15 s)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--serial", type=int, help="appraisals per round, 1-thread runs")
    parser.add_argument("--concurrent", type=int, help="appraisals per round, concurrent runs")
    parser.add_argument("--processes", type=int, default=DEPLOYED[0])
    parser.add_argument("--threads", type=int, default=DEPLOYED[1])
    parser.add_argument("--no-peer", action="store_true", help="skip django-fsm-2")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the counted pass")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:5.1f} s] {message}", file=sys.stderr, flush=True)

    try:
        result = bench_transitions(
            quick=args.quick,
            rounds=args.rounds,
            serial=args.serial,
            concurrent=args.concurrent,
            processes=args.processes,
            threads=args.threads,
            peer=not args.no_peer,
            profile=args.profile,
            log=log,
        )
    except Exception:  # noqa: BLE001 - report any failure and exit non-zero
        traceback.print_exc()
        return 1
    result["wall_seconds"] = time.perf_counter() - started
    print("\n".join(report_transitions(result)))
    print(f"(wall {result['wall_seconds']:.1f} s)")
    if args.profile:
        print(result["statements"]["profile"])
    if args.json:
        result["statements"].pop("profile", None)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
