"""HR's interventions through both doors' use cases: nudge the holder, extend the deadline.

The API (``POST /api/v1/appraisals/{id}/nudge`` and ``/extend``) is tested here; the web forms
on the monitoring pages call the same use cases (tests/web/test_monitoring.py).
"""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from tests import factories
from tests.conftest import drain
from tests.test_lifecycle import launch, staff_appraisal
from workflow_app.clock import end_of_local_day, utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Notification, OutboxMessage, TransitionLog
from workflow_app.services import appraisals, cycles, deadlines, guards, interventions
from workflow_app.services.access import Actor

PROBLEM = "application/problem+json"


@pytest.fixture
def aid(api, org):
    cycle, _ = launch(api, org)
    return staff_appraisal(org, cycle)


def log_events(appraisal_id: int) -> list[TransitionLog]:
    return list(
        db.session.scalars(
            select(TransitionLog)
            .where(TransitionLog.entity == "appraisal", TransitionLog.entity_id == appraisal_id)
            .order_by(TransitionLog.seq)
        )
    )


def local_today(zone: str = "WITA") -> date:
    from workflow_app.clock import local_today as today

    return today(zone)


# --- nudge ---------------------------------------------------------------------------------------


def test_hr_in_scope_nudges_the_holder_who_gets_a_reminder(api, org, aid):
    r = api.post(f"/api/v1/appraisals/{aid}/nudge", org.u_hr)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["holder"] == {"role": "employee", "employee_id": org.staff.id, "name": org.staff.name}
    assert body["state"] == "plan_drafted"
    nudged = datetime.fromisoformat(body["nudged_at"].rstrip("Z"))
    assert datetime.fromisoformat(body["next_nudge_at"].rstrip("Z")) - nudged == timedelta(hours=1)
    # audited in the appraisal's chain, with who held it; the appraisal itself is unchanged
    log = log_events(aid)[-1]
    assert (log.event, log.actor_user_id, log.actor_role) == ("nudge", org.u_hr.id, "hr")
    assert log.payload["holder_employee_id"] == org.staff.id
    assert api.appraisal(aid, org.u_hr)["version"] == 1
    out = db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"nudge:{aid}:{log.seq}"))
    assert out.topic == "appraisal.reminder"
    drain(emails=False)
    kinds = db.session.execute(
        select(Notification.user_id, Notification.kind).where(Notification.appraisal_id == aid)
    ).all()
    assert (org.u_staff.id, "reminder") in kinds
    assert all(uid == org.u_staff.id for uid, kind in kinds if kind == "reminder")


def test_a_second_nudge_within_the_hour_is_refused_then_allowed(api, org, aid):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        assert api.post(f"/api/v1/appraisals/{aid}/nudge", org.u_hr).status_code == 200
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        r = api.post(f"/api/v1/appraisals/{aid}/nudge", org.u_hr)
        assert r.status_code == 409 and r.mimetype == PROBLEM
        body = r.get_json()
        assert body["type"].endswith("/nudged-recently")
        assert "40 minutes" in body["detail"] and body["retry_after"] == 40 * 60
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert api.post(f"/api/v1/appraisals/{aid}/nudge", org.u_hr).status_code == 200
    assert [e.event for e in log_events(aid)].count("nudge") == 2


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("u_hr_other", 404),
        ("u_outsider", 404),
        ("u_peer", 404),
        ("u_staff", 403),
        ("u_kasi", 403),
        ("u_admin", 403),
    ],
)
def test_only_hr_in_scope_nudges(api, org, aid, who, status):
    r = api.post(f"/api/v1/appraisals/{aid}/nudge", getattr(org, who))
    assert r.status_code == status and r.mimetype == PROBLEM, r.get_json()
    assert "nudge" not in [e.event for e in log_events(aid)]


def test_nudge_unknown_appraisal_and_no_token(api, org):
    assert api.post("/api/v1/appraisals/999999/nudge", org.u_hr).status_code == 404
    assert api.post("/api/v1/appraisals/1/nudge").status_code == 401


