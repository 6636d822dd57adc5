"""The monitoring counts (migration 0009) stay exact whatever changes the appraisals.

The triggers' deltas (``appraisal_counts``) must add up to a ``GROUP BY`` over the appraisals
after every path that writes them — launch's INSERT … SELECT, events over the API, bulk events,
cancel and reopen, raw updates of state, unit, due date and entry time, deletes — and the
summary and dashboard built from them and the clock (``appraisal_clock``) must equal a count
of the rows at any moment, before and after a compaction, also when the clock moves on.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select, update

from state_machines import APPRAISAL
from tests.test_api_misc import appraisal_of, launch
from tests.test_transition_matrix import put_in_state
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, AppraisalClock, AppraisalCount, Unit
from workflow_app.services import monitoring
from workflow_app.services.access import Actor


def hr_over(unit: Unit) -> Actor:
    return Actor(user_id=None, employee_id=None, username="t", hr_paths=(unit.path,), admin_paths=())


def counted() -> dict:
    """The triggers' deltas summed per key (the non-empty ones)."""
    C = AppraisalCount
    total = func.sum(C.n)
    rows = db.session.execute(
        select(C.cycle_id, C.unit_id, C.state, C.predikat, total)
        .group_by(C.cycle_id, C.unit_id, C.state, C.predikat)
        .having(total != 0)
    ).all()
    return {tuple(r[:4]): r[4] for r in rows}


def actual() -> dict:
    A = Appraisal
    rows = db.session.execute(
        select(A.cycle_id, A.unit_id, A.state, A.predikat, func.count()).group_by(
            A.cycle_id, A.unit_id, A.state, A.predikat
        )
    ).all()
    return {tuple(r[:4]): r[4] for r in rows}


def truth(now, unit_ids=None) -> dict:
    """The summary's figures counted from the appraisal rows themselves."""
    db.session.flush()
    open_states = set(APPRAISAL.open_states)
    out = {
        "total": 0,
        "open": 0,
        "overdue": 0,
        "by_state": {},
        "ageing": dict.fromkeys(("0-7", "8-14", "15-30", ">30"), 0),
    }
    per_unit: dict[int, list[int]] = {}
    for a in db.session.scalars(select(Appraisal)).all():
        if unit_ids is not None and a.unit_id not in unit_ids:
            continue
        out["total"] += 1
        out["by_state"][a.state] = out["by_state"].get(a.state, 0) + 1
        unit = per_unit.setdefault(a.unit_id, [0, 0])
        unit[0] += 1
        if a.state not in open_states:
            continue
        out["open"] += 1
        if a.due_at is not None and a.due_at < now:
            out["overdue"] += 1
            unit[1] += 1
        age = a.state_entered_at or now
        label = next((lb for d, lb in monitoring.AGEING_BUCKETS if age >= now - timedelta(days=d)), ">30")
        out["ageing"][label] += 1
    out["per_unit"] = per_unit
    return out


def seen(actor, now, monkeypatch) -> dict:
    monkeypatch.setattr(monitoring, "utcnow", lambda: now)
    s = monitoring.summary(actor, {})
    return {
        "total": s["total"],
        "open": s["open"],
        "overdue": s["overdue"],
        "by_state": {k: v for k, v in s["by_state"].items() if v},
        "ageing": s["ageing_days"],
        "per_unit": {u["unit_id"]: [sum(u["states"].values()), u["overdue"]] for u in s["by_unit"]},
    }


def check(org, now, monkeypatch) -> None:
    db.session.flush()
    assert counted() == actual()
    assert seen(hr_over(org.province), now, monkeypatch) == truth(now)


@pytest.fixture
def cycle(api, org):
    c = launch(api, org)
    launch(api, org, scope=org.other)
    return c


