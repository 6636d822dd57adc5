"""Whole lives of an appraisal over HTTP, as the users involved."""

from datetime import timedelta

import time_machine

from state_machines import APPRAISAL
from tests import factories
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal
from workflow_app.services.audit_verify import verify_chain


def launch(api, org, **dates):
    cycle = factories.cycle(org.dinas, **dates)
    r = api.post(f"/api/v1/cycles/{cycle.id}/events/launch", org.u_hr, json={"version": cycle.version})
    assert r.status_code == 200, r.get_json()
    return cycle, r.get_json()


def staff_appraisal(org, cycle) -> int:
    return db.session.scalar(
        db.select(Appraisal.id).where(Appraisal.cycle_id == cycle.id, Appraisal.employee_id == org.staff.id)
    )


def drive_to_final_review(api, org, aid):
    v = api.appraisal(aid, org.u_staff)["version"]
    r = api.put(f"/api/v1/appraisals/{aid}/plan", org.u_staff, json=factories.plan_body(v))
    assert r.status_code == 200, r.get_json()
    assert api.fire(aid, "submit_plan", org.u_staff).status_code == 200
    r = api.fire(aid, "return_plan", org.u_kasi, comment="Tambahkan indikator kualitas")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "plan_drafted"
    assert api.fire(aid, "submit_plan", org.u_staff).status_code == 200
    assert api.fire(aid, "approve_plan", org.u_kasi).status_code == 200
    r = api.fire(aid, "open_midyear_review", org.u_hr)
    assert r.status_code == 200, r.get_json()
    # An event answers with the row; the plan items come with the detail.
    assert "plan_items" not in r.get_json()
    detail = api.appraisal(aid, org.u_staff)
    assert detail["version"] == r.get_json()["version"]
    items = [{"item_id": i["id"], "realisation": "6 laporan"} for i in detail["plan_items"]]
    r = api.put(
        f"/api/v1/appraisals/{aid}/progress", org.u_staff, json={"version": detail["version"], "items": items}
    )
    assert r.status_code == 200, r.get_json()
    r = api.fire(aid, "complete_midyear_review", org.u_kasi, feedback="Sesuai rencana")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["midyear_feedback"] == "Sesuai rencana"
    detail = api.appraisal(aid, org.u_staff)
    items = [
        {"item_id": i["id"], "realisation": "12 laporan", "evidence": ["https://arsip.example.go.id/1"]}
        for i in detail["plan_items"]
    ]
    r = api.put(
        f"/api/v1/appraisals/{aid}/progress", org.u_staff, json={"version": detail["version"], "items": items}
    )
    assert r.status_code == 200, r.get_json()


