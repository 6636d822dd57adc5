"""Benchmark: ``POST /api/v1/appraisals/{id}/events/{event}`` through the shipped gunicorn.

    python -m bench.http                  # PostgreSQL kinerja_http_bench, Redis db 6
    python -m bench.http --quick          # a few seconds
    python -m bench.http --json out.json

gunicorn is started as the Dockerfile's ``CMD`` says (its ``--workers``/``--threads``, the
``gunicorn.conf.py`` of the checkout; only ``--bind`` moves to a free port), with
``KINERJA_ENV=production``, and beside it one RQ worker as ``docker-compose.yml``'s ``worker``
service runs it, emails going to an SMTP sink in this process. 16 client threads, each with one
keep-alive connection, drive their own appraisals through the 8-event happy path (submit_plan,
approve_plan, open_midyear_review, complete_midyear_review, score, give_feedback, accept_result,
close) as the employee, the assessor and HR, with bearer tokens.

Measured in the same run, on the same database:

- **in-process**: the same events through ``services.appraisals.fire_event`` and the unit of
  work, one thread, no HTTP (issue 9: HTTP ≥ 0.5× this rate);
- **raw SQL**: psycopg, 16 threads, each transition ``SELECT … FOR UPDATE``, ``UPDATE``,
  ``INSERT`` log, ``INSERT`` outbox, ``COMMIT`` (issue 9: HTTP p99 at 16 clients ≤ 10× its p99);
- **HTTP without Redis**: gunicorn again with ``REDIS_URL`` unset (no kick, no worker);
- the outbox rows still pending when the HTTP run ends (issue 9: ≤ one second of writes).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import logging
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url

from bench import run as base
from bench.transitions import make_open_cycle

ROOT = Path(__file__).resolve().parent.parent
# The checkout whose gunicorn and worker run (default this one; another, e.g. main's, to compare).
APP_DIR = Path(os.environ.get("BENCH_HTTP_APP_DIR") or ROOT)
DEFAULT_DB_URL = "postgresql://postgres@127.0.0.1:5432/kinerja_http_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
CLIENTS = 16
HAPPY_PATH = (
    ("submit_plan", "employee", {}),
    ("approve_plan", "assessor", {}),
    ("open_midyear_review", "hr", {}),
    ("complete_midyear_review", "assessor", {"feedback": "Sesuai rencana"}),
    ("score", "assessor", {"rating_hasil_kerja": "sesuai", "rating_perilaku": "sesuai"}),
    ("give_feedback", "assessor", {"feedback": "Pertahankan"}),
    ("accept_result", "employee", {}),
    ("close", "hr", {}),
)
# The state after each event of HAPPY_PATH (accept_result keeps it).
TARGETS = (
    "plan_submitted",
    "plan_approved",
    "midyear_review",
    "final_review",
    "scored",
    "feedback_given",
    "feedback_given",
    "closed",
)
QUICK_PATH = HAPPY_PATH[:2]
GOAL_RATE = 0.5
GOAL_P99 = 10.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _latency(values: list[float], seconds: float) -> dict:
    return {
        "count": len(values),
        "seconds": seconds,
        "rate": len(values) / seconds if seconds else 0.0,
        "p50_ms": _percentile(values, 0.50) * 1000,
        "p99_ms": _percentile(values, 0.99) * 1000,
    }


# --------------------------------------------------------------------------- the deployment


def dockerfile_web_command() -> list[str]:
    """The Dockerfile's CMD (JSON form), as the image runs gunicorn."""
    text = (APP_DIR / "Dockerfile").read_text()
    match = re.search(r"^CMD\s+(\[.*?\])\s*$", text.replace("\\\n", " "), re.M | re.S)
    if not match:
        raise base.BenchError("no JSON-form CMD in the Dockerfile")
    return json.loads(match.group(1))


def compose_worker_command() -> list[str]:
    """The ``worker`` service's command in docker-compose.yml."""
    import yaml

    compose = yaml.safe_load((APP_DIR / "docker-compose.yml").read_text())
    command = compose["services"]["worker"]["command"]
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def with_bind(command: list[str], port: int) -> list[str]:
    """``command`` with its ``--bind`` (either spelling) moved to 127.0.0.1:``port``."""
    out, skip = [], False
    for part in command:
        if skip:
            skip = False
            continue
        if part in ("--bind", "-b"):
            skip = True
            continue
        if part.startswith("--bind="):
            continue
        out.append(part)
    return [*out, f"--bind=127.0.0.1:{port}"]


