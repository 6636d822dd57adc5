"""Each guard of the appraisal definition: refused with 422 /guard-failed when unmet, passes when met."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from state_machines import APPRAISAL
from tests.test_transition_matrix import good_fields, put_in_state, snapshot, staff_appraisal
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import BERAKHLAK, Appraisal, Objection
from workflow_app.scoring import (
    MATRIX_6_2022,
    PREDIKAT_LABELS,
    PREDIKATS,
    RATINGS,
    scheme,
    training_required,
)
from workflow_app.services import guards


def fire(api, user, a, event, **fields):
    db.session.expire_all()
    version = db.session.get(Appraisal, a.id).version
    return api.post(f"/api/v1/appraisals/{a.id}/events/{event}", user, json={"version": version, **fields})


def assert_guard_failed(r, *fields):
    body = r.get_json()
    assert r.status_code == 422, body
    assert r.mimetype == "application/problem+json"
    assert body["type"].endswith("/guard-failed"), body
    for name in fields:
        assert name in body["errors"], body
    return body


def assert_invalid(r, *fields):
    body = r.get_json()
    assert r.status_code == 422, body
    assert body["type"].endswith("/validation-error"), body
    for name in fields:
        assert name in body["errors"], body
    return body


def edit(a: Appraisal, fn=None, **values):
    """Change a prepared appraisal's rows and commit (per-test rollback still undoes it)."""
    db.session.expire_all()
    a = db.session.get(Appraisal, a.id)
    if fn is not None:
        fn(a)
    for key, value in values.items():
        setattr(a, key, value)
    db.session.commit()
    return a


def test_every_guard_of_the_definition_is_covered_here():
    named = {g for t in APPRAISAL.transitions.values() for g in t.guards}
    covered = {
        "plan_complete",
        "midyear_window_open",
        "midyear_progress_recorded",
        "scoring_window_open",
        "final_realisation_recorded",
        "ratings_justified",
        "closable",
        "objection_allowed",
        "objection_decision_valid",
        # issue 6: tests/test_separation_of_duties.py
        "result_acceptable",
        "due_date_in_cycle",
        "training_dates_in_cycle",
    }
    assert named == covered


# --- plan_complete ------------------------------------------------------------------------------


def _only_additional(a):
    for item in a.plan_items:
        item.kind = "tambahan"


def _no_indicator(a):
    a.plan_items[1].indicator = "  "


def _no_target(a):
    a.plan_items[0].target_value = None


def _missing_behaviour(a):
    a.behaviours.pop()


def _blank_behaviour(a):
    a.behaviours[0].expectation = " "


@pytest.mark.parametrize(
    ("breaker", "field"),
    [
        (_only_additional, "plan_items"),
        (_no_indicator, "plan_items"),
        (_no_target, "plan_items"),
        (_missing_behaviour, "behaviours"),
        (_blank_behaviour, "behaviours"),
    ],
)
def test_plan_complete_refuses(api, org, breaker, field):
    a = put_in_state(staff_appraisal(org), "plan_drafted")
    edit(a, breaker)
    body = assert_guard_failed(fire(api, org.u_staff, a, "submit_plan"), field)
    assert body["detail"].startswith("'submit_plan' cannot be fired yet")


def test_plan_complete_empty_plan_names_both_fields(api, org):
    a = staff_appraisal(org)  # freshly launched: no items, no behaviours
    assert_guard_failed(fire(api, org.u_staff, a, "submit_plan"), "plan_items", "behaviours")


def test_plan_complete_passes_with_plan_via_api(api, org):
    a = staff_appraisal(org)
    r = api.put(f"/api/v1/appraisals/{a.id}/plan", org.u_staff, json=factories_plan(a))
    assert r.status_code == 200, r.get_json()
    r = fire(api, org.u_staff, a, "submit_plan")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "plan_submitted"


def factories_plan(a):
    from tests import factories

    db.session.expire_all()
    return factories.plan_body(db.session.get(Appraisal, a.id).version)


def test_behaviour_values_are_the_seven_berakhlak():
    assert len(BERAKHLAK) == 7


# --- midyear_window_open ------------------------------------------------------------------------


def test_midyear_window_open(api, org):
    today = utcnow().date()
    a = put_in_state(staff_appraisal(org, midyear_start=today + timedelta(days=5)), "plan_approved")
    assert_guard_failed(fire(api, org.u_hr, a, "open_midyear_review"), "cycle")
    a.cycle.midyear_start = today - timedelta(days=1)
    db.session.commit()
    r = fire(api, org.u_hr, a, "open_midyear_review")
    assert r.status_code == 200, r.get_json()