def test_nudge_refuses_a_terminal_appraisal(api, org, aid):
    assert api.fire(aid, "cancel", org.u_hr, reason="Pegawai pensiun").status_code == 200
    r = api.post(f"/api/v1/appraisals/{aid}/nudge", org.u_hr)
    assert r.status_code == 409 and r.get_json()["type"].endswith("/appraisal-closed")
    assert r.get_json()["state"] == "cancelled"


def test_nudge_refuses_when_hr_holds_it(api, org, aid):
    v = api.appraisal(aid, org.u_staff)["version"]
    assert (
        api.put(f"/api/v1/appraisals/{aid}/plan", org.u_staff, json=factories.plan_body(v)).status_code == 200
    )
    assert api.fire(aid, "submit_plan", org.u_staff).status_code == 200
    assert api.fire(aid, "approve_plan", org.u_kasi).status_code == 200  # plan_approved: HR holds it
    r = api.post(f"/api/v1/appraisals/{aid}/nudge", org.u_hr)
    assert r.status_code == 409 and r.get_json()["type"].endswith("/nobody-to-nudge")


# --- extend ------------------------------------------------------------------------------------


def extend(api, user, aid, **body):
    return api.post(f"/api/v1/appraisals/{aid}/extend", user, json=body)


def test_hr_extends_the_deadline_to_the_end_of_that_local_day_and_escalation_restarts(api, org, aid):
    a = db.session.get(Appraisal, aid)
    a.escalation_level, a.reminder_sent_at = 2, utcnow()
    db.session.commit()
    before_due = a.due_at
    version = api.appraisal(aid, org.u_hr)["version"]
    new_day = local_today() + timedelta(days=10)
    r = extend(api, org.u_hr, aid, version=version, due_date=new_day.isoformat(), reason="Pegawai sakit")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    # the staff member's seksi keeps Makassar time (WITA)
    assert body["due_at"] == end_of_local_day(new_day, "WITA").isoformat() + "Z"
    assert body["escalation_level"] == 0 and body["version"] == version + 1
    assert body["state"] == "plan_drafted" and not body["overdue"]
    a = db.session.get(Appraisal, aid)
    assert a.reminder_sent_at is None and a.sla_until == new_day and a.sla_working_days is None
    log = log_events(aid)[-1]
    assert (log.event, log.actor_role, log.comment) == ("deadline_extended", "hr", "Pegawai sakit")
    assert log.payload["before"]["escalation_level"] == 2
    assert log.payload["before"]["due_at"] == before_due.isoformat() + "Z"
    assert log.payload["after"] == {
        "due_at": end_of_local_day(new_day, "WITA").isoformat() + "Z",
        "escalation_level": 0,
        "reminder_sent_at": None,
        "sla_working_days": None,
        "sla_until": new_day.isoformat(),
    }
    # the deadline is kept as a fixed date: recomputing for the holder's leave leaves it alone
    deadlines.recompute_due_for_holder(org.staff.id)
    assert db.session.get(Appraisal, aid).due_at == end_of_local_day(new_day, "WITA")


def test_extend_to_today_is_allowed(api, org, aid):
    r = extend(api, org.u_hr, aid, version=1, due_date=local_today().isoformat(), reason="Hari ini")
    assert r.status_code == 200, r.get_json()


def test_extend_refuses_a_stale_version(api, org, aid):
    r = extend(api, org.u_hr, aid, version=7, due_date=local_today().isoformat(), reason="x")
    assert r.status_code == 409 and r.get_json()["type"].endswith("/version-conflict")
    assert r.get_json()["current_version"] == 1


