"""Delegation (Plt/Plh) and reassignment by HR, including work already in flight."""

from datetime import timedelta

from sqlalchemy import select

from tests import factories
from tests.conftest import drain
from tests.test_lifecycle import launch, staff_appraisal
from workflow_app.clock import local_today, utcnow
from workflow_app.extensions import db
from workflow_app.jobs.sweeps import delegation_sweep
from workflow_app.models import Appraisal, Notification, TransitionLog


def submitted(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    api.put(
        f"/api/v1/appraisals/{aid}/plan",
        org.u_staff,
        json=factories.plan_body(api.appraisal(aid, org.u_staff)["version"]),
    )
    assert api.fire(aid, "submit_plan", org.u_staff).status_code == 200
    return cycle, aid


def kinds(user):
    return list(db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))


def test_delegate_acts_on_behalf_of_the_assessor_and_work_returns(api, org, smtp):
    _, aid = submitted(api, org)
    today = utcnow().date()
    body = {
        "delegator_id": org.kasi.id,
        "delegate_id": org.peer.id,
        "kind": "plh",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=10)).isoformat(),
        "reason": "Kepala seksi dinas luar",
    }
    assert api.post("/api/v1/delegations", org.u_kasi, json=body).status_code == 403  # HR records it
    r = api.post("/api/v1/delegations", org.u_hr, json=body)
    assert r.status_code == 201, r.get_json()
    delegation = r.get_json()
    assert delegation["activated_at"]

    # The work in flight moved: the delegate sees it as a task and may approve it.
    assert aid in [t["id"] for t in api.get("/api/v1/tasks", org.u_peer).get_json()]
    assert aid not in [t["id"] for t in api.get("/api/v1/tasks", org.u_kasi).get_json()]
    r = api.fire(aid, "approve_plan", org.u_peer)
    assert r.status_code == 200, r.get_json()
    history = api.get(f"/api/v1/appraisals/{aid}/history", org.u_staff).get_json()
    assert [h["event"] for h in history][-2:] == ["delegate", "approve_plan"]
    assert (history[-1]["actor"], history[-1]["on_behalf_of"]) == ("rekan", "kasi")
    drain()
    assert "delegation_started" in kinds(org.u_peer)

    # Ending it gives open work back to the delegator.
    r = api.post(f"/api/v1/delegations/{delegation['id']}/end", org.u_hr)
    assert r.status_code == 200 and r.get_json()["ended_at"]
    a = db.session.get(Appraisal, aid)
    assert (a.assessor_id, a.delegation_id) == (org.kasi.id, None)
    assert api.post(f"/api/v1/delegations/{delegation['id']}/end", org.u_hr).status_code == 409


def test_delegation_starts_and_ends_by_date_in_the_sweep(api, org):
    _, aid = submitted(api, org)
    today = local_today(org.seksi.timezone)  # dates are the delegator's local dates
    r = api.post(
        "/api/v1/delegations",
        org.u_hr,
        json={
            "delegator_id": org.kasi.id,
            "delegate_id": org.peer.id,
            "start_date": (today + timedelta(days=1)).isoformat(),
            "end_date": (today + timedelta(days=2)).isoformat(),
        },
    )
    assert r.status_code == 201 and r.get_json()["activated_at"] is None
    assert db.session.get(Appraisal, aid).assessor_id == org.kasi.id
    now = utcnow()
    assert delegation_sweep(now + timedelta(days=1))["activated"] == 2  # staff and peer
    assert db.session.get(Appraisal, aid).assessor_id == org.peer.id
    assert delegation_sweep(now + timedelta(days=1)) == {"activated": 0, "ended": 0}  # idempotent
    assert delegation_sweep(now + timedelta(days=3))["ended"] == 1
    assert db.session.get(Appraisal, aid).assessor_id == org.kasi.id


def test_overlapping_and_invalid_delegations_are_refused(api, org):
    from workflow_app.services.sla import local_date

    # The delegator's own today: from 16:00 UTC it is already tomorrow in a WITA unit.
    today = local_date(utcnow(), org.kasi.unit.timezone).isoformat()
    base = {"delegator_id": org.kasi.id, "delegate_id": org.peer.id, "start_date": today, "end_date": today}
    assert api.post("/api/v1/delegations", org.u_hr, json=base).status_code == 201
    r = api.post("/api/v1/delegations", org.u_hr, json=base)
    assert r.status_code == 422 and "start_date" in r.get_json()["errors"]
    r = api.post("/api/v1/delegations", org.u_hr, json={**base, "delegate_id": org.kasi.id})
    assert r.status_code == 422


def test_reassignment_by_hr_is_audited_and_notifies_both_assessors(api, org, smtp):
    _, aid = submitted(api, org)
    version = api.appraisal(aid, org.u_hr)["version"]
    body = {"version": version, "assessor_id": org.kabid.id, "reason": "Kepala seksi mutasi"}
    assert api.post(f"/api/v1/appraisals/{aid}/reassign", org.u_kasi, json=body).status_code == 403
    r = api.post(f"/api/v1/appraisals/{aid}/reassign", org.u_hr, json=body)
    assert r.status_code == 200, r.get_json()
    detail = r.get_json()
    assert detail["assessor"]["id"] == org.kabid.id and detail["superior"]["id"] == org.kadis.id
    assert detail["version"] == version + 1
    # The old assessor can no longer act; the new one can.
    assert api.fire(aid, "approve_plan", org.u_kasi, version=version + 1).status_code == 404
    assert api.fire(aid, "approve_plan", org.u_kabid).status_code == 200
    log = db.session.scalar(select(TransitionLog).where(TransitionLog.event == "reassign"))
    assert log.payload["old_assessor_id"] == org.kasi.id and log.comment == "Kepala seksi mutasi"
    drain()
    assert "reassigned" in kinds(org.u_kasi) and "reassigned" in kinds(org.u_kabid)
    assert {m["To"] for m in smtp.messages if "diganti" in m["Subject"]} == {org.kasi.email, org.kabid.email}
    # A stale version is refused.
    assert api.post(f"/api/v1/appraisals/{aid}/reassign", org.u_hr, json=body).status_code == 409


def test_bulk_reassignment_applies_each_item_whole(api, org):
    cycle, aid = submitted(api, org)
    peer_aid = db.session.scalar(
        select(Appraisal.id).where(Appraisal.cycle_id == cycle.id, Appraisal.employee_id == org.peer.id)
    )
    kabid_aid = db.session.scalar(
        select(Appraisal.id).where(Appraisal.cycle_id == cycle.id, Appraisal.employee_id == org.kabid.id)
    )
    body = {"ids": [aid, peer_aid, kabid_aid], "assessor_id": org.kabid.id, "reason": "Reorganisasi"}
    r = api.post("/api/v1/appraisals/bulk-reassign", org.u_hr, json={**body, "dry_run": True})
    assert r.status_code == 200 and r.get_json()["applied"] == 2  # kabid cannot assess himself
    assert db.session.get(Appraisal, aid).assessor_id == org.kasi.id  # dry run wrote nothing
    r = api.post("/api/v1/appraisals/bulk-reassign", org.u_hr, json=body).get_json()
    assert [x["ok"] for x in r["results"]] == [True, True, False]
    assert db.session.get(Appraisal, peer_aid).assessor_id == org.kabid.id