def test_launch_events_and_raw_updates_keep_the_counts_exact(api, org, cycle, monkeypatch):
    now = utcnow()
    check(org, now, monkeypatch)
    staff, peer, kabid = (appraisal_of(cycle, e) for e in (org.staff, org.peer, org.kabid))

    # the service's own path: the employee submits the plan over the API
    put_in_state(
        staff, "plan_drafted", due_at=now - timedelta(days=2), state_entered_at=now - timedelta(days=20)
    )
    db.session.commit()
    check(org, now, monkeypatch)
    r = api.fire(staff.id, "submit_plan", org.u_staff)
    assert r.status_code == 200, r.get_json()
    check(org, now, monkeypatch)

    # HR cancels, then the bulk endpoint cancels another; a raw predikat and unit change
    r = api.fire(peer.id, "cancel", org.u_hr, reason="Pindah instansi")
    assert r.status_code == 200, r.get_json()
    check(org, now, monkeypatch)
    put_in_state(
        kabid,
        "scored",
        predikat="baik",
        due_at=now + timedelta(days=1),
        state_entered_at=now - timedelta(days=40),
    )
    db.session.commit()
    check(org, now, monkeypatch)
    db.session.execute(update(Appraisal).where(Appraisal.id == kabid.id).values(unit_id=org.bidang.id))
    check(org, now, monkeypatch)
    r = api.post(
        "/api/v1/appraisals/bulk-events",
        org.u_hr,
        json={"event": "cancel", "ids": [appraisal_of(cycle, org.kasi).id], "reason": "Mutasi"},
    )
    assert r.status_code == 200 and r.get_json()["applied"] == 1, r.get_json()
    check(org, now, monkeypatch)

    # one statement over many rows, then deletes
    db.session.execute(update(Appraisal).values(due_at=now - timedelta(hours=1)))
    check(org, now, monkeypatch)
    db.session.execute(delete(Appraisal).where(Appraisal.id == staff.id))
    check(org, now, monkeypatch)


def test_compaction_folds_the_deltas_and_the_clock_moves_on(api, org, cycle, monkeypatch):
    now = utcnow()
    rows = [appraisal_of(cycle, e) for e in (org.staff, org.peer, org.kasi, org.kabid, org.kadis, org.hr_emp)]
    # deadlines and entry times spread around every boundary the next 40 days will cross
    for i, a in enumerate(rows):
        a.due_at = now + timedelta(days=3 * i - 4, hours=5)
        a.state_entered_at = now - timedelta(days=6 * i, hours=3)
    db.session.commit()
    deltas = db.session.scalar(select(func.count()).select_from(AppraisalCount))
    check(org, now, monkeypatch)

    result = monitoring.compact_counts(now, connection=db.session.connection())
    assert result["compacted"] == deltas
    assert db.session.scalar(select(func.count()).where(AppraisalCount.entered_at.is_not(None))) == 0
    assert db.session.scalar(select(func.max(AppraisalClock.mark))) == now
    assert counted() == actual()
    for days in (0, 1, 5, 8, 15, 31, 45):
        check(org, now + timedelta(days=days, minutes=7), monkeypatch)

    # changes after the compaction, a compaction later on, and a clock read before the mark
    put_in_state(
        rows[0], "final_review", due_at=now + timedelta(days=2), state_entered_at=now - timedelta(days=10)
    )
    db.session.commit()
    later = now + timedelta(days=9)
    monitoring.compact_counts(later, connection=db.session.connection())
    for moment in (now, now + timedelta(days=3), later, later + timedelta(days=20)):
        check(org, moment, monkeypatch)
    put_in_state(rows[1], "closed")
    db.session.commit()
    monitoring.compact_counts(now, connection=db.session.connection())  # the clock went back
    check(org, now, monkeypatch)
    check(org, later, monkeypatch)


def test_rebuild_counts_afresh(api, org, cycle, monkeypatch):
    now = utcnow()
    db.session.execute(AppraisalCount.__table__.insert(), [{"cycle_id": cycle.id, "unit_id": org.seksi.id,
                                                           "state": "closed", "predikat": None, "n": 5}])  # fmt: skip
    assert counted() != actual()
    monitoring.rebuild_counts(now, connection=db.session.connection())
    check(org, now, monkeypatch)
    check(org, now + timedelta(days=20), monkeypatch)


def test_dashboard_per_unit_matches_the_rows(api, org, cycle, monkeypatch):
    now = utcnow()
    staff, peer, kabid = (appraisal_of(cycle, e) for e in (org.staff, org.peer, org.kabid))
    put_in_state(
        staff,
        "scored",
        predikat="sangat_baik",
        due_at=now - timedelta(days=1),
        state_entered_at=now - timedelta(days=10),
    )
    put_in_state(peer, "cancelled", predikat="baik")
    put_in_state(
        kabid, "plan_submitted", due_at=now - timedelta(days=5), state_entered_at=now - timedelta(days=35)
    )
    db.session.commit()
    monkeypatch.setattr(monitoring, "utcnow", lambda: now)
    hr = hr_over(org.province)
    for filters in ({}, {"unit": org.dinas.id}, {"unit": org.bidang.id}, {"cycle": cycle.id}):
        dash = monitoring.dashboard(hr, filters)
        top = db.session.get(Unit, filters.get("unit", org.province.id)).path
        scope = {u.id for u in db.session.scalars(select(Unit)) if u.path.startswith(top)}
        if "cycle" in filters:
            n = db.session.scalar(select(func.count()).where(Appraisal.cycle_id == cycle.id))
            assert dash["total"] == n
            continue
        t = truth(now, scope if "unit" in filters else None)
        assert (dash["total"], dash["open"], dash["overdue"]) == (t["total"], t["open"], t["overdue"])
        assert dash["ageing"] == t["ageing"]
        assert sum(r["total"] for r in dash["by_unit"]) == t["total"]
        assert sum(r["overdue"] for r in dash["by_unit"]) == t["overdue"]
        assert sum(sum(r["ageing"].values()) for r in dash["by_unit"]) == t["open"]
    dash = monitoring.dashboard(hr, {})
    # predikat of the scored one counts, the cancelled one's does not
    assert dash["predikat"]["sangat_baik"] == 1 and dash["predikat"]["baik"] == 0