@pytest.mark.parametrize(
    ("offset", "message"),
    [(-1, "today"), (None, "cycle's end")],
)
def test_extend_refuses_a_past_date_or_one_beyond_the_cycle(api, org, aid, offset, message):
    a = db.session.get(Appraisal, aid)
    end = guards.cycle_end(a.cycle)
    day = local_today() + timedelta(days=offset) if offset is not None else end + timedelta(days=1)
    r = extend(api, org.u_hr, aid, version=1, due_date=day.isoformat(), reason="x")
    assert r.status_code == 422 and r.mimetype == PROBLEM
    assert message in r.get_json()["errors"]["due_date"][0]
    assert db.session.get(Appraisal, aid).version == 1
    # the cycle's last day itself is fine
    r = extend(api, org.u_hr, aid, version=1, due_date=end.isoformat(), reason="x")
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize(
    "body",
    [
        {"due_date": "2030-01-01", "reason": "x"},
        {"version": 1, "reason": "x"},
        {"version": 1, "due_date": "2030-01-01"},
        {"version": 1, "due_date": "2030-01-01", "reason": ""},
        {"version": "1", "due_date": "2030-01-01", "reason": "x"},
        {"version": 1, "due_date": "31-12-2030", "reason": "x"},
        {"version": 1, "due_date": "2030-01-01", "reason": "x", "extra": 1},
    ],
)
def test_extend_refuses_bad_bodies(api, org, aid, body):
    r = extend(api, org.u_hr, aid, **body)
    assert r.status_code == 422 and r.mimetype == PROBLEM, r.get_json()


def test_extend_refuses_a_terminal_appraisal(api, org, aid):
    assert api.fire(aid, "cancel", org.u_hr, reason="Mutasi keluar").status_code == 200
    version = api.appraisal(aid, org.u_hr)["version"]
    r = extend(api, org.u_hr, aid, version=version, due_date=local_today().isoformat(), reason="x")
    assert r.status_code == 409 and r.get_json()["type"].endswith("/appraisal-closed")


@pytest.mark.parametrize(
    ("who", "status"),
    [("u_hr_other", 404), ("u_peer", 404), ("u_staff", 403), ("u_kasi", 403), ("u_admin", 403)],
)
def test_only_hr_in_scope_extends(api, org, aid, who, status):
    r = extend(api, getattr(org, who), aid, version=1, due_date=local_today().isoformat(), reason="x")
    assert r.status_code == status and r.mimetype == PROBLEM, r.get_json()
    assert db.session.get(Appraisal, aid).version == 1


def test_interventions_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    nudge = spec["paths"]["/api/v1/appraisals/{appraisal_id}/nudge"]["post"]
    ext = spec["paths"]["/api/v1/appraisals/{appraisal_id}/extend"]["post"]
    assert {"401", "403", "404", "409"} <= set(nudge["responses"])
    assert {"401", "403", "404", "409", "422"} <= set(ext["responses"])
    assert "ExtendIn" in spec["components"]["schemas"]


# --- the escalation ladder after an extension ------------------------------------------------------


def test_the_ladder_climbs_again_after_an_extension(app, org):
    from workflow_app.jobs.sweeps import escalation_sweep

    start = datetime(2026, 12, 22, 2)
    with time_machine.travel(start, tick=False):
        cycle = factories.cycle(org.dinas, today=date(2026, 12, 22), plan_due=date(2027, 3, 31))
        cycles.launch(cycle, start)
        aid = db.session.scalar(select(Appraisal.id).where(Appraisal.employee_id == org.staff.id))
        staff = Actor.from_user(org.u_staff)
        appraisals.update_plan(staff, aid, factories.plan_body(1))
        appraisals.fire_event(staff, aid, "submit_plan", {"version": 2})
        db.session.commit()
    late = datetime(2027, 1, 2, 2)  # after the assessor's due date (31 Dec, WITA)
    with time_machine.travel(late, tick=False):
        assert escalation_sweep(late)["escalation_1"] >= 1
        db.session.commit()
        a = db.session.get(Appraisal, aid)
        assert a.escalation_level == 1
        interventions.extend_deadline(
            Actor.from_user(org.u_hr), aid, a.version, date(2027, 1, 8), "Cuti sakit"
        )
        db.session.commit()
    later = datetime(2027, 1, 9, 2)
    with time_machine.travel(later, tick=False):
        assert escalation_sweep(later)["escalation_1"] >= 1  # the new deadline passed: level 1 again
        db.session.commit()
    assert db.session.get(Appraisal, aid).escalation_level == 1
