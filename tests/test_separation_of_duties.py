"""Issue 6: nobody judges their own appraisal; scope is a ceiling; the right to object is kept.

One regression test per row of the issue's table (rows 1-7 and 11-13; rows 8-10, 14 and 15 are
in test_first_start_and_input.py, row 7 in test_audit_tamper.py), through the HTTP API. They run
on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import drain
from tests.test_lifecycle import drive_to_final_review, launch, staff_appraisal
from tests.test_transition_matrix import put_in_state
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import (
    Appraisal,
    Cycle,
    Delegation,
    Employee,
    Notification,
    TransitionLog,
    User,
)
from workflow_app.notifications.render import format_date
from workflow_app.services.access import Actor, appraisal_relations
from workflow_app.services.guards import objection_deadline

JUDGING = {"assessor", "superior", "hr"}


def appraisal_of(cycle, employee) -> Appraisal:
    db.session.expire_all()
    return db.session.scalar(
        select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.employee_id == employee.id)
    )


def log_count(entity: str | None = None) -> int:
    query = select(func.count()).select_from(TransitionLog)
    if entity:
        query = query.where(TransitionLog.entity == entity)
    return db.session.scalar(query)


def delegation_body(delegator, delegate, days: int = 10, start: date | None = None) -> dict:
    start = start or utcnow().date()
    return {
        "delegator_id": delegator.id,
        "delegate_id": delegate.id,
        "kind": "plh",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=days)).isoformat(),
        "reason": "Dinas luar",
    }


def submit_plan(api, org, aid, user):
    version = api.appraisal(aid, user)["version"]
    r = api.put(f"/api/v1/appraisals/{aid}/plan", user, json=factories.plan_body(version))
    assert r.status_code == 200, r.get_json()
    r = api.fire(aid, "submit_plan", user)
    assert r.status_code == 200, r.get_json()


def province_hr_employee(org, username: str = "hr_prov") -> tuple[Employee, User]:
    """Someone of the dinas who is also HR for the whole province (a common BKD arrangement)."""
    person = factories.employee("Analis SDM", org.seksi, org.kasi)
    user = factories.user(username, person, roles=[("hr", org.province)])
    db.session.commit()
    return person, user


# --- row 1: delegating an assessor's work to one of their own appraisees ------------------------


def test_row1_delegate_appraised_by_the_delegator_never_approves_their_own_plan(api, org):
    cycle, _ = launch(api, org)
    staff_aid = staff_appraisal(org, cycle)
    peer_aid = appraisal_of(cycle, org.peer).id
    submit_plan(api, org, staff_aid, org.u_staff)
    submit_plan(api, org, peer_aid, org.u_peer)

    # HR makes the staff member Plh for their own assessor: accepted, with the exception listed.
    r = api.post("/api/v1/delegations", org.u_hr, json=delegation_body(org.kasi, org.staff))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["exceptions"] == [
        {
            "appraisal_id": staff_aid,
            "employee_id": org.staff.id,
            "reason": "own_appraisal",
            "assessor_id": org.kabid.id,
            "superior_id": org.kadis.id,
        }
    ]
    # The staff member's own appraisal is held by the delegator's superior, one level up.
    own = appraisal_of(cycle, org.staff)
    assert (own.assessor_id, own.superior_id, own.delegation_id) == (org.kabid.id, org.kadis.id, body["id"])
    assert api.appraisal(staff_aid, org.u_staff)["relations"] == ["employee"]
    r = api.fire(staff_aid, "approve_plan", org.u_staff)
    assert r.status_code == 403, r.get_json()
    assert appraisal_of(cycle, org.staff).state == "plan_submitted"
    # …while the Plh does approve a colleague's plan, on behalf of the assessor.
    r = api.fire(peer_aid, "approve_plan", org.u_staff)
    assert r.status_code == 200, r.get_json()
    history = api.get(f"/api/v1/appraisals/{peer_aid}/history", org.u_peer).get_json()
    assert (history[-1]["actor"], history[-1]["on_behalf_of"]) == ("staf", "kasi")
    # The delegator's superior decides the exception, in their own right.
    r = api.fire(staff_aid, "approve_plan", org.u_kabid)
    assert r.status_code == 200, r.get_json()
    history = api.get(f"/api/v1/appraisals/{staff_aid}/history", org.u_staff).get_json()
    assert (history[-1]["actor"], history[-1]["on_behalf_of"]) == ("kabid", None)

    # Ending the delegation puts assessor and superior back where they were.
    r = api.post(f"/api/v1/delegations/{body['id']}/end", org.u_hr)
    assert r.status_code == 200, r.get_json()
    own = appraisal_of(cycle, org.staff)
    assert (own.assessor_id, own.superior_id, own.delegation_id) == (org.kasi.id, org.kabid.id, None)
    assert own.pre_delegation_superior_id is None


def test_delegating_to_the_delegators_superior_moves_the_superior_up(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    r = api.post("/api/v1/delegations", org.u_hr, json=delegation_body(org.kasi, org.kabid))
    assert r.status_code == 201, r.get_json()
    reasons = {e["appraisal_id"]: e["reason"] for e in r.get_json()["exceptions"]}
    assert reasons[aid] == "superior_moved_up"
    a = appraisal_of(cycle, org.staff)
    assert (a.assessor_id, a.superior_id) == (org.kabid.id, org.kadis.id)
    assert appraisal_relations(Actor.from_user(org.u_kabid), a) == {"assessor"}


def test_a_future_delegation_lists_the_exceptions_it_will_make(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    start = utcnow().date() + timedelta(days=5)
    r = api.post("/api/v1/delegations", org.u_hr, json=delegation_body(org.kasi, org.staff, start=start))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["activated_at"] is None
    assert [(e["appraisal_id"], e["assessor_id"]) for e in r.get_json()["exceptions"]] == [
        (aid, org.kabid.id)
    ]
    assert appraisal_of(cycle, org.staff).assessor_id == org.kasi.id  # nothing moved yet


# --- row 2: an employee who is also HR appoints themself -----------------------------------------


def test_row2_hr_who_is_also_an_employee_cannot_make_themself_their_assessors_delegate(api, org):
    person, hr_user = province_hr_employee(org)
    cycle, _ = launch(api, org)
    aid = appraisal_of(cycle, person).id
    put_in_state(db.session.get(Appraisal, aid), "final_review")
    before = log_count()

    r = api.post("/api/v1/delegations", hr_user, json=delegation_body(org.kasi, person))
    assert r.status_code == 422, r.get_json()
    assert "delegate_id" in r.get_json()["errors"]
    assert log_count() == before
    assert db.session.scalar(select(func.count()).select_from(Delegation)) == 0

    # Another HR officer may record it; the appointee's own appraisal still goes up a level.
    r = api.post("/api/v1/delegations", org.u_hr, json=delegation_body(org.kasi, person))
    assert r.status_code == 201, r.get_json()
    assert api.appraisal(aid, hr_user)["relations"] == ["employee"]
    r = api.fire(
        aid, "score", hr_user, rating_hasil_kerja="di_atas", rating_perilaku="di_atas", justification="x"
    )
    assert r.status_code == 403, r.get_json()
    assert appraisal_of(cycle, person).predikat is None


# --- row 3: reassigning the employee (or the assessor) as superior ----------------------------------


@pytest.mark.parametrize("superior", ["staff", "kabid"])
def test_row3_reassign_refuses_the_employee_or_the_assessor_as_superior(api, org, superior):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    version = api.appraisal(aid, org.u_hr)["version"]
    before = log_count()
    r = api.post(
        f"/api/v1/appraisals/{aid}/reassign",
        org.u_hr,
        json={
            "version": version,
            "assessor_id": org.kabid.id,
            "superior_id": getattr(org, superior).id,
            "reason": "Mutasi",
        },
    )
    assert r.status_code == 422, r.get_json()
    assert "superior_id" in r.get_json()["errors"]
    a = appraisal_of(cycle, org.staff)
    assert (a.assessor_id, a.superior_id, a.version) == (org.kasi.id, org.kabid.id, version)
    assert log_count() == before


def test_row3_bulk_reassign_refuses_each_item_that_would_make_a_self_judge(api, org):
    cycle, _ = launch(api, org)
    staff_aid, peer_aid = staff_appraisal(org, cycle), appraisal_of(cycle, org.peer).id
    r = api.post(
        "/api/v1/appraisals/bulk-reassign",
        org.u_hr,
        json={
            "ids": [staff_aid, peer_aid],
            "assessor_id": org.kabid.id,
            "superior_id": org.staff.id,
            "reason": "x",
        },
    )
    assert r.status_code == 200, r.get_json()
    results = {i["id"]: i for i in r.get_json()["results"]}
    assert not results[staff_aid]["ok"] and "superior_id" in results[staff_aid]["problem"]["errors"]
    assert results[peer_aid]["ok"]  # for the peer, staff is just another superior
    assert appraisal_of(cycle, org.staff).superior_id == org.kabid.id


def test_row3_an_arrangement_that_slipped_in_through_data_grants_nothing(api, org):
    """The employee as their own superior (an import, a direct edit): they still cannot decide."""
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    a = put_in_state(db.session.get(Appraisal, aid), "objection_filed")
    a.superior_id = org.staff.id
    db.session.commit()
    assert appraisal_relations(Actor.from_user(org.u_staff), a) == {"employee"}
    r = api.fire(
        aid,
        "resolve_objection",
        org.u_staff,
        decision="amended",
        reasoning="Saya setuju dengan diri sendiri",
        rating_hasil_kerja="di_atas",
        rating_perilaku="di_atas",
    )
    assert r.status_code == 403, r.get_json()
    # HR in scope stands in for the vacant superior.
    assert "superior" in api.appraisal(aid, org.u_hr)["relations"]

    # The employee as their own assessor: HR stands in for the assessor, the employee stays one.
    a = put_in_state(db.session.get(Appraisal, aid), "final_review")
    a.assessor_id = org.staff.id
    db.session.commit()
    assert api.appraisal(aid, org.u_staff)["allowed_events"] == []
    assert (
        api.fire(aid, "score", org.u_staff, rating_hasil_kerja="sesuai", rating_perilaku="sesuai").status_code
        == 403
    )
    assert {"assessor", "hr"} <= set(api.appraisal(aid, org.u_hr)["relations"])


def test_assessor_who_is_also_the_superior_is_only_the_assessor(org):
    cycle = factories.cycle(org.dinas)
    a = Appraisal(
        cycle_id=cycle.id,
        employee_id=org.staff.id,
        unit_id=org.seksi.id,
        assessor_id=org.kasi.id,
        superior_id=org.kasi.id,
        machine_version="2026.1",
        scoring_scheme="permenpanrb_6_2022",
        scoring_version="2022.1",
    )
    db.session.add(a)
    db.session.flush()
    assert appraisal_relations(Actor.from_user(org.u_kasi), a) == {"assessor"}
    assert "superior" in appraisal_relations(Actor.from_user(org.u_hr), a)
    assert "assessor" not in appraisal_relations(Actor.from_user(org.u_hr), a)


def test_a_launch_refuses_an_org_chart_that_makes_someone_judge_themself(api, org):
    # A loop slipped in past the API's check: kasi reports to the staff member who reports to kasi.
    org.kasi.superior_id = org.staff.id
    db.session.commit()
    cycle = factories.cycle(org.dinas)
    db.session.commit()
    r = api.post(f"/api/v1/cycles/{cycle.id}/events/launch", org.u_hr, json={"version": cycle.version})
    assert r.status_code == 422, r.get_json()
    message = r.get_json()["errors"]["org_chart"]
    assert "Staf Pelaksana" in message and "Kepala Seksi" in message
    assert db.session.scalar(select(func.count()).select_from(Appraisal)) == 0
    assert db.session.get(Cycle, cycle.id).state == "draft"


# --- row 4: an OPD admin and a province-wide HR user ----------------------------------------------


def test_row4_admin_cannot_change_a_user_with_a_wider_role(api, org, client):
    person, wide = province_hr_employee(org)
    opd_admin = factories.user("admin_dinkes", None, roles=[("admin", org.dinas)])
    db.session.commit()
    before = log_count("user")
    r = api.patch(f"/api/v1/users/{wide.id}", opd_admin, json={"password": "dibajak-sekarang-123"})
    assert r.status_code == 403, r.get_json()
    r = api.patch(
        f"/api/v1/users/{wide.id}", opd_admin, json={"roles": [{"role": "hr", "unit_id": org.dinas.id}]}
    )
    assert r.status_code == 403, r.get_json()
    r = api.patch(f"/api/v1/users/{wide.id}", opd_admin, json={"active": False})
    assert r.status_code == 403, r.get_json()
    # Nothing changed: the old password still works and the role is still province-wide.
    r = client.post("/api/v1/auth/tokens", json={"username": "hr_prov", "password": factories.PASSWORD})
    assert r.status_code == 201
    db.session.expire_all()
    assert [(ra.role, ra.unit_id) for ra in db.session.get(User, wide.id).roles] == [("hr", org.province.id)]
    assert log_count("user") == before
    # The province admin may, and it is logged with actor and time.
    r = api.patch(f"/api/v1/users/{wide.id}", org.u_admin, json={"password": "baru-dan-rahasia-456"})
    assert r.status_code == 200, r.get_json()
    row = db.session.scalars(select(TransitionLog).where(TransitionLog.entity == "user")).all()[-1]
    assert (row.event, row.actor_user_id, row.entity_id) == ("password_reset", org.u_admin.id, wide.id)


def test_admin_cannot_grant_a_role_beyond_their_scope(api, org):
    opd_admin = factories.user("admin_dinkes", None, roles=[("admin", org.dinas)])
    db.session.commit()
    r = api.patch(
        f"/api/v1/users/{org.u_staff.id}",
        opd_admin,
        json={"roles": [{"role": "hr", "unit_id": org.province.id}]},
    )
    assert r.status_code in (403, 422), r.get_json()
    assert db.session.get(User, org.u_staff.id).roles == []
    r = api.patch(
        f"/api/v1/users/{org.u_staff.id}",
        opd_admin,
        json={"roles": [{"role": "hr", "unit_id": org.seksi.id}]},
    )
    assert r.status_code == 200, r.get_json()
    row = db.session.scalars(select(TransitionLog).where(TransitionLog.entity == "user")).all()[-1]
    assert row.event == "roles_changed"
    assert row.payload["after"] == [{"role": "hr", "unit_id": org.seksi.id}]


# --- row 5: HR of one OPD names someone of another -----------------------------------------------


def test_row5_hr_cannot_name_an_outsider_as_assessor_delegate_or_superior(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    version = api.appraisal(aid, org.u_hr)["version"]
    before = log_count()
    r = api.post(
        f"/api/v1/appraisals/{aid}/reassign",
        org.u_hr,
        json={"version": version, "assessor_id": org.outsider.id, "reason": "Mutasi"},
    )
    assert r.status_code == 403, r.get_json()
    r = api.post(
        f"/api/v1/appraisals/{aid}/reassign",
        org.u_hr,
        json={"version": version, "assessor_id": org.kabid.id, "superior_id": org.outsider.id, "reason": "x"},
    )
    assert r.status_code == 403, r.get_json()
    r = api.post("/api/v1/delegations", org.u_hr, json=delegation_body(org.kasi, org.outsider))
    assert r.status_code == 403, r.get_json()
    r = api.patch(f"/api/v1/employees/{org.staff.id}", org.u_hr, json={"superior_id": org.outsider.id})
    assert r.status_code == 403, r.get_json()
    r = api.post(
        "/api/v1/employees",
        org.u_hr,
        json={
            "nip": factories.make_nip(date(1990, 5, 5), 2015, 3, 1, 7),
            "name": "Pegawai Baru",
            "unit_id": org.seksi.id,
            "position": "Analis",
            "superior_id": org.outsider.id,
        },
    )
    assert r.status_code == 403, r.get_json()
    # Nothing written; the outsider still cannot see the appraisal.
    assert log_count() == before
    assert db.session.get(Employee, org.staff.id).superior_id == org.kasi.id
    assert api.get(f"/api/v1/appraisals/{aid}", org.u_outsider).status_code == 404


# --- row 6: the 14-day right to object survives training -----------------------------------------


def test_row6_training_does_not_take_the_right_to_object_away(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    drive_to_final_review(api, org, aid)
    r = api.fire(
        aid, "score", org.u_kasi, rating_hasil_kerja="di_bawah", rating_perilaku="sesuai", justification="x"
    )
    assert r.status_code == 200 and r.get_json()["predikat"] == "butuh_perbaikan"
    assert api.fire(aid, "give_feedback", org.u_kasi, feedback="Perlu pendampingan").status_code == 200
    due = (utcnow() + timedelta(days=20)).date().isoformat()
    training = [{"competency": "Analisis Data", "hours_jp": 20, "due_date": due}]
    r = api.fire(aid, "assign_training", org.u_kasi, trainings=training)
    assert r.status_code == 200, r.get_json()
    detail = api.appraisal(aid, org.u_staff)  # an event answers with the row; trainings are in the detail
    r = api.patch(
        f"/api/v1/appraisals/{aid}/trainings/{detail['trainings'][0]['id']}",
        org.u_staff,
        json={"version": detail["version"], "status": "completed", "evidence": "Sertifikat"},
    )
    assert r.status_code == 200, r.get_json()

    r = api.fire(aid, "close", org.u_hr)
    assert r.status_code == 422, r.get_json()
    assert "objection" in r.get_json()["errors"]
    assert "file_objection" in api.appraisal(aid, org.u_staff)["allowed_events"]
    r = api.fire(aid, "file_objection", org.u_staff, reason="Bukti penugasan tambahan belum dihitung")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "objection_filed"


def test_accepting_the_result_waives_the_objection_and_lets_it_close(api, org):
    a = put_in_state(staff_appraisal_row(api, org), "feedback_given")
    assert api.fire(a.id, "close", org.u_hr).status_code == 422
    assert api.fire(a.id, "accept_result", org.u_kasi).status_code == 403  # the employee's decision
    r = api.fire(a.id, "accept_result", org.u_staff)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "feedback_given"  # reflexive: the state and its deadline stay
    assert db.session.get(Appraisal, a.id).result_accepted_at is not None
    r = api.fire(a.id, "file_objection", org.u_staff, reason="Berubah pikiran")
    assert r.status_code == 422 and "waived" in r.get_json()["errors"]["objection"]
    assert api.fire(a.id, "accept_result", org.u_staff).status_code == 422  # once
    assert api.fire(a.id, "close", org.u_hr).status_code == 200


def test_accept_result_keeps_the_deadline_and_escalation(api, org):
    a = put_in_state(staff_appraisal_row(api, org), "feedback_given")
    due = utcnow() + timedelta(days=3)
    a.due_at, a.escalation_level = due, 1
    entered = a.state_entered_at
    db.session.commit()
    assert api.fire(a.id, "accept_result", org.u_staff).status_code == 200
    db.session.expire_all()
    a = db.session.get(Appraisal, a.id)
    assert (a.due_at, a.escalation_level, a.state_entered_at) == (due, 1, entered)


def test_the_sweep_closes_accepted_results_early_and_others_after_the_window(api, org):
    from workflow_app.jobs.sweeps import phase_sweep

    cycle, _ = launch(api, org)
    staff = put_in_state(db.session.get(Appraisal, staff_appraisal(org, cycle)), "feedback_given")
    put_in_state(appraisal_of(cycle, org.peer), "feedback_given")
    assert api.fire(staff.id, "accept_result", org.u_staff).status_code == 200
    phase_sweep(utcnow())
    assert (appraisal_of(cycle, org.staff).state, appraisal_of(cycle, org.peer).state) == (
        "closed",
        "feedback_given",
    )
    phase_sweep(utcnow() + timedelta(days=16))
    assert appraisal_of(cycle, org.peer).state == "closed"


def staff_appraisal_row(api, org) -> Appraisal:
    cycle, _ = launch(api, org)
    return db.session.get(Appraisal, staff_appraisal(org, cycle))


@pytest.mark.parametrize(
    ("scored_at", "zone", "deadline"),
    [
        # scored 10:00 WIB on 1 March: the window ends 15 March 23:59:59 WIB = 16:59:59 UTC
        (datetime(2027, 3, 1, 3, 0), "WIB", datetime(2027, 3, 15, 16, 59, 59)),
        # scored 23:30 WIT on 1 March (14:30 UTC): still 1 March there
        (datetime(2027, 3, 1, 14, 30), "WIT", datetime(2027, 3, 15, 14, 59, 59)),
        # 17:30 UTC on 28 Feb is already 1 March 00:30 WIB
        (datetime(2027, 2, 28, 17, 30), "WIB", datetime(2027, 3, 15, 16, 59, 59)),
        (datetime(2027, 2, 28, 17, 30), "WITA", datetime(2027, 3, 15, 15, 59, 59)),
    ],
)
def test_objection_window_ends_with_the_14th_calendar_day_in_the_units_zone(scored_at, zone, deadline):
    assert objection_deadline(scored_at, zone) == deadline


def test_objection_window_edges_through_the_api(api, org):
    a = staff_appraisal_row(api, org)
    now = utcnow()
    put_in_state(a, "scored", scored_at=now - timedelta(days=15))  # the 14th day ended yesterday
    r = api.fire(a.id, "file_objection", org.u_staff, reason="Terlambat")
    assert r.status_code == 422 and "objection" in r.get_json()["errors"]
    put_in_state(a, "scored", scored_at=now - timedelta(days=14))  # the 14th day ends tonight
    assert api.fire(a.id, "file_objection", org.u_staff, reason="Tepat waktu").status_code == 200


# --- row 11: reactivation does not revive tokens --------------------------------------------------


def test_row11_tokens_stay_revoked_after_reactivation(api, org, client):
    token = api.token("staf")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert (
        api.patch(f"/api/v1/users/{org.u_staff.id}", org.u_admin, json={"active": False}).status_code == 200
    )
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert api.patch(f"/api/v1/users/{org.u_staff.id}", org.u_admin, json={"active": True}).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    r = client.post("/api/v1/auth/tokens", json={"username": "staf", "password": factories.PASSWORD})
    assert r.status_code == 201  # a new sign-in works
    events = db.session.scalars(
        select(TransitionLog.event).where(
            TransitionLog.entity == "user", TransitionLog.entity_id == org.u_staff.id
        )
    ).all()
    assert events == ["user_updated", "user_updated"]


# --- row 12: due dates HR sets lie between today and the cycle's end ------------------------------


@pytest.mark.parametrize(
    ("anchor", "offset", "ok"),
    [
        ("today", -9000, False),
        ("today", -1, False),
        ("today", 0, True),
        ("today", 30, True),
        ("end", 0, True),
        ("end", 1, False),
    ],
)
def test_row12_reopen_due_date_between_today_and_the_cycle_end(api, org, anchor, offset, ok):
    a = put_in_state(staff_appraisal_row(api, org), "closed")
    zone_today = (utcnow() + timedelta(hours=8)).date()  # the seksi is WITA
    cycle = db.session.get(Cycle, a.cycle_id)
    cycle_end = max(cycle.training_due, cycle.period_end)
    assert cycle_end == utcnow().date() + timedelta(days=120)
    # Counted from the cycle's end itself, not from today: from 16:00 UTC the WITA today is a
    # day ahead of the UTC date the cycle's dates were made from.
    due = ((zone_today if anchor == "today" else cycle_end) + timedelta(days=offset)).isoformat()
    r = api.fire(a.id, "reopen", org.u_hr, reason="Koreksi", due_date=due)
    if ok:
        assert r.status_code == 200, r.get_json()
    else:
        assert r.status_code == 422, r.get_json()
        assert "due_date" in r.get_json()["errors"]
        assert db.session.get(Appraisal, a.id).state == "closed"


def test_training_due_dates_lie_within_the_cycle(api, org):
    a = put_in_state(staff_appraisal_row(api, org), "feedback_given")
    r = api.fire(
        a.id,
        "assign_training",
        org.u_kasi,
        trainings=[{"competency": "X", "hours_jp": 4, "due_date": "1999-01-01"}],
    )
    assert r.status_code == 422 and "trainings" in r.get_json()["errors"]


# --- row 13: a message says what was true when it was caused --------------------------------------


def test_row13_the_email_keeps_the_submissions_due_date_when_the_worker_is_late(api, org, smtp):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    drain()
    submit_plan(api, org, aid, org.u_staff)
    submitted_due = api.appraisal(aid, org.u_staff)["due_at"][:10]
    # The worker is late: the assessor approves before the submission's message is delivered.
    assert api.fire(aid, "approve_plan", org.u_kasi).status_code == 200
    approved_due = api.appraisal(aid, org.u_staff)["due_at"][:10]
    assert approved_due != submitted_due
    drain()
    n = db.session.scalar(
        select(Notification).where(
            Notification.user_id == org.u_kasi.id, Notification.kind == "plan_submitted"
        )
    )
    assert n.context["due"] == submitted_due and n.context["state"] == "plan_submitted"
    mail = [m for m in smtp.to(org.kasi.email) if "menunggu persetujuan" in m["Subject"]]
    assert len(mail) == 1
    text = mail[0].get_body(("plain",)).get_content()
    assert format_date(submitted_due, "id") in text
    assert format_date(approved_due, "id") not in text


def test_a_reminder_names_the_holder_at_the_time_of_the_sweep(api, org):
    from workflow_app.jobs.sweeps import escalation_sweep

    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    submit_plan(api, org, aid, org.u_staff)
    a = db.session.get(Appraisal, aid)
    a.due_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    escalation_sweep(utcnow())
    # HR reassigns before the worker runs: the escalation still says who held it then.
    version = api.appraisal(aid, org.u_hr)["version"]
    r = api.post(
        f"/api/v1/appraisals/{aid}/reassign",
        org.u_hr,
        json={"version": version, "assessor_id": org.kabid.id, "reason": "Kasi cuti panjang"},
    )
    assert r.status_code == 200, r.get_json()
    drain(emails=False)
    rows = db.session.scalars(
        select(Notification).where(Notification.kind == "escalation_1", Notification.appraisal_id == aid)
    ).all()
    assert rows and all(n.context["holder"] == "Kepala Seksi" for n in rows)


# --- audited edits: role grants, leave, delegations --------------------------------------------------


def test_leave_and_delegations_are_logged_with_actor_and_time(api, org):
    r = api.post(
        f"/api/v1/employees/{org.kasi.id}/leave",
        org.u_hr,
        json={"start_date": "2027-01-04", "end_date": "2027-01-08", "kind": "cuti_tahunan"},
    )
    assert r.status_code == 201, r.get_json()
    leave_id = r.get_json()["id"]
    r = api.call("DELETE", f"/api/v1/employees/{org.kasi.id}/leave/{leave_id}", org.u_hr)
    assert r.status_code == 204
    r = api.post("/api/v1/delegations", org.u_hr, json=delegation_body(org.kasi, org.peer))
    assert r.status_code == 201
    assert api.post(f"/api/v1/delegations/{r.get_json()['id']}/end", org.u_hr).status_code == 200
    rows = db.session.scalars(
        select(TransitionLog)
        .where(TransitionLog.entity.in_(("employee", "delegation")))
        .order_by(TransitionLog.id)
    ).all()
    assert [(r.entity, r.event) for r in rows] == [
        ("employee", "leave_added"),
        ("employee", "leave_deleted"),
        ("delegation", "delegation_created"),
        ("delegation", "delegation_ended"),
    ]
    assert all(r.actor_user_id == org.u_hr.id and r.created_at for r in rows)
    assert rows[0].payload["end_date"] == "2027-01-08"


# --- found by review: paths around the separation of duties --------------------------------------


def test_an_admin_cannot_relink_or_re_role_their_own_account(api, org):
    boss = factories.user("kadis", org.kadis, roles=[("admin", org.dinas)])
    db.session.commit()
    r = api.patch(f"/api/v1/users/{boss.id}", boss, json={"employee_id": None})
    assert r.status_code == 403, r.get_json()
    r = api.patch(f"/api/v1/users/{boss.id}", boss, json={"roles": [{"role": "hr", "unit_id": org.dinas.id}]})
    assert r.status_code == 403, r.get_json()
    db.session.expire_all()
    assert db.session.get(User, boss.id).employee_id == org.kadis.id
    # An HR account must be someone: no unlinked second account with HR over one's own appraisal.
    r = api.post(
        "/api/v1/users",
        boss,
        json={
            "username": "bayangan",
            "password": "panjang-sekali-1",
            "roles": [{"role": "hr", "unit_id": org.dinas.id}],
        },
    )
    assert r.status_code == 422 and "roles" in r.get_json()["errors"], r.get_json()
    # Relinking an account that holds roles is for a root admin only.
    r = api.patch(f"/api/v1/users/{org.u_hr.id}", boss, json={"employee_id": org.peer.id})
    assert r.status_code == 403, r.get_json()
    newcomer = factories.employee("Pengelola Baru", org.dinas, org.kadis)
    db.session.commit()
    r = api.patch(f"/api/v1/users/{org.u_hr.id}", org.u_admin, json={"employee_id": newcomer.id})
    assert r.status_code == 200, r.get_json()  # the province admin's scope is a whole tree


def test_the_scorer_never_decides_the_objection_to_their_score(api, org):
    a = put_in_state(staff_appraisal_row(api, org), "final_review")
    r = api.fire(
        a.id, "score", org.u_kasi, rating_hasil_kerja="sesuai", rating_perilaku="di_bawah", justification="x"
    )
    assert r.status_code == 200
    assert api.fire(a.id, "file_objection", org.u_staff, reason="Tidak adil").status_code == 200
    version = api.appraisal(a.id, org.u_hr)["version"]
    r = api.post(
        f"/api/v1/appraisals/{a.id}/reassign",
        org.u_hr,
        json={"version": version, "assessor_id": org.peer.id, "superior_id": org.kasi.id, "reason": "x"},
    )
    assert r.status_code == 422 and "superior_id" in r.get_json()["errors"], r.get_json()
    # Slipped in through data: the scorer as superior still decides nothing; HR stands in.
    db.session.expire_all()
    row = db.session.get(Appraisal, a.id)
    row.assessor_id, row.superior_id = org.peer.id, org.kasi.id
    db.session.commit()
    version = api.appraisal(a.id, org.u_hr)["version"]
    r = api.fire(
        a.id, "resolve_objection", org.u_kasi, version, decision="upheld", reasoning="Nilai saya benar"
    )
    assert r.status_code in (403, 404), r.get_json()  # the scorer holds no relation here at all
    assert "superior" in api.appraisal(a.id, org.u_hr)["relations"]


def test_hr_who_stood_in_as_assessor_does_not_stand_in_as_superior(api, org):
    a = put_in_state(staff_appraisal_row(api, org), "final_review")
    a.assessor_id = a.superior_id = None
    db.session.commit()
    r = api.fire(a.id, "score", org.u_hr, rating_hasil_kerja="sesuai", rating_perilaku="sesuai")
    assert r.status_code == 200, r.get_json()
    assert api.fire(a.id, "file_objection", org.u_staff, reason="Keberatan").status_code == 200
    relations = api.appraisal(a.id, org.u_hr)["relations"]
    assert "superior" not in relations and "hr" in relations
    r = api.fire(a.id, "resolve_objection", org.u_hr, decision="upheld", reasoning="x")
    assert r.status_code == 403, r.get_json()


def test_a_rescored_appraisal_may_be_objected_to_again(api, org):
    a = put_in_state(staff_appraisal_row(api, org), "objection_filed")
    a.objections[0].filed_at = utcnow() - timedelta(days=30)
    a.scored_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert (
        api.fire(a.id, "resolve_objection", org.u_kabid, decision="upheld", reasoning="x").status_code == 200
    )
    a = put_in_state(db.session.get(Appraisal, a.id), "final_review", scored_at=None)
    db.session.expire_all()
    r = api.fire(
        a.id, "score", org.u_kasi, rating_hasil_kerja="di_bawah", rating_perilaku="sesuai", justification="x"
    )
    assert r.status_code == 200, r.get_json()
    assert api.fire(a.id, "close", org.u_hr).status_code in (409, 422)
    assert api.fire(a.id, "file_objection", org.u_staff, reason="Lagi").status_code == 200


def test_hr_cannot_steer_their_own_next_assessor_or_deadlines(api, org):
    start = utcnow().date() + timedelta(days=3)
    # The HR officer's superior (their assessor at the next launch) is the Kepala Dinas.
    r = api.post("/api/v1/delegations", org.u_hr, json=delegation_body(org.kadis, org.kabid, start=start))
    assert r.status_code == 422 and "delegator_id" in r.get_json()["errors"], r.get_json()
    r = api.patch(f"/api/v1/employees/{org.hr_emp.id}", org.u_hr, json={"superior_id": org.staff.id})
    assert r.status_code == 403, r.get_json()
    r = api.post(
        f"/api/v1/employees/{org.hr_emp.id}/leave",
        org.u_hr,
        json={"start_date": "2027-01-04", "end_date": "2027-01-08", "kind": "cuti_tahunan"},
    )
    assert r.status_code == 403, r.get_json()


def test_a_delegation_in_the_past_is_refused(api, org):
    past = utcnow().date() - timedelta(days=20)
    r = api.post(
        "/api/v1/delegations", org.u_hr, json=delegation_body(org.kasi, org.peer, days=5, start=past)
    )
    assert r.status_code == 422 and "end_date" in r.get_json()["errors"], r.get_json()


def test_two_audited_changes_of_one_user_in_one_request(api, org):
    r = api.patch(
        f"/api/v1/users/{org.u_peer.id}", org.u_admin, json={"password": "rahasia-baru-789", "locale": "en"}
    )
    assert r.status_code == 200, r.get_json()
    events = db.session.scalars(
        select(TransitionLog.event).where(
            TransitionLog.entity == "user", TransitionLog.entity_id == org.u_peer.id
        )
    ).all()
    assert events == ["password_reset", "user_updated"]


def test_incidents_and_delegations_stay_inside_scope(api, org):
    from workflow_app.models import Incident

    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    db.session.add_all(
        [
            Incident(kind="outbox_delivery", ref_type="outbox", ref_id=1, unit_id=org.seksi.id, error="x"),
            Incident(kind="outbox_delivery", ref_type="outbox", ref_id=2, unit_id=None, error="y"),
        ]
    )
    db.session.commit()
    assert [
        i["unit_id"] for i in api.get("/api/v1/monitoring/incidents", org.u_hr_other).get_json()["items"]
    ] == []
    assert {i["unit_id"] for i in api.get("/api/v1/monitoring/incidents", org.u_hr).get_json()["items"]} == {
        org.seksi.id
    }
    assert api.get("/api/v1/monitoring/incidents", org.u_admin).get_json()["total"] == 2  # whole province
    assert aid
    r = api.post("/api/v1/delegations", org.u_hr, json=delegation_body(org.kasi, org.peer))
    opd_admin = factories.user("admin_dinkes", None, roles=[("admin", org.dinas)])
    db.session.commit()
    assert api.post(f"/api/v1/delegations/{r.get_json()['id']}/end", opd_admin).status_code == 404


def test_an_escalation_goes_to_who_held_it_when_it_was_raised(api, org):
    from workflow_app.jobs.sweeps import escalation_sweep

    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    submit_plan(api, org, aid, org.u_staff)
    a = db.session.get(Appraisal, aid)
    a.due_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    escalation_sweep(utcnow())
    assert api.fire(aid, "approve_plan", org.u_kasi).status_code == 200  # before the worker runs
    drain(emails=False)
    told = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.kind == "escalation_1", Notification.appraisal_id == aid
            )
        )
    )
    assert told == {org.u_kasi.id, org.u_kabid.id}