def _executable(command: list[str]) -> list[str]:
    """Run the image's tools from this interpreter's environment (gunicorn, flask, python)."""
    name, rest = command[0], command[1:]
    if name in ("python", "python3"):
        return [sys.executable, *rest]
    local = Path(sys.executable).parent / name
    return [str(local) if local.exists() else name, *rest]


class Deployment:
    """gunicorn (+ the RQ worker) as subprocesses; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, env: dict, with_worker: bool, log: Callable[[str], None]):
        from workflow_app.dev.embedded_redis import free_port

        self.port = free_port()
        self.env = env
        self.with_worker = with_worker
        self.log = log
        self.procs: list[subprocess.Popen] = []
        self.command = with_bind(dockerfile_web_command(), self.port)
        self.output = Path(os.environ.get("BENCH_HTTP_LOG") or "/tmp/kinerja-bench-http.log")

    def start(self, timeout: float = 60.0) -> None:
        self.log(f"    starting: {' '.join(self.command)}")
        self._spawn(_executable(self.command))
        if self.with_worker:
            worker = compose_worker_command()
            self.log(f"    starting: {' '.join(worker)}")
            self._spawn(_executable(worker))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise base.BenchError(f"a server process exited at start (see {self.output})")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise base.BenchError("gunicorn did not answer /healthz in time")

    def _spawn(self, command: list[str]) -> None:
        with self.output.open("a") as out:
            self.procs.append(
                subprocess.Popen(
                    command, cwd=APP_DIR, env=self.env, stdout=out, stderr=out, start_new_session=True
                )
            )

    def web_worker_rss_mib(self) -> list[float]:
        """Resident memory of each gunicorn worker after the run (issue 9: ≤ 120 MiB each)."""
        import psutil

        try:
            master = psutil.Process(self.procs[0].pid)
            return sorted(round(c.memory_info().rss / 2**20, 1) for c in master.children())
        except psutil.Error:
            return []

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def server_env(db_url: str, redis_url: str | None, audit_key: str, smtp_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KINERJA_", "DB_", "TOKEN_"))}
    env.update(
        KINERJA_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        AUDIT_KEY=audit_key,
        DATABASE_URL=db_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TLS="none",
        PYTHONPATH=str(APP_DIR),
    )
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


class SmtpSink:
    """Accepts every message (the worker's emails) and counts them."""

    def __init__(self):
        from workflow_app.dev.embedded_redis import free_port

        self.port = free_port()
        self.count = 0
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        self.count += 1
        return "250 OK"

    def __enter__(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


# --------------------------------------------------------------------------- data (not measured)


def fresh_schema() -> None:
    """An empty schema at the migrations' head: emptied when already there, else rebuilt."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    from workflow_app.extensions import db

    heads = set(
        ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_heads()
    )
    with db.engine.connect() as conn:
        try:
            current = {r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
        except sqlalchemy.exc.DBAPIError:
            current = set()
    if current != heads:
        base.reset_schema()
        return
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def seed(employees: int, log: Callable[[str], None]) -> dict:
    """Schema, org chart, a cycle with every window open, launched; users, tokens and plans."""
    from workflow_app.clock import utcnow
    from workflow_app.extensions import db
    from workflow_app.models import (
        BERAKHLAK,
        ApiToken,
        Appraisal,
        BehaviourExpectation,
        Employee,
        PlanItem,
        RoleAssignment,
        User,
    )
    from workflow_app.security import hash_password, token_digest

    fresh_schema()
    org = base.build_org(employees, opd=2)
    cycle_id = make_open_cycle(org["root_id"], "Bench HTTP")
    base.fire_launch(base.hr_actor(org["root_path"]), cycle_id)

    now = utcnow()
    with db.engine.begin() as conn:
        rows = conn.execute(
            select(Appraisal.id, Appraisal.employee_id, Appraisal.assessor_id, Appraisal.version)
            .join(Employee, Employee.id == Appraisal.employee_id)
            .where(Appraisal.cycle_id == cycle_id, Appraisal.assessor_id.is_not(None))
            .where(Appraisal.superior_id.is_not(None), Employee.position_type != "JPT")
            .order_by(Appraisal.id)
        ).all()
        people = sorted({r.employee_id for r in rows} | {r.assessor_id for r in rows})
        password_hash = hash_password("bench-password-1")
        conn.execute(
            insert(User.__table__),
            [
                {
                    "username": f"p{eid}",
                    "password_hash": password_hash,
                    "employee_id": eid,
                    "locale": "id",
                    "email_digest": "immediate",
                    "active": True,
                    "created_at": now,
                }
                for eid in people
            ]
            + [
                {
                    "username": "bench.hr",
                    "password_hash": password_hash,
                    "employee_id": None,
                    "locale": "id",
                    "email_digest": "immediate",
                    "active": True,
                    "created_at": now,
                }
            ],
        )
        user_of = dict(
            conn.execute(select(User.employee_id, User.id).where(User.employee_id.is_not(None))).all()
        )
        hr_id = conn.scalar(select(User.id).where(User.username == "bench.hr"))
        conn.execute(
            insert(RoleAssignment.__table__), [{"user_id": hr_id, "role": "hr", "unit_id": org["root_id"]}]
        )
        tokens = {uid: "knj_bench_" + secrets.token_urlsafe(24) for uid in [*user_of.values(), hr_id]}
        conn.execute(
            insert(ApiToken.__table__),
            [
                {
                    "user_id": uid,
                    "token_hash": token_digest(tok),
                    "created_at": now,
                    "expires_at": now + timedelta(hours=12),
                }
                for uid, tok in tokens.items()
            ],
        )
        conn.execute(
            insert(PlanItem.__table__),
            [
                {
                    "appraisal_id": r.id,
                    "position": 1,
                    "kind": "utama",
                    "rhk": "Tersusunnya laporan layanan",
                    "aspect": "kuantitas",
                    "indicator": "Jumlah laporan",
                    "target_value": "12",
                    "target_unit": "laporan",
                    "midyear_realisation": "6",
                    "final_realisation": "12",
                    "evidence": [],
                }
                for r in rows
            ],
        )
        conn.execute(
            insert(BehaviourExpectation.__table__),
            [{"appraisal_id": r.id, "value": v, "expectation": "Sesuai"} for r in rows for v in BERAKHLAK],
        )
    base.analyze("appraisals", "transition_log", "outbox", "users", "api_tokens", "plan_items")
    items = [
        {
            "id": r.id,
            "version": r.version,
            "employee": (user_of[r.employee_id], tokens[user_of[r.employee_id]]),
            "assessor": (user_of[r.assessor_id], tokens[user_of[r.assessor_id]]),
            "hr": (hr_id, tokens[hr_id]),
        }
        for r in rows
    ]
    log(f"  seeded {employees:,} employees, {len(items):,} staff appraisals with users and tokens")
    return {"cycle_id": cycle_id, "root_path": org["root_path"], "items": items}


def pending_outbox() -> int:
    from workflow_app.extensions import db
    from workflow_app.models import OutboxMessage

    with db.engine.connect() as conn:
        return conn.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )


def settle_outbox() -> None:
    """Mark the baselines' outbox rows done, so the HTTP runs' workers see only their own."""
    from workflow_app.extensions import db
    from workflow_app.models import OutboxMessage

    with db.engine.begin() as conn:
        conn.execute(update(OutboxMessage).where(OutboxMessage.status == "pending").values(status="done"))


# --------------------------------------------------------------------------- baselines


def in_process(items: list[dict], path: tuple, log: Callable[[str], None]) -> dict:
    """The same events through the service and the unit of work, one thread, no HTTP."""
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal
    from workflow_app.services import appraisals
    from workflow_app.services.auth import resolve_token
    from workflow_app.uow import unit_of_work

    actors = {}
    for item in items:
        for role in ("employee", "assessor", "hr"):
            uid, token = item[role]
            if uid not in actors:
                actors[uid] = resolve_token(token).actor
    db.session.remove()
    latencies: list[float] = []
    started = time.perf_counter()
    for item in items:
        version = item["version"]
        for event, role, fields in path:
            t0 = time.perf_counter()
            with unit_of_work():
                a = appraisals.fire_event(
                    actors[item[role][0]], item["id"], event, {"version": version, **fields}
                )
                version = a.version
            latencies.append(time.perf_counter() - t0)
            db.session.remove()
    seconds = time.perf_counter() - started
    with db.engine.connect() as conn:
        closed = conn.scalar(
            select(func.count()).where(
                Appraisal.id.in_([i["id"] for i in items]), Appraisal.state == TARGETS[len(path) - 1]
            )
        )
    if closed != len(items):
        raise base.BenchError(
            f"in-process: {closed} of {len(items)} appraisals reached {TARGETS[len(path) - 1]}"
        )
    return _latency(latencies, seconds)


def raw_sql(db_url: str, items: list[dict], clients: int, audit_key: str, path: tuple) -> dict:
    """psycopg, ``clients`` threads: lock, update, insert log, insert outbox, commit per transition."""
    import psycopg

    url = make_url(db_url)
    params = {
        k: v
        for k, v in {
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "user": url.username,
            "password": url.password,
            "dbname": url.database,
        }.items()
        if v is not None
    }
    key = audit_key.encode()
    events = [e for e, _, _ in path]
    targets = TARGETS
    sources = ["plan_drafted", *targets[:-1]]
    with psycopg.connect(**params) as conn:
        heads = dict(
            conn.execute(
                "SELECT entity_id, max(seq) FROM transition_log WHERE entity = 'appraisal' AND entity_id = ANY(%s)"
                " GROUP BY entity_id",
                ([i["id"] for i in items],),
            ).fetchall()
        )
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            with psycopg.connect(**params) as conn:
                for item in items[k::clients]:
                    seq, prev = heads.get(item["id"], 0), "0" * 64
                    for n, event in enumerate(events):
                        t0 = time.perf_counter()
                        seq += 1
                        with conn.transaction():
                            conn.execute(
                                "SELECT state, version FROM appraisals WHERE id = %s FOR UPDATE",
                                (item["id"],),
                            )
                            conn.execute(
                                "UPDATE appraisals SET state = %s, version = version + 1, state_entered_at = now(),"
                                " due_at = now() + interval '7 days', escalation_level = 0 WHERE id = %s",
                                (targets[n], item["id"]),
                            )
                            material = json.dumps([item["id"], seq, event, prev]).encode()
                            digest = hmac.new(key, material, hashlib.sha256).hexdigest()
                            conn.execute(
                                "INSERT INTO transition_log (entity, entity_id, seq, event, from_state, to_state,"
                                " actor_user_id, actor_role, comment, payload, machine_version, created_at,"
                                " prev_hash, hash, key_id) VALUES ('appraisal', %s, %s, %s, %s, %s, %s, %s, NULL,"
                                " '{}', '2026.1', now(), %s, %s, 'bench-raw')",
                                (
                                    item["id"],
                                    seq,
                                    event,
                                    sources[n],
                                    targets[n],
                                    item["hr"][0],
                                    "hr",
                                    prev,
                                    digest,
                                ),
                            )
                            conn.execute(
                                "INSERT INTO outbox (topic, payload, dedupe_key, status, attempts, available_at,"
                                " created_at) VALUES ('appraisal.transitioned', %s, %s, 'pending', 0, now(), now())",
                                (
                                    json.dumps({"appraisal_id": item["id"], "event": event}),
                                    f"raw:{item['id']}:{seq}",
                                ),
                            )
                        prev = digest
                        latencies[k].append(time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    seconds = _in_threads(work, clients)
    if errors:
        raise base.BenchError(f"raw SQL baseline failed: {errors[0]!r}")
    return _latency([x for per in latencies for x in per], seconds)


# --------------------------------------------------------------------------- the HTTP run


def _in_threads(work: Callable[[int], None], clients: int) -> float:
    """Run ``work(k)`` for k in 0…clients-1, each in its own thread: wall seconds until all end."""
    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - started


def drive(port: int, items: list[dict], clients: int, path: tuple = HAPPY_PATH) -> dict:
    """``clients`` threads, one keep-alive connection each, each its own appraisals' happy path."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []

    def work(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            for item in items[k::clients]:
                version = item["version"]
                for event, role, fields in path:
                    body = json.dumps({"version": version, **fields})
                    headers = {"Authorization": f"Bearer {item[role][1]}", "Content-Type": "application/json"}
                    t0 = time.perf_counter()
                    conn.request("POST", f"/api/v1/appraisals/{item['id']}/events/{event}", body, headers)
                    response = conn.getresponse()
                    data = response.read()
                    latencies[k].append(time.perf_counter() - t0)
                    if response.status != 200:
                        failures.append(f"{event} on {item['id']}: {response.status} {data[:200]!r}")
                        break
                    version = json.loads(data)["version"]
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            failures.append(repr(exc))
        finally:
            conn.close()

    seconds = _in_threads(work, clients)
    if failures:
        raise base.BenchError(f"HTTP run: {len(failures)} failures, first: {failures[0]}")
    return _latency([x for per in latencies for x in per], seconds)


def warm_up(port: int, token: str, requests: int = 48) -> None:
    """Every gunicorn worker loads its app and opens its connections before the clock starts."""

    def work() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(requests // 8):
            conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def http_run(
    env: dict, items: list[dict], clients: int, with_worker: bool, path: tuple, log: Callable[[str], None]
) -> dict:
    deployment = Deployment(env, with_worker, log)
    try:
        deployment.start()
        log("    ready; warming up")
        warm_up(deployment.port, items[0]["hr"][1])
        log("    driving")
        result = drive(deployment.port, items, clients, path)
        result["pending_outbox_at_end"] = pending_outbox()
        result["command"] = " ".join(deployment.command)
        result["web_worker_rss_mib"] = deployment.web_worker_rss_mib()
    finally:
        deployment.stop()
    return result


def bench_http(
    *, quick: bool = False, per_client: int | None = None, clients: int = CLIENTS, log: Callable[[str], None]
) -> dict:
    """Set up the bench database, run the baselines and both HTTP runs; a JSON-able dict."""
    import redis

    from workflow_app import create_app

    db_url = os.environ.get("BENCH_HTTP_DATABASE_URL") or DEFAULT_DB_URL
    redis_url = os.environ.get("BENCH_HTTP_REDIS_URL") or DEFAULT_REDIS_URL
    sa_url = make_url(db_url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if make_url(sa_url).database in base.PROTECTED_DATABASES:
        raise base.BenchError("refusing to benchmark in a protected database")
    base.ensure_pg_database(sa_url)
    per_client = per_client or (1 if quick else 4)
    employees = 120 if quick else 600
    path = QUICK_PATH if quick else HAPPY_PATH
    audit_key = secrets.token_urlsafe(48)
    app = create_app(
        "development",
        {"SQLALCHEMY_DATABASE_URI": sa_url, "REDIS_URL": "", "AUDIT_KEY": audit_key, "OUTBOX_KICK": False},
    )
    logging.getLogger().setLevel(logging.WARNING)  # create_app turns on INFO for the service's logs
    started = time.perf_counter()
    with app.app_context():
        data = seed(employees, log)
        items = data["items"]
        need = clients * per_client
        if len(items) < 4 * need:
            raise base.BenchError(f"only {len(items)} staff appraisals for {4 * need} needed")
        raw_items, inproc_items = items[:need], items[need : 2 * need]
        http_items, bare_items = items[2 * need : 3 * need], items[3 * need : 4 * need]

        log(f"  raw SQL: {clients} threads × {per_client * len(path)} transitions …")
        raw = raw_sql(sa_url.replace("postgresql+psycopg", "postgresql"), raw_items, clients, audit_key, path)
        log(f"  in-process: 1 thread, {need * len(path)} transitions …")
        inproc = in_process(inproc_items, path, log)
        settle_outbox()

        redis.Redis.from_url(redis_url).flushdb()
        bare = None
        with SmtpSink() as sink:
            log(f"  HTTP with Redis and the worker: {clients} clients × {per_client * len(path)} events …")
            env = server_env(db_url, redis_url, audit_key, sink.port)
            with_redis = http_run(env, http_items, clients, True, path, log)
            with_redis["emails_received"] = sink.count
            settle_outbox()
            if not quick:
                log("  HTTP without Redis (no kick, no worker) …")
                env = server_env(db_url, None, audit_key, sink.port)
                bare = http_run(env, bare_items, clients, False, path, log)
        pg_version = base.server_version()
    from workflow_app.extensions import db

    with app.app_context():
        db.engine.dispose()
    rate_ratio = with_redis["rate"] / inproc["rate"] if inproc["rate"] else 0.0
    p99_ratio = with_redis["p99_ms"] / raw["p99_ms"] if raw["p99_ms"] else 0.0
    return {
        "quick": quick,
        "clients": clients,
        "appraisals_per_client": per_client,
        "events": [e for e, _, _ in path],
        "postgresql": pg_version,
        "http": with_redis,
        "http_without_redis": bare,
        "in_process": inproc,
        "raw_sql": raw,
        "ratio": {
            "rate_vs_in_process": rate_ratio,
            "p99_vs_raw_sql": p99_ratio,
            "without_redis_rate_vs_in_process": bare["rate"] / inproc["rate"]
            if bare and inproc["rate"]
            else None,
            "pending_outbox_vs_one_second": with_redis["pending_outbox_at_end"] / with_redis["rate"]
            if with_redis["rate"]
            else 0.0,
        },
        "goal": {
            "rate_vs_in_process": GOAL_RATE,
            "p99_vs_raw_sql": GOAL_P99,
            "pending_outbox_vs_one_second": 1.0,
        },
        "seconds_total": time.perf_counter() - started,
    }


WEB_WORKER_RSS_GOAL_MIB = 120


def _memory_lines(h: dict) -> list[str]:
    rss = h.get("web_worker_rss_mib") or []
    if not rss:
        return []
    worst = max(rss)
    ok = "yes" if worst <= WEB_WORKER_RSS_GOAL_MIB else "no"
    each = ", ".join(f"{x:.0f}" for x in rss)
    return [
        f"  {'web worker RSS after the run, MiB (max)':<44} {worst:>14.1f} {'each: ' + each:>22}"
        f" {'':>8} {'≤ ' + str(WEB_WORKER_RSS_GOAL_MIB):>8} {ok}"
    ]


def report_http(result: dict) -> list[str]:
    h, b, i, r, ratio, goal = (
        result["http"],
        result["http_without_redis"],
        result["in_process"],
        result["raw_sql"],
        result["ratio"],
        result["goal"],
    )

    def met(ok: bool) -> str:
        return "yes" if ok else "no"

    return (
        [
            f"HTTP events ({result['clients']} clients, gunicorn as the Dockerfile runs it, RQ worker, Redis)",
            f"  {'figure':<44} {'value':>14} {'baseline':>22} {'ratio':>8} {'goal':>8} met",
            f"  {'rate, events/s':<44} {h['rate']:>14.1f} {'in-process ' + format(i['rate'], '.1f'):>22}"
            f" {ratio['rate_vs_in_process']:>8.2f} {'≥ ' + str(goal['rate_vs_in_process']):>8}"
            f" {met(ratio['rate_vs_in_process'] >= goal['rate_vs_in_process'])}",
            f"  {'p99 at 16 clients, ms':<44} {h['p99_ms']:>14.1f} {'raw SQL ' + format(r['p99_ms'], '.1f'):>22}"
            f" {ratio['p99_vs_raw_sql']:>8.1f} {'≤ ' + str(goal['p99_vs_raw_sql']):>8}"
            f" {met(ratio['p99_vs_raw_sql'] <= goal['p99_vs_raw_sql'])}",
            f"  {'p50, ms':<44} {h['p50_ms']:>14.1f} {'raw SQL ' + format(r['p50_ms'], '.1f'):>22}",
            f"  {'outbox rows pending at the end':<44} {h['pending_outbox_at_end']:>14d}"
            f" {'1 s of writes ' + format(h['rate'], '.0f'):>22} {ratio['pending_outbox_vs_one_second']:>8.2f}"
            f" {'≤ 1':>8} {met(ratio['pending_outbox_vs_one_second'] <= 1.0)}",
            f"  {'raw SQL, 16 threads, transitions/s':<44} {r['rate']:>14.1f}",
            f"  {'in-process, 1 thread, p99 ms':<44} {i['p99_ms']:>14.1f}",
        ]
        + _memory_lines(h)
        + (
            [
                f"  {'without Redis (no kick, no worker), events/s':<44} {b['rate']:>14.1f}"
                f" {'in-process ' + format(i['rate'], '.1f'):>22} {ratio['without_redis_rate_vs_in_process']:>8.2f}",
                f"  {'without Redis, p99 ms':<44} {b['p99_ms']:>14.1f}",
            ]
            if b
            else ["  (without Redis: not run with --quick)"]
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one appraisal per client (a few seconds)")
    parser.add_argument("--per-client", type=int, default=None, help="appraisals per client (default 6)")
    parser.add_argument("--json", default=None, help="write the result here")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        result = bench_http(quick=args.quick, per_client=args.per_client, log=log)
    except base.BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report_http(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
