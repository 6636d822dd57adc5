"""The appraisal page (/appraisals/<id>): who sees it, its timeline, one form per event, refusals.

Appraisals are put straight into a state by writing their rows (tests.test_transition_matrix),
then driven through the page's forms as each person would, signed in with a browser session.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from state_machines import APPRAISAL
from tests.test_transition_matrix import good_fields, put_in_state, staff_appraisal
from tests.web.conftest import text_of
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, TransitionLog
from workflow_app.scoring import MATRIX_6_2022, PREDIKAT_LABELS

USER_OF = {"employee": "u_staff", "assessor": "u_kasi", "superior": "u_kabid", "hr": "u_hr"}
FORM = re.compile(r'<form class="kj-event-form" id="event-(?P<event>\w+)".*?</form>', re.S)
NAME = re.compile(r'name="([^"]+)"')


# --- fixtures and helpers (test_plan_page imports them) -----------------------------------------


def english_people(org, client, web):
    """The org, seen through ``web`` (which reads English: tests/web/conftest.py)."""
    return org


@pytest.fixture
def people(org, client, web):
    return english_people(org, client, web)


def appraisal_in(org, state: str, event: str | None = None, **overrides) -> int:
    a = staff_appraisal(org)
    put_in_state(a, state, event, **overrides)
    return a.id


def row(appraisal_id: int) -> Appraisal:
    db.session.expire_all()
    return db.session.get(Appraisal, appraisal_id)


def log_count(appraisal_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(TransitionLog)
        .where(TransitionLog.entity == "appraisal", TransitionLog.entity_id == appraisal_id)
    )


def snapshot(appraisal_id: int) -> tuple:
    a = row(appraisal_id)
    return a.state, a.version, log_count(appraisal_id)


def form_pairs(fields: dict) -> list[tuple[str, str]]:
    """An event's fields as the page's form sends them (trainings as rows)."""
    pairs = []
    for key, value in fields.items():
        if key == "trainings":
            for i, training in enumerate(value):
                pairs += [(f"trainings-{i}-{name}", str(v)) for name, v in training.items()]
        else:
            pairs.append((key, str(value)))
    return pairs


def post_event(web, appraisal_id: int, event: str, fields: dict, version: int | None = None, **kw):
    version = row(appraisal_id).version if version is None else version
    data = [("version", str(version)), *form_pairs(fields)]
    return web.post(f"/appraisals/{appraisal_id}/events/{event}", data, **kw)


def event_forms(html: str) -> dict[str, set[str]]:
    """The event forms of a page: event → the names of its fields (trainings rows as one)."""
    forms = {}
    for match in FORM.finditer(html):
        names = {re.sub(r"^trainings-\d+-\w+$", "trainings", n) for n in NAME.findall(match.group(0))}
        forms[match["event"]] = names - {"csrf_token", "version"}
    return forms


def field_error(html: str, field_id: str) -> str | None:
    """The message shown by the field with id ``f-<field_id>`` (None if the field has none)."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="f-{re.escape(field_id)}-error">([^<]*)</div>', html
    )
    return match.group(1) if match else None


def summary_of(html: str) -> str:
    match = re.search(r'<div class="alert alert-danger kj-error-summary".*?</div>', html, re.S)
    assert match, "the page has no error summary"
    return match.group(0)


# --- who sees the page ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["employee", "assessor", "superior", "hr", "admin"])
def test_page_renders_for_everyone_involved(web, people, role):
    aid = appraisal_in(people, "plan_submitted")
    user = getattr(people, USER_OF.get(role, "u_admin"))
    web.login(user)
    r = web.get(f"/appraisals/{aid}")
    assert r.status_code == 200, text_of(r)[:2000]
    html = text_of(r)
    assert html.count("<h1") == 1
    for text in (
        "Staf Pelaksana",
        people.staff.nip,
        "Seksi Rujukan",
        "Kepala Seksi",
        "Kepala Bidang",
        "Periode",
    ):
        assert text in html
    assert 'class="kj-state kj-state-plan_submitted">Plan submitted<' in html
    # The forms are exactly the events the read model allows this viewer.
    allowed = APPRAISAL.allowed_events("plan_submitted", {role})
    assert set(event_forms(html)) == set(allowed)