# --- midyear_progress_recorded ------------------------------------------------------------------


def test_midyear_progress_recorded(api, org):
    a = put_in_state(staff_appraisal(org), "midyear_review")

    def drop_main(a):
        a.plan_items[0].midyear_realisation = None
        a.plan_items[1].midyear_realisation = None  # additional items are not required

    edit(a, drop_main)
    assert_guard_failed(fire(api, org.u_kasi, a, "complete_midyear_review", feedback="Oke"), "plan_items")

    def main_only(a):
        a.plan_items[0].midyear_realisation = "5 laporan"

    edit(a, main_only)
    r = fire(api, org.u_kasi, a, "complete_midyear_review", feedback="Oke")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["midyear_feedback"] == "Oke"


# --- scoring_window_open ------------------------------------------------------------------------

SCORE = {"rating_hasil_kerja": "sesuai", "rating_perilaku": "sesuai"}


@pytest.mark.parametrize("when", ["before", "after"])
def test_scoring_window_closed(api, org, when):
    today = utcnow().date()
    dates = (
        {"scoring_start": today + timedelta(days=3), "scoring_end": today + timedelta(days=30)}
        if when == "before"
        else {"scoring_start": today - timedelta(days=30), "scoring_end": today - timedelta(days=3)}
    )
    a = put_in_state(staff_appraisal(org, **dates), "final_review")
    assert_guard_failed(fire(api, org.u_kasi, a, "score", **SCORE), "cycle")
    # a reopened appraisal is scored within the date HR gave, whatever the cycle's window
    edit(a, reopened_at=utcnow())
    r = fire(api, org.u_kasi, a, "score", **SCORE)
    assert r.status_code == 200, r.get_json()