def test_the_counts_are_emptied_after_the_appraisals():
    """Tests and the demo's wipe delete tables child-first: the appraisals' deletion writes
    negative deltas, so the counts must come after them."""
    order = [t.name for t in reversed(db.metadata.sorted_tables)]
    assert order.index("appraisals") < order.index("appraisal_counts")


def test_stuck_total_is_capped(api, org, cycle, monkeypatch):
    now = utcnow()
    db.session.execute(update(Appraisal).values(due_at=now - timedelta(days=1)))
    db.session.commit()
    hr = hr_over(org.province)
    rows, total, _idle, more = monitoring.stuck_counted(hr, {}, 1, 50)
    assert total == len(rows) == 7 and not more
    monkeypatch.setattr(monitoring, "STUCK_COUNT_LIMIT", 3)
    rows, total, _idle, more = monitoring.stuck_counted(hr, {}, 1, 50)
    assert (total, more, len(rows)) == (3, True, 7)
    body = api.get("/api/v1/monitoring/stuck", org.u_admin).get_json()
    assert body["total"] == 3 and body["total_capped"] is True and len(body["items"]) == 7


def test_compaction_stays_exact_beside_concurrent_writers(committing_app, monkeypatch):
    """Writers change states, deadlines and entry times in their own transactions while
    compactions run in theirs: nothing is folded twice or lost."""
    import threading

    from tests import factories
    from workflow_app.jobs import sweeps
    from workflow_app.services import cycles

    org = factories.Org()
    for i in range(6):
        factories.employee(f"Staf {i}", org.seksi, org.kasi)
    cycle = factories.cycle(org.dinas)
    cycles.launch(cycle, utcnow())
    db.session.commit()
    ids = db.session.scalars(select(Appraisal.id).where(Appraisal.cycle_id == cycle.id)).all()
    top = SimpleNamespace(province=SimpleNamespace(path=org.province.path))
    db.session.remove()
    now = utcnow()
    states = list(APPRAISAL.states)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(k: int) -> None:
        with committing_app.app_context():
            try:
                for i in range(25):
                    db.session.execute(
                        update(Appraisal)
                        .where(Appraisal.id == ids[(3 * k + i) % len(ids)])
                        .values(
                            state=states[(k + i) % len(states)],
                            due_at=now + timedelta(days=i % 7 - 3, hours=k),
                            state_entered_at=now - timedelta(days=(i * 3) % 40, hours=k),
                        )
                    )
                    db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    def compactor() -> None:
        with committing_app.app_context():
            try:
                while not done.is_set():
                    sweeps.count_sweep()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    folding = threading.Thread(target=compactor)
    folding.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    folding.join()
    assert not errors, errors
    check(top, now, monkeypatch)
    sweeps.count_sweep(now + timedelta(days=2))
    for moment in (now, now + timedelta(days=4)):
        check(top, moment, monkeypatch)
    db.session.rollback()


def test_operators_compact_and_rebuild_from_the_command_line(committing_app):
    """`flask counts compact` and `flask counts rebuild` run on committed data and say what they did."""
    import json as _json

    from tests import factories
    from workflow_app.services import cycles

    org = factories.Org()
    cycle = factories.cycle(org.dinas)
    cycles.launch(cycle, utcnow())
    db.session.commit()
    db.session.execute(AppraisalCount.__table__.insert(), [{"cycle_id": cycle.id, "unit_id": org.seksi.id,
                                                           "state": "closed", "predikat": None, "n": 5}])  # fmt: skip
    db.session.commit()
    assert counted() != actual()
    db.session.remove()  # the command runs beside this session, as from a shell
    runner = committing_app.test_cli_runner()
    rebuilt = runner.invoke(args=["counts", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _json.loads(rebuilt.output)["keys"] >= 1
    db.session.remove()
    assert counted() == actual()
    db.session.remove()
    compacted = runner.invoke(args=["counts", "compact"])
    assert compacted.exit_code == 0, compacted.output
    assert "compacted" in _json.loads(compacted.output)
    assert counted() == actual()