def test_an_unrelated_employee_gets_the_same_404_as_a_missing_id(web, people):
    aid = appraisal_in(people, "plan_drafted")
    web.login(people.u_peer)
    other = web.get(f"/appraisals/{aid}")
    missing = web.get("/appraisals/999999")
    assert other.status_code == missing.status_code == 404

    def page(response, path):  # the page differs only in its own path and CSRF token
        html = re.sub(r'(name="csrf_token" value=|"X-CSRFToken": )"[^"]+"', r"\1", text_of(response))
        return html.replace(path, "<path>")

    assert page(other, f"/appraisals/{aid}") == page(missing, "/appraisals/999999")
    assert "Staf Pelaksana" not in text_of(other)
    for path in ("plan", "progress", "predikat?rating_hasil_kerja=sesuai&rating_perilaku=sesuai"):
        assert web.get(f"/appraisals/{aid}/{path}").status_code == 404
    web.login(people.u_hr_other)  # HR of another unit tree
    assert web.get(f"/appraisals/{aid}").status_code == 404


def test_anonymous_is_sent_to_sign_in(web, people):
    aid = appraisal_in(people, "plan_drafted")
    for path in (f"/appraisals/{aid}", f"/appraisals/{aid}/plan", f"/appraisals/{aid}/progress"):
        r = web.get(path)
        assert r.status_code == 302
        assert r.headers["Location"] == f"/login?next=/appraisals/{aid}" + path.removeprefix(
            f"/appraisals/{aid}"
        )


# --- the timeline -----------------------------------------------------------------------------


def test_timeline_says_where_it_is_who_holds_it_and_what_comes_next(web, people):
    aid = appraisal_in(people, "plan_submitted")
    a = row(aid)
    a.due_at = utcnow() - timedelta(days=2)
    db.session.commit()
    web.login(people.u_kasi)
    r = post_event(web, aid, "return_plan", {"comment": "Tambahkan indikator kualitas"})
    assert r.status_code == 303
    web.login(people.u_staff)
    html = text_of(web.get(f"/appraisals/{aid}"))
    where = html[html.index('id="where"') : html.index('id="who"')]
    assert "Plan drafted" in where
    assert "Employee: <strong>Staf Pelaksana</strong>" in where
    assert "WITA" in where  # the unit's zone
    # return_plan's deadline is the cycle's plan due date, long past in this cycle.
    assert '<span class="kj-overdue">Overdue</span>' in where
    # What comes next: the definition's events from plan_drafted, the viewer's marked.
    for event in ("submit_plan", "cancel"):
        assert APPRAISAL.transitions[event].label["en"] in where
    assert where.count("kj-yours") == 1
    # Every past step, with actor, role and comment.
    history = html[html.index('id="history"') :]
    assert "Return plan" in history
    assert "Kepala Seksi (Assessor)" in history
    assert "Tambahkan indikator kualitas" in history
    assert "Plan submitted → Plan drafted" in history


def test_overdue_is_said_in_words(web, people):
    aid = appraisal_in(people, "plan_submitted")
    a = row(aid)
    a.due_at = utcnow() - timedelta(days=2)
    a.escalation_level = 1
    db.session.commit()
    web.login(people.u_kasi)
    html = text_of(web.get(f"/appraisals/{aid}"))
    assert '<span class="kj-overdue">Overdue</span>' in html
    assert "Level 1" in html


def test_a_delegated_step_names_who_acted_on_behalf_of_whom(web, people):
    from workflow_app.services import delegations
    from workflow_app.services.access import Actor

    aid = appraisal_in(people, "plan_submitted")
    today = utcnow().date()
    delegations.create_delegation(
        Actor.from_user(people.u_hr),
        {
            "delegator_id": people.kasi.id,
            "delegate_id": people.peer.id,
            "kind": "plh",
            "start_date": today,
            "end_date": today + timedelta(days=10),
            "reason": "Dinas luar",
        },
    )
    db.session.commit()
    web.login(people.u_peer)  # the acting official now holds the assessor's work
    html = text_of(web.get(f"/appraisals/{aid}"))
    assert "approve_plan" in event_forms(html)
    assert post_event(web, aid, "approve_plan", {"comment": "Disetujui Plh"}).status_code == 303
    html = text_of(web.get(f"/appraisals/{aid}"))
    history = html[html.index('id="history"') :]
    assert "Delegated to an acting official" in history
    assert "Rekan Kerja (Assessor) · on behalf of Kepala Seksi" in " ".join(history.split())
    assert "Disetujui Plh" in history


# --- each event form posts and moves the state ----------------------------------------------------