def test_scoring_window_after_reopen_over_http(api, org):
    today = utcnow().date()
    a = put_in_state(
        staff_appraisal(org, scoring_start=today - timedelta(days=30), scoring_end=today - timedelta(days=3)),
        "closed",
    )
    r = fire(api, org.u_hr, a, "reopen", **good_fields("reopen"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "final_review"
    r = fire(api, org.u_kasi, a, "score", **SCORE)
    assert r.status_code == 200, r.get_json()


# --- final_realisation_recorded -----------------------------------------------------------------


def test_final_realisation_recorded(api, org):
    a = put_in_state(staff_appraisal(org), "final_review")

    def drop(a):
        a.plan_items[1].final_realisation = ""

    edit(a, drop)
    assert_guard_failed(fire(api, org.u_kasi, a, "score", **SCORE), "plan_items")

    def restore(a):
        a.plan_items[1].final_realisation = "3 laporan"

    edit(a, restore)
    assert fire(api, org.u_kasi, a, "score", **SCORE).status_code == 200


# --- ratings_justified --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hasil", "perilaku"),
    [("di_atas", "sesuai"), ("sesuai", "di_bawah"), ("di_bawah", "di_atas"), ("di_atas", "di_atas")],
)
def test_extreme_ratings_need_justification(api, org, hasil, perilaku):
    a = put_in_state(staff_appraisal(org), "final_review")
    ratings = {"rating_hasil_kerja": hasil, "rating_perilaku": perilaku}
    assert_guard_failed(fire(api, org.u_kasi, a, "score", **ratings), "justification")
    assert_guard_failed(fire(api, org.u_kasi, a, "score", justification="   ", **ratings), "justification")
    r = fire(api, org.u_kasi, a, "score", justification="Bukti terlampir", **ratings)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["score_justification"] == "Bukti terlampir"


def test_meeting_expectation_needs_no_justification(api, org):
    a = put_in_state(staff_appraisal(org), "final_review")
    r = fire(api, org.u_kasi, a, "score", **SCORE)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["predikat"] == "baik"


# --- predikat matrix (PermenPANRB 6/2022, domain.md §4) -----------------------------------------

# The expected cells, copied by hand from the quadrant table in shared/domain.md §4 ("Predikat
# kinerja pegawai (quadrant matrix)", PermenPANRB 6/2022), row by row, in the table's own words.
# Deliberately not derived from workflow_app.scoring: this is the oracle the code is checked against.
DOMAIN_TABLE_COLUMNS = ("Di bawah", "Sesuai", "Di atas")  # rating perilaku kerja →
DOMAIN_TABLE_ROWS = {  # rating hasil kerja ↓
    "Di atas": ("Kurang/Misconduct", "Baik", "Sangat Baik"),
    "Sesuai": ("Kurang/Misconduct", "Baik", "Baik"),
    "Di bawah": ("Sangat Kurang", "Butuh Perbaikan", "Butuh Perbaikan"),
}
RATING_CODE = {"Di atas": "di_atas", "Sesuai": "sesuai", "Di bawah": "di_bawah"}
PREDIKAT_CODE = {
    "Sangat Baik": "sangat_baik",
    "Baik": "baik",
    "Butuh Perbaikan": "butuh_perbaikan",
    "Kurang/Misconduct": "kurang",
    "Sangat Kurang": "sangat_kurang",
}
DOMAIN_MATRIX = {
    (RATING_CODE[hasil], RATING_CODE[perilaku]): PREDIKAT_CODE[cell]
    for hasil, cells in DOMAIN_TABLE_ROWS.items()
    for perilaku, cell in zip(DOMAIN_TABLE_COLUMNS, cells, strict=True)
}


def test_matrix_has_all_nine_cells():
    assert set(MATRIX_6_2022) == {(h, p) for h in RATINGS for p in RATINGS}
    assert len(DOMAIN_MATRIX) == 9
    assert MATRIX_6_2022 == DOMAIN_MATRIX
    assert set(MATRIX_6_2022.values()) == set(PREDIKATS)
    # the labels shown to people are the table's words
    assert {code: PREDIKAT_LABELS[code]["id"] for code in PREDIKATS} == {
        code: label for label, code in PREDIKAT_CODE.items()
    }
    assert [k for k, v in MATRIX_6_2022.items() if v == "sangat_baik"] == [("di_atas", "di_atas")]
    with pytest.raises(ValueError):
        scheme("permenpanrb_6_2022").predikat("bagus", "sesuai")


@pytest.mark.parametrize(("hasil", "perilaku"), list(DOMAIN_MATRIX), ids=lambda v: v)
def test_score_records_matrix_predikat(api, org, hasil, perilaku):
    a = put_in_state(staff_appraisal(org), "final_review")
    r = fire(
        api,
        org.u_kasi,
        a,
        "score",
        rating_hasil_kerja=hasil,
        rating_perilaku=perilaku,
        justification="Catatan",
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["predikat"] == DOMAIN_MATRIX[(hasil, perilaku)]
    assert body["scoring_version"] == scheme("permenpanrb_6_2022").version
    history = api.get(f"/api/v1/appraisals/{a.id}/history", org.u_staff).get_json()
    assert history[-1]["payload"]["predikat"] == body["predikat"]


# --- closable -----------------------------------------------------------------------------------


@pytest.mark.parametrize("predikat", PREDIKATS)
def test_close_from_feedback_given_needs_training_below_baik(api, org, predikat):
    a = put_in_state(staff_appraisal(org), "feedback_given", "close", predikat=predikat)
    r = fire(api, org.u_hr, a, "close")
    if training_required(predikat):
        assert predikat in ("butuh_perbaikan", "kurang", "sangat_kurang")
        assert_guard_failed(r, "predikat")
    else:
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["state"] == "closed"


def test_close_waits_for_the_objection_window(api, org):
    a = put_in_state(staff_appraisal(org), "feedback_given", "close", scored_at=utcnow() - timedelta(days=13))
    assert_guard_failed(fire(api, org.u_hr, a, "close"), "objection")
    # a decided objection ends the wait
    edit(a, lambda a: a.objections.append(Objection(reason="x", filed_at=utcnow(), decision="upheld")))
    assert fire(api, org.u_hr, a, "close").status_code == 200


def test_close_waits_for_trainings(api, org):
    # training still 'assigned'; the objection window has passed
    a = put_in_state(staff_appraisal(org), "training_assigned", scored_at=utcnow() - timedelta(days=20))
    assert_guard_failed(fire(api, org.u_hr, a, "close"), "trainings")
    edit(a, lambda a: setattr(a.trainings[0], "status", "recorded"))
    assert fire(api, org.u_hr, a, "close").status_code == 200


def test_close_after_training_completed_via_api(api, org):
    a = put_in_state(
        staff_appraisal(org), "training_assigned", predikat="kurang", scored_at=utcnow() - timedelta(days=20)
    )
    db.session.expire_all()
    a = db.session.get(Appraisal, a.id)
    tid, version = a.trainings[0].id, a.version
    r = api.patch(
        f"/api/v1/appraisals/{a.id}/trainings/{tid}",
        org.u_staff,
        json={"version": version, "status": "completed", "evidence": "Sertifikat"},
    )
    assert r.status_code == 200, r.get_json()
    assert fire(api, org.u_hr, a, "close").status_code == 200


@pytest.mark.parametrize("first, second", [("completed", "recorded"), ("recorded", "completed")])
def test_a_settled_training_cannot_be_overwritten(api, org, first, second):
    """The employee's completion and HR's record are evidence: whoever comes second is refused."""
    a = put_in_state(staff_appraisal(org), "training_assigned", predikat="kurang")
    db.session.expire_all()
    a = db.session.get(Appraisal, a.id)
    tid = a.trainings[0].id
    who = {"completed": org.u_staff, "recorded": org.u_hr}

    def patch(status, evidence):
        version = api.appraisal(a.id, who[status])["version"]
        body = {"version": version, "status": status, "evidence": evidence}
        return api.patch(f"/api/v1/appraisals/{a.id}/trainings/{tid}", who[status], json=body)

    assert patch(first, "Sertifikat asli").status_code == 200
    r = patch(second, "Palsu")
    assert r.status_code == 409 and r.get_json()["type"].endswith("/training-settled")
    training = api.appraisal(a.id, org.u_hr)["trainings"][0]
    assert (training["status"], training["evidence"]) == (first, "Sertifikat asli")


# --- objection_allowed --------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["scored", "feedback_given"])
def test_objection_once_per_appraisal(api, org, state):
    a = put_in_state(staff_appraisal(org), state)
    edit(a, lambda a: a.objections.append(Objection(reason="x", filed_at=utcnow(), decision="upheld")))
    assert_guard_failed(fire(api, org.u_staff, a, "file_objection", reason="Lagi"), "objection")


def test_objection_within_14_days_of_the_score(api, org):
    a = put_in_state(staff_appraisal(org), "scored", scored_at=utcnow())
    start = utcnow()
    with time_machine.travel(start + timedelta(days=15), tick=False):
        api.tokens.clear()  # tokens live 12 hours
        before = snapshot(a.id)
        assert_guard_failed(fire(api, org.u_staff, a, "file_objection", reason="Telat"), "objection")
        assert snapshot(a.id) == before
    with time_machine.travel(start + timedelta(days=13), tick=False):
        api.tokens.clear()
        r = fire(api, org.u_staff, a, "file_objection", reason="Masih dalam batas waktu")
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["state"] == "objection_filed"
        # An event answers with the row; the objection comes with the detail.
        assert api.appraisal(a.id, org.u_staff)["objection"]["reason"] == "Masih dalam batas waktu"


def test_objection_needs_a_score(api, org):
    a = put_in_state(staff_appraisal(org), "scored", scored_at=None)
    assert_guard_failed(fire(api, org.u_staff, a, "file_objection", reason="x"), "objection")


# --- objection_decision_valid -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"decision": "amended"}, "rating_hasil_kerja"),
        ({"decision": "amended", "rating_hasil_kerja": "sesuai"}, "rating_hasil_kerja"),
        ({"decision": "amended", "rating_perilaku": "sesuai"}, "rating_hasil_kerja"),
        ({"decision": "upheld", "rating_hasil_kerja": "sesuai"}, "decision"),
        ({"decision": "upheld", "rating_hasil_kerja": "sesuai", "rating_perilaku": "di_atas"}, "decision"),
    ],
)
def test_objection_decision_invalid(api, org, fields, error):
    a = put_in_state(staff_appraisal(org), "objection_filed")
    assert_guard_failed(fire(api, org.u_kabid, a, "resolve_objection", reasoning="Alasan", **fields), error)