def test_full_lifecycle_with_training(api, org):
    cycle, launched = launch(api, org)
    assert launched["result"]["created"] == 6  # every active employee of the dinas subtree
    aid = staff_appraisal(org, cycle)
    assert [t["id"] for t in api.get("/api/v1/tasks", org.u_staff).get_json()] == [aid]

    drive_to_final_review(api, org, aid)
    r = api.fire(
        aid,
        "score",
        org.u_kasi,
        rating_hasil_kerja="di_bawah",
        rating_perilaku="sesuai",
        justification="Target tidak tercapai",
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["predikat"] == "butuh_perbaikan"
    assert api.fire(aid, "give_feedback", org.u_kasi, feedback="Perlu pendampingan").status_code == 200

    r = api.fire(aid, "close", org.u_hr)
    assert r.status_code == 422
    assert "predikat" in r.get_json()["errors"]

    due = (utcnow() + timedelta(days=60)).date().isoformat()
    r = api.fire(
        aid,
        "assign_training",
        org.u_kasi,
        trainings=[{"competency": "Manajemen Data", "hours_jp": 20, "due_date": due}],
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "training_assigned"
    assert api.fire(aid, "close", org.u_hr).status_code == 422  # training not completed

    detail = api.appraisal(aid, org.u_staff)
    tid = detail["trainings"][0]["id"]
    r = api.patch(
        f"/api/v1/appraisals/{aid}/trainings/{tid}",
        org.u_staff,
        json={"version": detail["version"], "status": "completed", "evidence": "Sertifikat no. 12"},
    )
    assert r.status_code == 200, r.get_json()
    # Training does not take the right to object away: close waits for the window or consent.
    r = api.fire(aid, "close", org.u_hr)
    assert r.status_code == 422 and "objection" in r.get_json()["errors"], r.get_json()
    assert api.fire(aid, "accept_result", org.u_staff).status_code == 200
    r = api.fire(aid, "close", org.u_hr)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "closed"
    assert r.get_json()["allowed_events"] == ["reopen"]

    history = api.get(f"/api/v1/appraisals/{aid}/history", org.u_staff).get_json()
    edits = [h for h in history if h["event"] not in APPRAISAL.transitions]
    assert {h["event"] for h in edits} == {"plan_updated", "progress_recorded", "training_updated"}
    assert all(h["from_state"] == h["to_state"] and h["actor"] for h in edits)
    assert [h["event"] for h in history if h["event"] in APPRAISAL.transitions] == [
        "submit_plan",
        "return_plan",
        "submit_plan",
        "approve_plan",
        "open_midyear_review",
        "complete_midyear_review",
        "score",
        "give_feedback",
        "assign_training",
        "accept_result",
        "close",
    ]
    assert history[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(history, history[1:], strict=False))
    assert verify_chain("appraisal", aid) == []


def test_lifecycle_through_objection(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    drive_to_final_review(api, org, aid)
    r = api.fire(
        aid,
        "score",
        org.u_kasi,
        rating_hasil_kerja="sesuai",
        rating_perilaku="di_bawah",
        justification="Sering terlambat",
    )
    assert r.get_json()["predikat"] == "kurang"

    r = api.fire(aid, "file_objection", org.u_staff, reason="Keterlambatan karena tugas luar kantor")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "objection_filed"
    kabid_tasks = api.get("/api/v1/tasks", org.u_kabid).get_json()
    assert [t["allowed_events"] for t in kabid_tasks if t["id"] == aid] == [["resolve_objection"]]

    r = api.fire(
        aid,
        "resolve_objection",
        org.u_kabid,
        decision="amended",
        reasoning="Surat tugas luar kantor terlampir",
        rating_hasil_kerja="sesuai",
        rating_perilaku="sesuai",
    )
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["state"], r.get_json()["predikat"]) == ("scored", "baik")
    detail = api.appraisal(aid, org.u_kabid)
    assert detail["objection"]["previous_ratings"]["predikat"] == "kurang"
    assert detail["objection"]["amended_ratings"]["predikat"] == "baik"

    r = api.fire(aid, "file_objection", org.u_staff, reason="Sekali lagi")
    assert r.status_code == 422  # once per appraisal
    assert api.fire(aid, "give_feedback", org.u_kasi, feedback="Pertahankan").status_code == 200
    r = api.fire(aid, "close", org.u_hr)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "closed"


def test_close_waits_for_objection_window(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    drive_to_final_review(api, org, aid)
    assert (
        api.fire(aid, "score", org.u_kasi, rating_hasil_kerja="sesuai", rating_perilaku="sesuai").status_code
        == 200
    )
    assert api.fire(aid, "give_feedback", org.u_kasi, feedback="Baik").status_code == 200
    r = api.fire(aid, "close", org.u_hr)
    assert r.status_code == 422 and "objection" in r.get_json()["errors"]
    with time_machine.travel(utcnow() + timedelta(days=15), tick=False):
        api.tokens.clear()  # the 12-hour tokens expired on the way
        r = api.fire(aid, "file_objection", org.u_staff, reason="Terlambat")
        assert r.status_code == 422
        r = api.fire(aid, "close", org.u_hr)
        assert r.status_code == 200, r.get_json()