def _actor_role(event: str) -> str:
    return next(r for r in APPRAISAL.transitions[event].roles if r != "system")


@pytest.mark.parametrize("event", list(APPRAISAL.transitions))
def test_each_event_form_posts_and_moves_the_state(web, people, event):
    transition = APPRAISAL.transitions[event]
    source = transition.source[0]
    aid = appraisal_in(people, source, event)
    role = _actor_role(event)
    web.login(getattr(people, USER_OF[role]))
    html = text_of(web.get(f"/appraisals/{aid}"))
    forms = event_forms(html)
    assert event in forms, f"no form for {event} as {role}"
    assert forms[event] == set(transition.accepted_fields)
    before = row(aid).version
    r = post_event(web, aid, event, good_fields(event))
    assert r.status_code == 303, summary_of(text_of(r))
    assert r.headers["Location"] == f"/appraisals/{aid}"
    after = row(aid)
    assert after.state == transition.target(source)
    assert after.version > before
    if event == "accept_result":
        assert after.result_accepted_at is not None
    page = web.get(f"/appraisals/{aid}")
    assert "Done: " + transition.label["en"] in text_of(page)


def test_score_form_records_ratings_and_justification(web, people):
    aid = appraisal_in(people, "final_review", "score")
    web.login(people.u_kasi)
    fields = {
        "rating_hasil_kerja": "di_atas",
        "rating_perilaku": "di_atas",
        "justification": "Melampaui target",
    }
    assert post_event(web, aid, "score", fields).status_code == 303
    a = row(aid)
    assert (a.predikat, a.score_justification) == ("sangat_baik", "Melampaui target")
    html = text_of(web.get(f"/appraisals/{aid}"))
    assert "Very good" in html and "Melampaui target" in html


def test_assign_training_with_several_rows_and_blank_ones_ignored(web, people):
    aid = appraisal_in(people, "feedback_given", "assign_training")
    web.login(people.u_kasi)
    due = (utcnow() + timedelta(days=30)).date().isoformat()
    data = [
        ("version", str(row(aid).version)),
        ("trainings-0-competency", "Analisis Data"),
        ("trainings-0-hours_jp", "10"),
        ("trainings-0-due_date", due),
        ("trainings-1-competency", ""),
        ("trainings-1-hours_jp", ""),
        ("trainings-1-due_date", ""),
        ("trainings-2-competency", "Penulisan Laporan"),
        ("trainings-2-hours_jp", "8"),
        ("trainings-2-due_date", due),
    ]
    r = web.post(f"/appraisals/{aid}/events/assign_training", data)
    assert r.status_code == 303, summary_of(text_of(r))
    a = row(aid)
    assert [(t.competency, t.hours_jp) for t in a.trainings] == [
        ("Analisis Data", 10),
        ("Penulisan Laporan", 8),
    ]


def test_resolve_objection_amended_with_new_ratings(web, people):
    aid = appraisal_in(people, "objection_filed")
    web.login(people.u_kabid)
    html = text_of(web.get(f"/appraisals/{aid}"))
    assert event_forms(html) == {
        "resolve_objection": {"comment", "decision", "reasoning", "rating_hasil_kerja", "rating_perilaku"}
    }
    fields = {
        "decision": "amended",
        "reasoning": "Bukti baru",
        "rating_hasil_kerja": "di_atas",
        "rating_perilaku": "di_atas",
    }
    assert post_event(web, aid, "resolve_objection", fields).status_code == 303
    a = row(aid)
    assert (a.state, a.predikat, a.objections[-1].decision) == ("scored", "sangat_baik", "amended")
    html = text_of(web.get(f"/appraisals/{aid}"))
    objection = html[html.index('id="objection"') : html.index('id="history"')]
    assert "Tidak sesuai" in objection and "Bukti baru" in objection and "Amended: new ratings" in objection


# --- refusals: nothing changes ----------------------------------------------------------------------


def test_stale_version_is_409_with_the_message_and_nothing_changes(web, people):
    aid = appraisal_in(people, "plan_submitted")
    web.login(people.u_kasi)
    before = snapshot(aid)
    r = post_event(web, aid, "approve_plan", {"comment": "Disetujui"}, version=before[1] - 1)
    assert r.status_code == 409
    html = text_of(r)
    assert "Someone else changed this appraisal first" in summary_of(html)
    assert snapshot(aid) == before
    # The page is shown again with the current version and what was typed.
    assert f'name="version" value="{before[1]}"' in html
    assert "Disetujui</textarea>" in html