def test_objection_decision_amended_changes_predikat(api, org):
    a = put_in_state(staff_appraisal(org), "objection_filed")
    r = fire(
        api,
        org.u_kabid,
        a,
        "resolve_objection",
        decision="amended",
        reasoning="Bukti baru",
        rating_hasil_kerja="di_atas",
        rating_perilaku="di_atas",
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["state"], body["predikat"]) == ("scored", "sangat_baik")
    objection = api.appraisal(a.id, org.u_kabid)["objection"]
    assert objection["decision"] == "amended"
    assert objection["previous_ratings"]["predikat"] == "baik"


def test_objection_decision_upheld_keeps_ratings(api, org):
    a = put_in_state(staff_appraisal(org), "objection_filed")
    r = fire(api, org.u_kabid, a, "resolve_objection", decision="upheld", reasoning="Sudah sesuai")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["predikat"] == "baik"
    assert api.appraisal(a.id, org.u_kabid)["objection"]["amended_ratings"] is None


# --- required and accepted fields ---------------------------------------------------------------

REQUIRED = [
    ("return_plan", "plan_submitted", "u_kasi", ["comment"]),
    ("revise_plan", "plan_approved", "u_kasi", ["reason"]),
    ("revise_plan", "midyear_review", "u_hr", ["reason"]),
    ("cancel", "plan_drafted", "u_hr", ["reason"]),
    ("file_objection", "scored", "u_staff", ["reason"]),
    ("reopen", "closed", "u_hr", ["reason", "due_date"]),
    ("complete_midyear_review", "midyear_review", "u_kasi", ["feedback"]),
    ("give_feedback", "scored", "u_kasi", ["feedback"]),
    ("assign_training", "feedback_given", "u_kasi", ["trainings"]),
    ("score", "final_review", "u_kasi", ["rating_hasil_kerja", "rating_perilaku"]),
    ("resolve_objection", "objection_filed", "u_kabid", ["decision", "reasoning"]),
]


