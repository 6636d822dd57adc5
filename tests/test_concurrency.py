"""Two people acting on the same appraisal at once: exactly one wins, nothing half-written."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select, text

from tests import factories
from workflow_app.extensions import db
from workflow_app.models import Appraisal, OutboxMessage, TransitionLog
from workflow_app.services import appraisals, cycles
from workflow_app.services.access import Actor


def _prepare(app):
    """A committed org and cycle with the staff member's plan submitted."""
    org = factories.Org()
    cycle = factories.cycle(org.dinas)
    cycles.launch(cycle, factories.utcnow())
    db.session.commit()
    aid = db.session.scalar(
        select(Appraisal.id).where(Appraisal.cycle_id == cycle.id, Appraisal.employee_id == org.staff.id)
    )
    staff = Actor.from_user(org.u_staff)
    version = db.session.get(Appraisal, aid).version
    appraisals.update_plan(staff, aid, factories.plan_body(version))
    db.session.commit()
    appraisals.fire_event(staff, aid, "submit_plan", {"version": version + 1})
    db.session.commit()
    return org, aid, version + 2


def _counts(aid):
    db.session.expire_all()
    logs = db.session.scalar(
        select(func.count())
        .select_from(TransitionLog)
        .where(TransitionLog.entity_id == aid, TransitionLog.entity == "appraisal")
    )
    outbox = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == "appraisal.transitioned")
    )
    db.session.rollback()  # end the read transaction (on SQLite it holds the write lock)
    return logs, outbox


def test_concurrent_requests_exactly_one_wins(committing_app):
    org, aid, version = _prepare(committing_app)
    token = factories_token(committing_app, "kasi")
    before = _counts(aid)
    barrier = threading.Barrier(6)
    results = []

    def act(event, body):
        client = committing_app.test_client()
        barrier.wait()
        r = client.post(
            f"/api/v1/appraisals/{aid}/events/{event}",
            json={"version": version, **body},
            headers={"Authorization": f"Bearer {token}"},
        )
        results.append((event, r.status_code, r.get_json()))

    threads = [threading.Thread(target=act, args=("approve_plan", {})) for _ in range(3)] + [
        threading.Thread(target=act, args=("return_plan", {"comment": "Perbaiki target"})) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    winners = [r for r in results if r[1] == 200]
    losers = [r for r in results if r[1] != 200]
    assert len(results) == 6
    assert len(winners) == 1, results
    assert all(r[1] == 409 and r[2]["type"].endswith("/version-conflict") for r in losers), losers
    logs, outbox = _counts(aid)
    assert (logs, outbox) == (before[0] + 1, before[1] + 1)
    row = db.session.get(Appraisal, aid)
    assert row.version == version + 1
    assert row.state == {"approve_plan": "plan_approved", "return_plan": "plan_drafted"}[winners[0][0]]


def test_lock_makes_the_second_writer_wait_then_conflict(committing_app):
    """Deterministic interleaving at the service level: T1 holds the row, T2 waits, then loses.

    That T2 waited is observed, not assumed: it is still running while T1 holds the lock, and it
    finishes only after T1 commits. On PostgreSQL the server also shows T2's backend waiting on a
    lock held by T1's backend (pg_stat_activity, pg_blocking_pids). On SQLite T2 waits at
    BEGIN IMMEDIATE (busy_timeout) for T1's write lock; no catalogue shows that wait.
    """
    org, aid, version = _prepare(committing_app)
    assessor = Actor.from_user(org.u_kasi)
    db.session.remove()
    postgres = db.engine.dialect.name == "postgresql"
    second: dict = {}
    started = threading.Event()

    def second_writer():
        with committing_app.app_context():
            try:
                if postgres:
                    second["pid"] = db.session.scalar(text("SELECT pg_backend_pid()"))
                started.set()
                appraisals.fire_event(assessor, aid, "return_plan", {"version": version, "comment": "x"})
                db.session.commit()
                second["result"] = "won"
            except Exception as exc:  # noqa: BLE001 - the assertion inspects it
                second["result"] = getattr(exc, "slug", repr(exc))
            finally:
                second["finished"] = time.monotonic()
                started.set()
                db.session.remove()

    appraisals.fire_event(assessor, aid, "approve_plan", {"version": version})  # holds the lock
    first_pid = db.session.scalar(text("SELECT pg_backend_pid()")) if postgres else None
    t = threading.Thread(target=second_writer)
    t.start()
    assert started.wait(10)
    if postgres:
        blocked_by = _wait_until_blocked(second["pid"])
        assert blocked_by == [first_pid], blocked_by
    t.join(0.5)  # on SQLite: time for T2 to reach BEGIN IMMEDIATE and wait on the write lock
    assert t.is_alive() and "result" not in second, second  # T2 is waiting, not done
    committed = time.monotonic()
    db.session.commit()
    t.join(30)
    assert not t.is_alive()
    assert second["result"] == "version-conflict"
    assert second["finished"] > committed  # T2 went on only once T1 had committed
    assert db.session.get(Appraisal, aid).state == "plan_approved"


def _wait_until_blocked(pid: int, timeout: float = 10.0) -> list[int]:
    """The backends blocking ``pid``, once PostgreSQL shows it waiting on a lock (fails if it never does)."""
    deadline = time.monotonic() + timeout
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                text(
                    "SELECT wait_event_type, pg_blocking_pids(pid), query FROM pg_stat_activity WHERE pid = :pid"
                ),
                {"pid": pid},
            ).one_or_none()
            # The waiter holds the tuple lock of the appraisals row it wants (and waits for T1's xid).
            on_row = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE pid = :pid AND locktype = 'tuple'"
                    " AND relation = 'appraisals'::regclass"
                ),
                {"pid": pid},
            )
            conn.rollback()  # a fresh snapshot of pg_stat_activity on each poll
            if row is not None and row[0] == "Lock":
                assert row[2].startswith("SELECT appraisals.id"), row[2][:80]  # the locking SELECT
                assert on_row == 1
                return list(row[1])
            time.sleep(0.02)
    raise AssertionError(f"the second writer (pid {pid}) never waited on a lock")


def factories_token(app, username):
    client = app.test_client()
    r = client.post("/api/v1/auth/tokens", json={"username": username, "password": factories.PASSWORD})
    assert r.status_code == 201
    return r.get_json()["token"]