def test_a_failed_guard_is_422_with_the_message(web, people):
    aid = staff_appraisal(people).id  # plan_drafted, with no plan at all
    web.login(people.u_staff)
    before = snapshot(aid)
    r = post_event(web, aid, "submit_plan", {})
    assert r.status_code == 422
    summary = summary_of(text_of(r))
    assert "At least one main (utama) plan item is required." in summary
    assert "Behaviour expectations are missing" in summary
    assert snapshot(aid) == before


def test_a_guard_on_a_field_is_shown_by_the_field(web, people):
    aid = appraisal_in(people, "final_review", "score")
    web.login(people.u_kasi)
    before = snapshot(aid)
    r = post_event(web, aid, "score", {"rating_hasil_kerja": "di_bawah", "rating_perilaku": "sesuai"})
    assert r.status_code == 422
    html = text_of(r)
    assert (
        field_error(html, "score-justification")
        == "A rating above or below expectation needs a justification."
    )
    assert 'href="#f-score-justification"' in summary_of(html)
    assert 'aria-invalid="true"' in html
    # The chosen ratings are kept, with the predikat they give.
    assert '<option value="di_bawah" selected>' in html
    assert "Needs improvement</strong>" in html
    assert snapshot(aid) == before


@pytest.mark.parametrize(
    "state, event, fields, field_id, message",
    [
        (
            "plan_submitted",
            "approve_plan",
            {"comment": "x" * 2001},
            "approve_plan-comment",
            "Longer than maximum",
        ),
        (
            "final_review",
            "score",
            {"rating_hasil_kerja": "luar_biasa", "rating_perilaku": "sesuai"},
            "score-rating_hasil_kerja",
            "Must be one of",
        ),
        (
            "closed",
            "reopen",
            {"reason": "Koreksi", "due_date": "2026-02-30"},
            "reopen-due_date",
            "Not a valid date.",
        ),
        (
            "feedback_given",
            "assign_training",
            {"trainings": [{"competency": "Analisis", "hours_jp": "sepuluh", "due_date": "2030-01-01"}]},
            "assign_training-trainings-0-hours_jp",
            "Not a valid integer.",
        ),
        ("plan_submitted", "return_plan", {"comment": "   "}, "return_plan-comment", "Required by event"),
        ("scored", "file_objection", {}, "file_objection-reason", "Required by event"),
    ],
)
def test_bad_input_is_422_by_the_field(web, people, state, event, fields, field_id, message):
    aid = appraisal_in(people, state, event)
    web.login(getattr(people, USER_OF[_actor_role(event)]))
    before = snapshot(aid)
    r = post_event(web, aid, event, fields)
    assert r.status_code == 422, text_of(r)[:500]
    html = text_of(r)
    error = field_error(html, field_id)
    assert error and message in error, error
    assert f'href="#f-{field_id}"' in summary_of(html)
    assert f'id="f-{field_id}"' in html  # the link's target exists
    assert snapshot(aid) == before


def test_no_csrf_token_is_400_and_nothing_changes(web, people):
    aid = appraisal_in(people, "plan_submitted")
    web.login(people.u_kasi)
    before = snapshot(aid)
    r = post_event(web, aid, "approve_plan", {}, csrf=False)
    assert r.status_code == 400
    assert snapshot(aid) == before


def test_an_event_the_viewer_may_not_fire_is_refused_by_the_service(web, people):
    aid = appraisal_in(people, "plan_submitted")
    before = snapshot(aid)
    web.login(people.u_staff)
    assert "approve_plan" not in event_forms(text_of(web.get(f"/appraisals/{aid}")))
    assert post_event(web, aid, "approve_plan", {}).status_code == 403
    web.login(people.u_peer)
    assert post_event(web, aid, "approve_plan", {}).status_code == 404
    web.login(people.u_kasi)
    r = post_event(web, aid, "close", {})
    assert r.status_code == 403  # the assessor never closes
    r = post_event(web, aid, "no_such_event", {})
    assert r.status_code == 404
    assert snapshot(aid) == before


def test_an_event_not_possible_in_the_state_is_409(web, people):
    aid = appraisal_in(people, "plan_submitted")
    web.login(people.u_hr)
    before = snapshot(aid)
    r = post_event(web, aid, "open_midyear_review", {})
    assert r.status_code == 409
    assert "no longer possible" in summary_of(text_of(r))
    assert snapshot(aid) == before


