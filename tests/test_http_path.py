"""The HTTP write path (issue 9): what a request reads, the bearer-token cache, the pool.

Statement counts come from ``before_cursor_execute``; they hold the path to its round trips so
that a re-read or an N+1 does not come back unnoticed.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from tests import factories
from tests.test_lifecycle import launch, staff_appraisal
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, BehaviourExpectation, PlanItem, Unit
from workflow_app.redis_conn import get_redis
from workflow_app.services import auth
from workflow_app.uow import unit_of_work

SAVEPOINTS = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.I)


@contextmanager
def statements():
    """The SQL statements run inside the block (the test fixture's savepoints left out)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not SAVEPOINTS.match(statement):
            seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def touching(stmts: list[str], table: str) -> list[str]:
    return [s for s in stmts if re.search(rf"\b(FROM|JOIN|INTO|UPDATE)\s+{table}\b", s)]


@pytest.fixture(autouse=True)
def empty_token_cache():
    auth._cache.clear()
    yield
    auth._cache.clear()


def submitted(api, org):
    """The staff member's appraisal, submitted and waiting on the assessor."""
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    v = api.appraisal(aid, org.u_staff)["version"]
    assert (
        api.put(f"/api/v1/appraisals/{aid}/plan", org.u_staff, json=factories.plan_body(v)).status_code == 200
    )
    assert api.fire(aid, "submit_plan", org.u_staff).status_code == 200
    return aid


# --- the event's answer ------------------------------------------------------------------------


def test_an_event_answers_from_the_row_it_changed_without_reading_it_again(api, org):
    aid = submitted(api, org)
    version = api.appraisal(aid, org.u_kasi)["version"]
    with statements() as stmts:
        r = api.post(f"/api/v1/appraisals/{aid}/events/approve_plan", org.u_kasi, json={"version": version})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    # One read of the appraisal (the locking one); none of its collections; no token lookup.
    assert len([s for s in touching(stmts, "appraisals") if s.startswith("SELECT")]) == 1, stmts
    for table in ("plan_items", "behaviour_expectations", "training_assignments", "objections", "api_tokens"):
        assert not touching(stmts, table), (table, stmts)
    assert len(stmts) <= 10, stmts

    detail = api.appraisal(aid, org.u_kasi)
    assert body["version"] == version + 1 == detail["version"]
    for key in (
        "id",
        "state",
        "state_label",
        "holder",
        "due_at",
        "overdue",
        "escalation_level",
        "allowed_events",
        "employee",
        "assessor",
        "superior",
        "unit",
        "predikat",
        "relations",
        "objection_deadline",
    ):
        assert body[key] == detail[key], key
    assert body["state"] == "plan_approved"
    assert "plan_items" not in body and "trainings" not in body


def test_the_answer_names_the_people_even_when_the_event_did_not_load_them(api, org):
    aid = submitted(api, org)
    version = api.appraisal(aid, org.u_hr)["version"]
    r = api.post(
        f"/api/v1/appraisals/{aid}/events/cancel", org.u_hr, json={"version": version, "reason": "x"}
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["employee"]["id"], body["assessor"]["id"], body["superior"]["id"]) == (
        org.staff.id,
        org.kasi.id,
        org.kabid.id,
    )
    assert body["allowed_events"] == [] and body["state"] == "cancelled"


# --- no N+1: lists and pages cost the same for 1 row as for 20 ---------------------------------


def _appraisals(org, n: int, items: int = 1, state: str = "plan_drafted") -> list[int]:
    """``n`` appraisals in one seksi, each with its own assessor and superior (no shared rows)."""
    cycle = factories.cycle(org.dinas)
    unit = factories.unit(f"S{n}-{items}", "Seksi uji", org.bidang)
    ids = []
    for i in range(n):
        boss = factories.employee(f"Atasan {i}", unit)
        head = factories.employee(f"Penilai {i}", unit, boss)
        staff = factories.employee(f"Staf {i}", unit, head)
        a = Appraisal(
            cycle_id=cycle.id,
            employee_id=staff.id,
            unit_id=unit.id,
            assessor_id=head.id,
            superior_id=boss.id,
            position="Analis",
            state=state,
            state_entered_at=utcnow(),
            due_at=utcnow() + timedelta(days=10),
            escalation_level=0,
            machine_version="2026.1",
            scoring_scheme="permenpanrb_6_2022",
            scoring_version="1",
        )
        db.session.add(a)
        db.session.flush()
        for p in range(items):
            db.session.add(
                PlanItem(
                    appraisal_id=a.id, position=p + 1, kind="utama", rhk="r", indicator="i", target_value="1"
                )
            )
        db.session.add(BehaviourExpectation(appraisal_id=a.id, value="akuntabel", expectation="e"))
        ids.append(a.id)
    db.session.commit()
    return ids


def _count(api, path, user) -> int:
    api.get("/api/v1/me", user)  # the token resolved and cached before counting
    with statements() as stmts:
        r = api.get(path, user)
    assert r.status_code == 200, r.get_json()
    return len(stmts)


def test_the_appraisal_list_costs_the_same_for_one_row_and_for_twenty(api, org):
    one = _appraisals(org, 1)
    unit_one = db.session.get(Appraisal, one[0]).unit_id
    twenty = _appraisals(org, 20)
    unit_twenty = db.session.get(Appraisal, twenty[0]).unit_id
    small = _count(api, f"/api/v1/appraisals?unit={unit_one}", org.u_hr)
    large = _count(api, f"/api/v1/appraisals?unit={unit_twenty}", org.u_hr)
    assert large == small, (small, large)


def test_the_task_list_costs_the_same_for_one_row_and_for_twenty(api, org):
    _appraisals(org, 1, state="plan_approved")  # held by HR
    small = _count(api, "/api/v1/tasks", org.u_hr)
    _appraisals(org, 19, state="plan_approved")
    large = _count(api, "/api/v1/tasks", org.u_hr)
    assert len(api.get("/api/v1/tasks", org.u_hr).get_json()) == 20
    assert large == small, (small, large)


def test_the_appraisal_detail_costs_the_same_for_one_plan_item_and_for_twenty(api, org):
    (one,) = _appraisals(org, 1, items=1)
    (twenty,) = _appraisals(org, 1, items=20)
    small = _count(api, f"/api/v1/appraisals/{one}", org.u_hr)
    large = _count(api, f"/api/v1/appraisals/{twenty}", org.u_hr)
    assert large == small, (small, large)


def test_an_event_costs_the_same_for_one_plan_item_and_for_twenty(api, org):
    counts = []
    for items in (1, 20):
        (aid,) = _appraisals(org, 1, items=items)
        api.get("/api/v1/me", org.u_hr)
        with statements() as stmts:
            r = api.post(
                f"/api/v1/appraisals/{aid}/events/cancel", org.u_hr, json={"version": 1, "reason": "x"}
            )
        assert r.status_code == 200, r.get_json()
        counts.append(len(stmts))
    assert counts[0] == counts[1], counts


# --- bearer tokens: one query, then the cache; revocation clears it ---------------------------


def test_a_token_is_resolved_in_one_query_then_from_the_cache(api, org):
    token = api.token("kasi")
    auth._cache.clear()
    with statements() as first:
        assert api.get("/api/v1/tasks", "kasi").status_code == 200
    with statements() as second:
        assert api.get("/api/v1/tasks", "kasi").status_code == 200
    lookups = [s for s in first if "api_tokens" in s]
    assert len(lookups) == 1 and "role_assignments" in lookups[0] and "users" in lookups[0], first
    assert not [s for s in second if "api_tokens" in s], second
    assert len(second) == len(first) - 1
    assert auth.resolve_token(token).actor.username == "kasi"


def test_the_actor_from_one_query_is_the_actor_of_the_user(api, org):
    from workflow_app.services.access import Actor

    for user in (org.u_hr, org.u_admin, org.u_staff, org.u_hr_other):
        identity = auth.resolve_token(api.token(user.username))
        assert identity.actor == Actor.from_user(user), user.username
        assert identity.user_id == user.id


def test_sign_out_refuses_the_token_at_once(api, org):
    token = api.token("staf")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/me", headers=headers).status_code == 200  # cached now
    assert api.client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    r = api.client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.get_json()["type"].endswith("/invalid-token")


def test_deactivation_and_role_changes_apply_at_once(api, org):
    assert api.get("/api/v1/monitoring/summary", org.u_hr).status_code == 200  # hr's token cached
    assert api.get("/api/v1/me", org.u_staff).status_code == 200
    r = api.patch(f"/api/v1/users/{org.u_hr.id}", org.u_admin, json={"roles": []})
    assert r.status_code == 200, r.get_json()
    assert api.get("/api/v1/monitoring/summary", org.u_hr).status_code == 403
    r = api.patch(f"/api/v1/users/{org.u_staff.id}", org.u_admin, json={"active": False})
    assert r.status_code == 200, r.get_json()
    assert api.get("/api/v1/me", org.u_staff).status_code == 401


def test_a_password_change_refuses_the_old_tokens_at_once(api, org):
    assert api.get("/api/v1/me", org.u_kasi).status_code == 200
    with unit_of_work():
        auth.change_password(
            db.session.get(type(org.u_kasi), org.u_kasi.id), factories.PASSWORD, "sandi-baru-456"
        )
    assert api.get("/api/v1/me", org.u_kasi).status_code == 401


def test_a_moved_unit_moves_the_scope_of_cached_tokens(api, org):
    assert api.get("/api/v1/monitoring/summary", org.u_hr).status_code == 200
    generation = auth._generation()
    r = api.patch(f"/api/v1/units/{org.dinas.id}", org.u_admin, json={"parent_id": org.other.id})
    assert r.status_code == 200, r.get_json()
    assert auth._generation() == generation + 1
    dinas_path = db.session.get(Unit, org.dinas.id).path
    assert auth.resolve_token(api.token("hr")).actor.hr_paths == (dinas_path,)


def test_another_process_revocation_is_seen_at_once_through_redis(api, org):
    """Another process revokes (its commit bumps the generation in Redis): refused here at once."""
    token = api.token("staf")
    assert auth.resolve_token(token) is not None  # cached
    # What the other process does: revoke in the database, then bump the shared generation.
    db.session.execute(text("UPDATE api_tokens SET revoked_at = :now"), {"now": utcnow()})
    assert auth.resolve_token(token) is not None  # still cached: nothing told this process yet
    get_redis().incr(auth.GENERATION_KEY)
    assert auth.resolve_token(token) is None


def test_without_redis_another_process_revocation_is_seen_within_the_ttl(app, api, org, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "")
    monkeypatch.setitem(app.config, "TOKEN_CACHE_SECONDS", 30)
    token = api.token("staf")
    assert auth.resolve_token(token) is not None
    db.session.execute(text("UPDATE api_tokens SET revoked_at = :now"), {"now": utcnow()})
    assert auth.resolve_token(token) is not None  # within the TTL the cache still answers
    later = time.monotonic() + 31
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    assert auth.resolve_token(token) is None


def test_with_redis_unreachable_the_cache_is_bypassed(app, api, org, monkeypatch):
    token = api.token("staf")
    assert auth.resolve_token(token) is not None

    class Down:
        def get(self, key):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(auth, "_redis", lambda: Down())
    monkeypatch.setattr(auth._cache, "redis_down_until", 0.0)
    db.session.execute(text("UPDATE api_tokens SET revoked_at = :now"), {"now": utcnow()})
    assert auth.resolve_token(token) is None  # read from the database, not the cache
    auth._cache.redis_down_until = 0.0


def test_an_expired_token_is_refused_even_from_the_cache(api, org):
    import time_machine

    token = api.token("staf")
    assert auth.resolve_token(token) is not None
    with time_machine.travel(utcnow() + timedelta(hours=13), tick=False):
        assert auth.resolve_token(token) is None


def test_the_cache_is_bounded(app, api, org, monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_CACHE_SIZE", 2)
    for name in ("staf", "kasi", "kabid"):
        assert auth.resolve_token(api.token(name)) is not None
    assert len(auth._cache.entries) == 2


# --- the pool ------------------------------------------------------------------------------


def test_the_pool_is_sized_from_the_web_workers_threads(monkeypatch):
    from workflow_app.extensions import WEB_THREADS_ENV, pool_options

    monkeypatch.setenv(WEB_THREADS_ENV, "4")
    options = pool_options({"DB_POOL_SIZE": 0, "DB_MAX_OVERFLOW": -1, "DB_POOL_RECYCLE": 1800})
    assert (options["pool_size"], options["max_overflow"]) == (4, 4)
    assert options["pool_recycle"] == 1800 and options["pool_pre_ping"] is False
    assert options["connect_args"]["keepalives"] == 1
    assert pool_options({"DB_POOL_SIZE": 20, "DB_MAX_OVERFLOW": 0})["pool_size"] == 20
    monkeypatch.delenv(WEB_THREADS_ENV)
    assert pool_options({})["pool_size"] == 5  # worker, scheduler, CLI


def test_gunicorn_tells_each_worker_its_threads(monkeypatch):
    import runpy
    from types import SimpleNamespace

    from workflow_app.extensions import WEB_THREADS_ENV

    monkeypatch.delenv(WEB_THREADS_ENV, raising=False)
    conf = runpy.run_path("gunicorn.conf.py")
    conf["post_fork"](None, SimpleNamespace(cfg=SimpleNamespace(threads=4)))
    import os

    assert os.environ[WEB_THREADS_ENV] == "4"
    monkeypatch.delenv(WEB_THREADS_ENV)


def test_the_app_engine_has_no_pre_ping(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("pool settings apply to PostgreSQL")
    assert db.engine.pool._pre_ping is False
    assert db.engine.pool._recycle == app.config["DB_POOL_RECYCLE"]


def test_a_connection_killed_while_idle_is_replaced_at_checkout(database_url):
    """A restarted database: pooled connections die while idle; the next checkout reconnects."""
    import sqlalchemy as sa

    from workflow_app.extensions import install_idle_ping, pool_options

    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    options = pool_options({"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0})
    engine = sa.create_engine(database_url, **options)
    install_idle_ping(engine, 0.05)
    killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            pid = conn.scalar(sa.text("SELECT pg_backend_pid()"))
        with killer.connect() as k:
            k.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        time.sleep(0.1)  # idle longer than the threshold: pinged at checkout, found dead, replaced
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT pg_backend_pid()")) != pid
    finally:
        engine.dispose()
        killer.dispose()