def test_required_table_matches_definition():
    assert {(e, tuple(f)) for e, _, _, f in REQUIRED} == {
        (t.event, t.required) for t in APPRAISAL.transitions.values() if t.required
    }


@pytest.mark.parametrize(("event", "state", "user", "required"), REQUIRED, ids=lambda v: str(v))
def test_required_fields(api, org, event, state, user, required):
    a = put_in_state(staff_appraisal(org), state, event)
    good = good_fields(event)
    before = snapshot(a.id)
    for name in required:
        missing = {k: v for k, v in good.items() if k != name}
        assert_invalid(fire(api, getattr(org, user), a, event, **missing), name)
        if isinstance(good[name], str):
            assert_invalid(fire(api, getattr(org, user), a, event, **missing, **{name: ""}), name)
    assert snapshot(a.id) == before
    all_missing = {k: v for k, v in good.items() if k not in required}
    body = assert_invalid(fire(api, getattr(org, user), a, event, **all_missing), *required)
    assert set(required) <= set(body["errors"])
    assert snapshot(a.id) == before
    r = fire(api, getattr(org, user), a, event, **good)
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize(
    ("event", "state", "user", "extra"),
    [
        ("submit_plan", "plan_drafted", "u_staff", {"reason": "tidak perlu"}),
        ("approve_plan", "plan_submitted", "u_kasi", {"rating_hasil_kerja": "sesuai"}),
        ("give_feedback", "scored", "u_kasi", {"justification": "x"}),
        ("cancel", "plan_drafted", "u_hr", {"due_date": "2030-01-01"}),
        ("file_objection", "scored", "u_staff", {"decision": "amended"}),
        ("close", "training_assigned", "u_hr", {"feedback": "x"}),
    ],
)
def test_fields_not_accepted_by_the_event(api, org, event, state, user, extra):
    a = put_in_state(staff_appraisal(org), state, "close")
    before = snapshot(a.id)
    body = assert_invalid(fire(api, getattr(org, user), a, event, **good_fields(event), **extra), *extra)
    assert "Not accepted" in body["errors"][next(iter(extra))][0]
    assert snapshot(a.id) == before


# --- a failed event writes nothing --------------------------------------------------------------


def test_failed_events_write_nothing(api, org):
    a = put_in_state(staff_appraisal(org), "feedback_given", predikat="kurang")
    before = snapshot(a.id)
    attempts = [
        (org.u_hr, "close", {}),  # guard: training mandatory
        (org.u_kasi, "assign_training", {}),  # required field
        (org.u_kasi, "close", {}),  # wrong role
        (org.u_kasi, "approve_plan", {}),  # wrong state
        (org.u_staff, "file_objection", {"reason": "x", "decision": "upheld"}),  # unaccepted field
    ]
    statuses = []
    for user, event, fields in attempts:
        statuses.append(fire(api, user, a, event, **fields).status_code)
        assert snapshot(a.id) == before, event
    assert statuses == [422, 422, 403, 409, 422]
    # and a stale version is refused before anything happens
    r = api.post(f"/api/v1/appraisals/{a.id}/events/close", org.u_hr, json={"version": before[1] - 1})
    assert r.status_code == 409 and r.get_json()["type"].endswith("/version-conflict")
    assert snapshot(a.id) == before


def test_guard_context_uses_the_unit_time_zone(org, app):
    a = staff_appraisal(org)
    assert a.unit.timezone == "WITA"
    ctx = guards.GuardContext(now=utcnow(), cycle=a.cycle, appraisal=a, zone="WITA")
    assert ctx.today == (utcnow() + timedelta(hours=8)).date()