def test_nul_in_a_form_is_refused(web, people):
    aid = appraisal_in(people, "plan_submitted")
    web.login(people.u_kasi)
    before = snapshot(aid)
    r = post_event(web, aid, "approve_plan", {"comment": "a\x00b"})
    assert r.status_code == 400
    assert "NUL" in text_of(r)
    assert snapshot(aid) == before


# --- the predikat, live ---------------------------------------------------------------------------


@pytest.mark.parametrize(("hasil_kerja", "perilaku"), list(MATRIX_6_2022))
def test_predikat_fragment_matches_the_matrix(web, people, hasil_kerja, perilaku):
    aid = appraisal_in(people, "final_review", "score")
    web.login(people.u_kasi)
    r = web.get(
        f"/appraisals/{aid}/predikat?rating_hasil_kerja={hasil_kerja}&rating_perilaku={perilaku}",
        headers={"HX-Request": "true", "Accept": "text/html"},
    )
    assert r.status_code == 200
    expected = MATRIX_6_2022[(hasil_kerja, perilaku)]
    assert text_of(r) == (
        f'<strong class="kj-predikat kj-predikat-{expected}">{PREDIKAT_LABELS[expected]["en"]}</strong>'
    )


def test_predikat_fragment_without_both_ratings_or_with_a_bad_one(web, people):
    aid = appraisal_in(people, "final_review", "score")
    web.login(people.u_kasi)
    r = web.get(f"/appraisals/{aid}/predikat?rating_hasil_kerja=sesuai")
    assert r.status_code == 200 and "Choose both ratings" in text_of(r)
    r = web.get(f"/appraisals/{aid}/predikat?rating_hasil_kerja=hebat&rating_perilaku=sesuai")
    assert r.status_code == 422 and "<html" not in text_of(r)


def test_score_form_asks_for_the_predikat_live_and_shows_the_matrix(web, people):
    aid = appraisal_in(people, "final_review", "score")
    web.login(people.u_kasi)
    html = text_of(web.get(f"/appraisals/{aid}"))
    form = FORM.search(html).group(0)
    assert f'hx-get="/appraisals/{aid}/predikat"' in form and 'hx-trigger="change"' in form
    assert 'hx-target="#predikat-score"' in form
    assert '<output id="predikat-score" aria-live="polite"' in form
    matrix = form[form.index('<table class="table table-sm kj-matrix">') :]
    for predikat in set(MATRIX_6_2022.values()):
        assert PREDIKAT_LABELS[predikat]["en"] in matrix


# --- trainings, evidence, links ----------------------------------------------------------------------


def test_employee_completes_a_training_and_hr_records_one(web, people):
    aid = appraisal_in(people, "training_assigned")
    tid = row(aid).trainings[0].id
    web.login(people.u_staff)
    html = text_of(web.get(f"/appraisals/{aid}"))
    assert f'action="/appraisals/{aid}/trainings/{tid}"' in html
    assert 'value="recorded"' not in html
    data = {"version": row(aid).version, "status": "completed", "evidence": "Sertifikat 12"}
    r = web.post(f"/appraisals/{aid}/trainings/{tid}", data)
    assert r.status_code == 303
    t = row(aid).trainings[0]
    assert (t.status, t.evidence) == ("completed", "Sertifikat 12")
    # HR may record; the employee may not.
    web.login(people.u_staff)
    r = web.post(f"/appraisals/{aid}/trainings/{tid}", {"version": row(aid).version, "status": "recorded"})
    assert r.status_code == 403
    # Settled once: HR cannot overwrite the employee's completion (the service refuses, 409).
    web.login(people.u_hr)
    r = web.post(f"/appraisals/{aid}/trainings/{tid}", {"version": row(aid).version, "status": "recorded"})
    assert r.status_code == 409
    assert "already completed this training" in summary_of(text_of(r))
    assert row(aid).trainings[0].status == "completed"


def test_hr_records_a_training_still_open(web, people):
    aid = appraisal_in(people, "training_assigned")
    tid = row(aid).trainings[0].id
    web.login(people.u_hr)
    r = web.post(f"/appraisals/{aid}/trainings/{tid}", {"version": row(aid).version, "status": "recorded"})
    assert r.status_code == 303
    assert row(aid).trainings[0].status == "recorded"


def test_training_update_with_a_stale_version_is_409(web, people):
    aid = appraisal_in(people, "training_assigned")
    tid = row(aid).trainings[0].id
    web.login(people.u_staff)
    before = snapshot(aid)
    r = web.post(f"/appraisals/{aid}/trainings/{tid}", {"version": before[1] - 1, "status": "completed"})
    assert r.status_code == 409
    assert "Someone else changed" in summary_of(text_of(r))
    assert snapshot(aid) == before


def test_evidence_links_do_not_leak_the_page(web, people):
    aid = appraisal_in(people, "final_review", "score")
    a = row(aid)
    a.plan_items[0].evidence = ["https://arsip.example.go.id/1", "javascript:alert(1)"]
    db.session.commit()
    web.login(people.u_staff)
    html = text_of(web.get(f"/appraisals/{aid}"))
    assert '<a href="https://arsip.example.go.id/1" rel="noopener noreferrer"' in html
    assert 'href="javascript:' not in html


def test_edit_links_follow_the_read_model(web, people):
    aid = appraisal_in(people, "plan_drafted")
    web.login(people.u_staff)
    assert f'href="/appraisals/{aid}/plan"' in text_of(web.get(f"/appraisals/{aid}"))
    web.login(people.u_hr)
    assert f'href="/appraisals/{aid}/plan"' not in text_of(web.get(f"/appraisals/{aid}"))
    aid = appraisal_in(people, "midyear_review")
    web.login(people.u_staff)
    html = text_of(web.get(f"/appraisals/{aid}"))
    assert f'href="/appraisals/{aid}/progress"' in html and f'href="/appraisals/{aid}/plan"' not in html


def test_page_has_no_inline_script_or_style(web, people):
    aid = appraisal_in(people, "final_review", "score")
    web.login(people.u_kasi)
    html = text_of(web.get(f"/appraisals/{aid}"))
    assert "<script>" not in html and " style=" not in html and not re.search(r"\son\w+=", html)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids"
    for target in re.findall(r'<label class="form-label" for="([^"]+)"', html):
        assert target in ids


HOSTILE = ["", "１２", "99999999999999999999", "<script>", "x" * 6000, "2026-13-40"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "state, user", [("training_assigned", "u_hr"), ("plan_drafted", "u_staff"), ("midyear_review", "u_staff")]
)
def test_hostile_forms_never_give_a_500(web, people, state, user):
    """Every form of the area, filled with nonsense: always a page with 4xx (or a redirect)."""
    aid = appraisal_in(people, "training_assigned")
    tid = row(aid).trainings[0].id
    put_in_state(row(aid), state)
    web.login(getattr(people, user))
    names = ["version", "comment", "reason", "feedback", "reasoning", "justification", "decision"]
    names += ["rating_hasil_kerja", "rating_perilaku", "due_date", "status", "evidence", "action"]
    names += ["trainings-0-competency", "trainings-0-hours_jp", "trainings-0-due_date", "trainings-99999-x"]
    names += ["items-0-rhk", "items-0-kind", "items-0-item_id", "items-0-evidence", "items-0-realisation"]
    names += ["behaviours-akuntabel", "behaviours-unknown", "items-9999-rhk"]
    paths = [f"/appraisals/{aid}/events/{e}" for e in APPRAISAL.transitions]
    paths += [f"/appraisals/{aid}/trainings/{tid}", f"/appraisals/{aid}/plan", f"/appraisals/{aid}/progress"]
    for path in paths:
        for value in HOSTILE:
            r = web.post(path, [(name, value) for name in names])
            assert r.status_code < 500 and r.mimetype == "text/html", (path, value, r.status_code)
    for value in HOSTILE:
        r = web.get(
            f"/appraisals/{aid}/predikat",
            query_string={"rating_hasil_kerja": value, "rating_perilaku": value},
        )
        assert r.status_code in (200, 422), (value, r.status_code)


def test_steps_forward_come_first_and_steps_back_are_quieter(web, people):
    aid = appraisal_in(people, "plan_submitted")
    web.login(people.u_kasi)
    html = text_of(web.get(f"/appraisals/{aid}"))
    approve = html.index(f'action="/appraisals/{aid}/events/approve_plan"')
    back = html.index(f'action="/appraisals/{aid}/events/return_plan"')
    assert approve < back
    return_form = html[back : html.index("</form>", back)]
    assert "btn-outline-primary" in return_form and "btn-primary" not in return_form.replace(
        "btn-outline-primary", ""
    )
