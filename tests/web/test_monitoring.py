"""HR's monitoring page, its interventions and CSV export, and the cycle page (test client)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from tests import factories
from tests.test_lifecycle import launch, staff_appraisal
from tests.web.conftest import text_of
from workflow_app.clock import end_of_local_day, local_today, utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Cycle, Incident, TransitionLog

ROLES = ("u_staff", "u_kasi", "u_kabid", "u_peer", "u_hr", "u_hr_other", "u_admin", "u_outsider")


@pytest.fixture
def cycle(api, org):
    """A launched cycle whose 6 appraisals are all on time (the tests make one stuck)."""
    cycle, _ = launch(api, org)
    for a in db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle.id)):
        a.due_at = utcnow() + timedelta(days=10)
    db.session.commit()
    return cycle


@pytest.fixture
def aid(org, cycle):
    return staff_appraisal(org, cycle)


def sign_in(web, user) -> None:
    """Sign in, and take the CSRF token from a page of this area (any page carries one).

    The ``app`` fixture holds one app context for the whole test, so ``g`` (where Flask-WTF
    caches the token it generated) outlives each request: forget the token of the signed-out
    session, or the next page repeats it without storing it in the new session.
    """
    web.login(user)
    g.pop("csrf_token", None)
    web._token = web.csrf_of(text_of(web.get("/state-machines")))


def make_stuck(aid: int, days: int = 3) -> Appraisal:
    """Put the appraisal past its due date, idle for a while."""
    a = db.session.get(Appraisal, aid)
    a.due_at = utcnow() - timedelta(days=days)
    a.state_entered_at = utcnow() - timedelta(days=days + 20)
    db.session.commit()
    return a


def log_events(aid: int) -> list[str]:
    return list(
        db.session.scalars(
            select(TransitionLog.event)
            .where(TransitionLog.entity == "appraisal", TransitionLog.entity_id == aid)
            .order_by(TransitionLog.seq)
        )
    )


def version_of(aid: int) -> int:
    db.session.expire_all()
    return db.session.get(Appraisal, aid).version


# --- who sees the pages ---------------------------------------------------------------------------


def test_monitoring_needs_a_session(web, org):
    r = web.get("/monitoring")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/monitoring")


@pytest.mark.parametrize("who", ROLES)
def test_monitoring_is_for_hr_and_admins_only(web, org, cycle, who):
    sign_in(web, getattr(org, who))
    r = web.get("/monitoring")
    if who in ("u_hr", "u_hr_other", "u_admin"):
        assert r.status_code == 200, text_of(r)[:500]
        assert "<h1>Monitoring</h1>" in text_of(r)
    else:
        assert r.status_code == 403
        assert "text/html" in r.content_type and "Error 403" in text_of(r)


@pytest.mark.parametrize("who", ROLES)
def test_the_intervention_page_follows_the_same_rules(web, org, aid, who):
    sign_in(web, getattr(org, who))
    r = web.get(f"/monitoring/appraisals/{aid}")
    expected = {"u_hr": 200, "u_admin": 200, "u_hr_other": 404}.get(who, 403)
    assert r.status_code == expected, (who, r.status_code)
    body = text_of(r)
    if who == "u_hr":
        for heading in ("Nudge the holder", "Change the deadline", "Reassign", "Cancel the appraisal"):
            assert heading in body
    if who == "u_admin":  # sees, may not act
        assert "not act on it" in body and 'action="/monitoring/appraisals' not in body


def test_hr_page_shows_the_funnel_units_charts_and_stuck_list(web, org, cycle, aid):
    make_stuck(aid)
    sign_in(web, org.u_hr)
    r = web.get("/monitoring")
    body = text_of(r)
    assert r.status_code == 200
    # the current cycle is chosen, and can be changed
    assert f'<option value="{cycle.id}" selected>' in body
    # three SVG charts, each labelled, each with a table beside it
    for chart in ("chart-states", "chart-ageing"):
        assert f'role="img" aria-labelledby="{chart}-title {chart}-desc"' in body
        assert f'<title id="{chart}-title">' in body
    assert body.count("<table") >= 3
    assert "style=" not in body and "<script>" not in body  # CSP: nothing inline
    # the funnel's table: 6 appraisals launched, all drafted
    assert re.search(r"Plan drafted</span></th>\s*<td[^>]*>6</td>", body)
    # the units one level below HR's dinas: the dinas itself and its bidang (with the seksi in it)
    assert "Bidang Pelayanan Kesehatan" in body and "(this unit itself)" in body
    # the stuck row: link to the appraisal, who holds it, its escalation and the actions
    assert f'href="/appraisals/{aid}"' in body
    assert f'action="/monitoring/appraisals/{aid}/nudge"' in body
    assert "Staf Pelaksana" in body and "kj-overdue" in body


def test_a_cycle_outside_scope_or_a_bad_filter_is_a_form_error(web, org, cycle):
    other = factories.cycle(org.other)
    db.session.commit()
    sign_in(web, org.u_hr)
    r = web.get(f"/monitoring?cycle={other.id}")
    assert r.status_code == 422
    assert "No cycle with that id is in your scope." in text_of(r)
    for query in ("state=bogus", "unit=abc", "page=0", f"unit={org.other.id}", "overdue=maybe"):
        r = web.get(f"/monitoring?{query}")
        assert r.status_code == 422, query
        assert "kj-error-summary" in text_of(r)


def test_unit_filter_drills_down_and_keeps_the_trail(web, org, cycle, aid):
    make_stuck(aid)
    sign_in(web, org.u_hr)
    body = text_of(web.get(f"/monitoring?unit={org.bidang.id}"))
    assert "Seksi Rujukan" in body  # the unit below the bidang
    assert 'aria-current="page">' in body and "breadcrumb" in body
    assert f"unit={org.dinas.id}" in body  # the way back up
    # a unit outside HR's scope is refused, not shown
    assert web.get(f"/monitoring?unit={org.other.id}").status_code == 422


def test_stuck_list_filters_by_state_and_overdue_and_paginates(web, org, cycle, aid):
    make_stuck(aid)
    sign_in(web, org.u_hr)
    body = text_of(web.get("/monitoring?state=plan_drafted&overdue=true"))
    assert f'href="/appraisals/{aid}"' in body
    body = text_of(web.get("/monitoring?state=plan_submitted"))
    assert "Nothing is stuck here." in body
    # every appraisal stuck: 6 rows, 25 a page, still one page; links keep the filters
    for a in db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle.id)):
        make_stuck(a.id)
    body = text_of(web.get("/monitoring?overdue=true"))
    assert body.count('<tr id="row-') == 6
    assert "overdue=true" in body  # the CSV link carries the filter


def test_closed_state_lists_closed_appraisals_for_reopening(web, org, cycle, aid):
    a = db.session.get(Appraisal, aid)
    a.state = "closed"
    db.session.commit()
    sign_in(web, org.u_hr)
    body = text_of(web.get("/monitoring?state=closed"))
    assert f'href="/appraisals/{aid}"' in body
    body = text_of(web.get(f"/monitoring/appraisals/{aid}"))
    assert f'action="/monitoring/appraisals/{aid}/reopen"' in body
    assert "/nudge" not in body and "/cancel" not in body


# --- CSV -------------------------------------------------------------------------------------


def read_csv(r) -> list[list[str]]:
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_exports_the_list_with_the_same_filters(web, org, cycle, aid):
    make_stuck(aid)
    sign_in(web, org.u_hr)
    rows = read_csv(web.get("/monitoring/stuck.csv?overdue=true"))
    assert rows[0][:4] == ["Appraisal", "Employee", "NIP", "Unit"]
    assert len(rows) == 2 and rows[1][0] == str(aid)
    assert rows[1][1] == "Staf Pelaksana" and rows[1][5] == "plan_drafted"
    assert rows[1][-1].endswith(f"/appraisals/{aid}")
    assert read_csv(web.get("/monitoring/stuck.csv?state=plan_submitted")) == [rows[0]]


def test_csv_guards_against_formula_injection(web, org, cycle, aid):
    make_stuck(aid)
    org.staff.name = '=HYPERLINK("http://evil.example","x")'
    org.seksi.name = "+SUM(A1:A2)"
    db.session.commit()
    sign_in(web, org.u_hr)
    rows = read_csv(web.get("/monitoring/stuck.csv"))
    row = next(r for r in rows if r[0] == str(aid))
    assert row[1] == '\'=HYPERLINK("http://evil.example","x")'
    assert row[3] == "'+SUM(A1:A2)"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("Budi", "Budi"),
        ("Budi;=1+1", "'Budi;=1+1"),
        ("Budi; @cmd", "'Budi; @cmd"),
        ("Kasi; Seksi Rujukan", "Kasi; Seksi Rujukan"),
        (7, 7),
        (None, ""),
    ],
)
def test_csv_cell(value, cell):
    from workflow_app.web.pages.monitoring import csv_cell

    assert csv_cell(value) == cell


@pytest.mark.parametrize("who", ("u_staff", "u_kasi"))
def test_csv_is_refused_to_others(web, org, cycle, who):
    sign_in(web, getattr(org, who))
    assert web.get("/monitoring/stuck.csv").status_code == 403


# --- the actions ------------------------------------------------------------------------------


def test_nudge_from_the_list_redirects_back_and_is_audited(web, org, cycle, aid):
    make_stuck(aid)
    sign_in(web, org.u_hr)
    r = web.post(f"/monitoring/appraisals/{aid}/nudge", {"next": "/monitoring?overdue=true"})
    assert r.status_code == 302 and r.headers["Location"] == "/monitoring?overdue=true"
    assert log_events(aid)[-1] == "nudge"
    # a second nudge within the hour: the refusal is shown, nothing is written
    r = web.post(f"/monitoring/appraisals/{aid}/nudge", {"next": "/monitoring"})
    assert r.status_code == 409
    assert "less than an hour ago" in text_of(r)
    assert log_events(aid).count("nudge") == 1


def test_nudge_with_htmx_answers_a_fragment(web, org, cycle, aid):
    sign_in(web, org.u_hr)
    headers = {"HX-Request": "true", "Accept": "text/html"}
    r = web.post(f"/monitoring/appraisals/{aid}/nudge", {"fragment": "row"}, headers=headers)
    assert r.status_code == 200 and "The holder was reminded." in text_of(r)
    assert "<html" not in text_of(r)
    r = web.post(f"/monitoring/appraisals/{aid}/nudge", {"fragment": "row"}, headers=headers)
    assert r.status_code == 200 and 'role="alert"' in text_of(r)


def test_extend_changes_the_deadline(web, org, cycle, aid):
    make_stuck(aid)
    sign_in(web, org.u_hr)
    new_day = local_today("WITA") + timedelta(days=7)
    r = web.post(
        f"/monitoring/appraisals/{aid}/extend",
        {"version": str(version_of(aid)), "due_date": new_day.isoformat(), "reason": "Sakit"},
    )
    assert r.status_code == 302 and r.headers["Location"] == f"/monitoring/appraisals/{aid}"
    a = db.session.get(Appraisal, aid)
    assert a.due_at == end_of_local_day(new_day, "WITA") and a.escalation_level == 0
    assert log_events(aid)[-1] == "deadline_extended"
    body = text_of(web.get(f"/monitoring/appraisals/{aid}"))
    assert "The deadline was changed." in body  # the flash after the redirect


@pytest.mark.parametrize(
    ("form", "status", "field"),
    [
        ({"due_date": "past", "reason": "x"}, 422, "due_date"),
        ({"due_date": "2001-01-01", "reason": "x"}, 422, "due_date"),
        ({"due_date": "", "reason": "x"}, 422, "due_date"),
        ({"due_date": "tomorrow", "reason": ""}, 422, "reason"),
        ({"due_date": "tomorrow", "reason": "x", "version": "abc"}, 422, "version"),
        ({"due_date": "tomorrow", "reason": "x", "version": "99"}, 409, None),
    ],
)
def test_extend_refuses_bad_input_with_field_errors(web, org, cycle, aid, form, status, field):
    sign_in(web, org.u_hr)
    tomorrow = (local_today("WITA") + timedelta(days=1)).isoformat()
    yesterday = (local_today("WITA") - timedelta(days=1)).isoformat()
    data = {"version": str(version_of(aid))} | form
    data["due_date"] = {"tomorrow": tomorrow, "past": yesterday}.get(data["due_date"], data["due_date"])
    before = version_of(aid)
    r = web.post(f"/monitoring/appraisals/{aid}/extend", data)
    assert r.status_code == status, text_of(r)[:300]
    body = text_of(r)
    assert 'class="alert alert-danger kj-error-summary"' in body
    if field in ("due_date", "reason"):
        assert f'id="f-extend-{field}-error"' in body and f'href="#f-extend-{field}"' in body
    if status == 409:
        assert "Someone else changed this appraisal first" in body
    assert version_of(aid) == before and "deadline_extended" not in log_events(aid)


def test_reassign_from_the_intervention_page(web, org, cycle, aid):
    sign_in(web, org.u_hr)
    body = text_of(web.get(f"/monitoring/appraisals/{aid}"))
    # the nearest people are suggested as the new assessor; the appraisee is not
    assert f'<option value="{org.peer.id}"' in body and f'<option value="{org.staff.id}"' not in body
    r = web.post(
        f"/monitoring/appraisals/{aid}/reassign",
        {"version": str(version_of(aid)), "assessor_id": str(org.kabid.id), "reason": "Kasi mutasi"},
    )
    assert r.status_code == 302, text_of(r)[:400]
    assert db.session.get(Appraisal, aid).assessor_id == org.kabid.id
    assert log_events(aid)[-1] == "reassign"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"assessor_id": "", "reason": "x"}, "assessor_id"),
        ({"assessor_id": "abc", "reason": "x"}, "assessor_id"),
        ({"assessor_id": "999999", "reason": "x"}, "assessor_id"),
        ({"assessor_id": "self", "reason": "x"}, "assessor_id"),
        ({"assessor_id": "kabid", "reason": ""}, "reason"),
    ],
)
def test_reassign_refuses_bad_input(web, org, cycle, aid, form, field):
    sign_in(web, org.u_hr)
    form = dict(form)
    form["assessor_id"] = {"self": str(org.staff.id), "kabid": str(org.kabid.id)}.get(
        form["assessor_id"], form["assessor_id"]
    )
    before = version_of(aid)
    r = web.post(f"/monitoring/appraisals/{aid}/reassign", {"version": str(before), **form})
    assert r.status_code == 422
    assert f'id="f-reassign-{field}-error"' in text_of(r)
    assert version_of(aid) == before


def test_cancel_needs_a_reason_then_cancels(web, org, cycle, aid):
    sign_in(web, org.u_hr)
    r = web.post(f"/monitoring/appraisals/{aid}/cancel", {"version": str(version_of(aid)), "reason": ""})
    assert r.status_code == 422 and 'id="f-cancel-reason-error"' in text_of(r)
    assert db.session.get(Appraisal, aid).state == "plan_drafted"
    r = web.post(
        f"/monitoring/appraisals/{aid}/cancel", {"version": str(version_of(aid)), "reason": "Pensiun"}
    )
    assert r.status_code == 302
    assert db.session.get(Appraisal, aid).state == "cancelled"
    # nothing left to do on a cancelled appraisal
    r = web.post(f"/monitoring/appraisals/{aid}/nudge", {})
    assert r.status_code == 409 and "only an open appraisal" in text_of(r)


def test_reopen_a_closed_appraisal(web, org, cycle, aid):
    a = db.session.get(Appraisal, aid)
    a.state = "closed"
    db.session.commit()
    sign_in(web, org.u_hr)
    v = str(version_of(aid))
    r = web.post(f"/monitoring/appraisals/{aid}/reopen", {"version": v, "reason": "Salah input"})
    assert r.status_code == 422 and "due_date" in text_of(r)
    due = (local_today("WITA") + timedelta(days=5)).isoformat()
    r = web.post(
        f"/monitoring/appraisals/{aid}/reopen", {"version": v, "reason": "Salah input", "due_date": due}
    )
    assert r.status_code == 302, text_of(r)[:400]
    assert db.session.get(Appraisal, aid).state == "final_review"


def test_the_act_panel_answers_htmx_with_a_fragment(web, org, cycle, aid):
    sign_in(web, org.u_hr)
    headers = {"HX-Request": "true", "Accept": "text/html"}
    r = web.post(f"/monitoring/appraisals/{aid}/extend", {"version": "1", "reason": "x"}, headers=headers)
    body = text_of(r)
    assert r.status_code == 200 and body.lstrip().startswith('<div id="act-panel">')
    assert 'id="f-extend-due_date-error"' in body


@pytest.mark.parametrize("action", ["nudge", "extend", "reassign", "cancel", "reopen"])
def test_actions_without_csrf_are_refused_and_change_nothing(web, org, cycle, aid, action):
    sign_in(web, org.u_hr)
    before, events = version_of(aid), log_events(aid)
    r = web.post(
        f"/monitoring/appraisals/{aid}/{action}",
        {
            "version": str(before),
            "reason": "x",
            "due_date": local_today().isoformat(),
            "assessor_id": str(org.kabid.id),
        },
        csrf=False,
    )
    assert r.status_code == 400
    assert version_of(aid) == before and log_events(aid) == events


@pytest.mark.parametrize(
    ("who", "status"), [("u_staff", 403), ("u_kasi", 403), ("u_hr_other", 404), ("u_peer", 404)]
)
def test_actions_of_others_are_refused(web, org, cycle, aid, who, status):
    sign_in(web, getattr(org, who))
    form = {"version": "1", "reason": "x", "due_date": local_today().isoformat()}
    for action in ("nudge", "extend", "cancel"):
        r = web.post(f"/monitoring/appraisals/{aid}/{action}", form)
        assert r.status_code == status, (action, r.status_code)
    assert log_events(aid)[-1:] != ["nudge"] and db.session.get(Appraisal, aid).state == "plan_drafted"


def test_unknown_action_and_appraisal_are_404(web, org, cycle, aid):
    sign_in(web, org.u_hr)
    assert web.post(f"/monitoring/appraisals/{aid}/delete", {}).status_code == 404
    assert web.post("/monitoring/appraisals/999999/nudge", {}).status_code == 404
    assert web.get("/monitoring/appraisals/999999").status_code == 404


# --- incidents --------------------------------------------------------------------------------


def incident(org) -> Incident:
    row = Incident(
        kind="email_delivery",
        ref_type="notification",
        ref_id=1,
        error="SMTP down",
        attempts=5,
        unit_id=org.seksi.id,
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_incidents_are_listed_and_retried(web, org, cycle):
    row = incident(org)
    sign_in(web, org.u_hr)
    body = text_of(web.get("/monitoring"))
    assert "SMTP down" in body and f'action="/monitoring/incidents/{row.id}/retry"' in body
    assert web.post(f"/monitoring/incidents/{row.id}/retry", {}, csrf=False).status_code == 400
    assert db.session.get(Incident, row.id).resolved_at is None
    r = web.post(f"/monitoring/incidents/{row.id}/retry", {"next": "/monitoring#incidents"})
    assert r.status_code == 302 and r.headers["Location"] == "/monitoring#incidents"
    db.session.expire_all()
    assert db.session.get(Incident, row.id).resolved_at is not None
    # again: already resolved, shown as an error on the page
    r = web.post(f"/monitoring/incidents/{row.id}/retry", {})
    assert r.status_code == 409 and "already resolved" in text_of(r)


def test_incidents_of_others_are_not_found(web, org, cycle):
    row = incident(org)
    sign_in(web, org.u_hr_other)
    assert "SMTP down" not in text_of(web.get("/monitoring"))
    assert web.post(f"/monitoring/incidents/{row.id}/retry", {}).status_code == 404
    sign_in(web, org.u_staff)
    assert web.post(f"/monitoring/incidents/{row.id}/retry", {}).status_code == 403


# --- the cycle page ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_cycle_page_is_shown_as_the_api_shows_the_cycle(web, api, org, cycle, who):
    user = getattr(org, who)
    api_status = api.get(f"/api/v1/cycles/{cycle.id}", user).status_code
    sign_in(web, user)
    r = web.get(f"/cycles/{cycle.id}")
    assert r.status_code == api_status, (who, r.status_code, api_status)
    if r.status_code == 200:
        body = text_of(r)
        assert f"<h1>{cycle.name}</h1>" in body and "Scoring window" in body
        assert ("events/open_midyear" in body) == (who == "u_hr")
        # who launched it, with HR's comments: for HR and admins over the cycle only
        assert ('id="history-h"' in body) == (who in ("u_hr", "u_admin"))


def test_cycle_page_shows_history_and_fires_events(web, org, cycle):
    sign_in(web, org.u_hr)
    body = text_of(web.get(f"/cycles/{cycle.id}"))
    assert "Launch" in body and "6 appraisals created" in body
    # planning → midyear: the mid-year window of the test cycle is open
    db.session.expire_all()
    v = db.session.get(Cycle, cycle.id).version
    assert (
        web.post(f"/cycles/{cycle.id}/events/open_midyear", {"version": str(v)}, csrf=False).status_code
        == 400
    )
    r = web.post(f"/cycles/{cycle.id}/events/open_midyear", {"version": str(v - 1)})
    assert r.status_code == 409 and "kj-error-summary" in text_of(r)
    r = web.post(f"/cycles/{cycle.id}/events/open_midyear", {"version": str(v), "comment": "Jadwal"})
    assert r.status_code == 302 and r.headers["Location"] == f"/cycles/{cycle.id}"
    db.session.expire_all()
    assert db.session.get(Cycle, cycle.id).state == "midyear"
    r = web.post(f"/cycles/{cycle.id}/events/bogus", {"version": str(v + 1)})
    assert r.status_code == 404


def test_closing_a_cycle_with_open_appraisals_needs_force_and_reason(web, org, cycle):
    c = db.session.get(Cycle, cycle.id)
    c.state = "assessment"
    db.session.commit()
    sign_in(web, org.u_hr)
    v = str(version_of_cycle(cycle.id))
    r = web.post(f"/cycles/{cycle.id}/events/close", {"version": v})
    assert r.status_code == 422 and "still open" in text_of(r)
    r = web.post(f"/cycles/{cycle.id}/events/close", {"version": v, "force": "true", "reason": ""})
    assert r.status_code == 422 and 'id="f-close-reason-error"' in text_of(r)
    r = web.post(f"/cycles/{cycle.id}/events/close", {"version": v, "force": "true", "reason": "Akhir tahun"})
    assert r.status_code == 302
    assert db.session.get(Cycle, cycle.id).state == "closed"


def version_of_cycle(cycle_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Cycle, cycle_id).version


def test_unknown_cycle_is_404(web, org):
    sign_in(web, org.u_hr)
    assert web.get("/cycles/999999").status_code == 404


def test_admin_sees_the_list_but_no_action_and_hr_held_rows_have_no_nudge(web, org, cycle, aid):
    make_stuck(aid)
    sign_in(web, org.u_admin)
    body = text_of(web.get("/monitoring"))
    assert f'href="/appraisals/{aid}"' in body and "/nudge" not in body
    # the appraisal waits on HR (plan approved): nothing to nudge, the other actions stay
    a = db.session.get(Appraisal, aid)
    a.state = "plan_approved"
    db.session.commit()
    sign_in(web, org.u_hr)
    body = text_of(web.get("/monitoring"))
    assert (
        f'href="/monitoring/appraisals/{aid}?' in body and f"/monitoring/appraisals/{aid}/nudge" not in body
    )
    body = text_of(web.get(f"/monitoring/appraisals/{aid}"))
    assert "Nudge the holder" not in body and "Change the deadline" in body


def test_hr_of_another_unit_sees_none_of_it(web, org, cycle, aid):
    make_stuck(aid)
    sign_in(web, org.u_hr_other)
    body = text_of(web.get("/monitoring"))
    assert "Staf Pelaksana" not in body and "Nothing is stuck here." in body
    rows = read_csv(web.get("/monitoring/stuck.csv"))
    assert len(rows) == 1


def test_the_export_reads_in_batches_in_the_pages_order(app, org, cycle):
    from workflow_app.services import views
    from workflow_app.services.access import Actor

    for a in db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle.id)):
        make_stuck(a.id, days=a.id)
    hr = Actor.from_user(org.u_hr)
    shown = [r["id"] for r in views.attention_page(hr, {"cycle": cycle.id}, 1, 50)["items"]]
    assert len(shown) == 6
    assert [r["id"] for r in views.attention_export(hr, {}, limit=5, batch=2)] == shown[:5]
    assert [r["id"] for r in views.attention_export(hr, {}, batch=4)] == shown


def test_a_refused_form_keeps_its_own_values_only(web, org, cycle, aid):
    sign_in(web, org.u_hr)
    r = web.post(f"/monitoring/appraisals/{aid}/extend", {"version": "1", "reason": "Sakit keras"})
    body = text_of(r)
    assert r.status_code == 422
    assert body.count("Sakit keras") == 1  # in the extend form, not in reassign or cancel


def test_a_service_message_shows_its_parameters(web, org, cycle, aid):
    sign_in(web, org.u_hr)
    assert web.post(f"/monitoring/appraisals/{aid}/nudge", {}).status_code == 302
    body = text_of(web.post(f"/monitoring/appraisals/{aid}/nudge", {}))
    assert "{minutes}" not in body and re.search(r"try again in \d+ minutes", body)


def test_a_scope_of_several_trees_shows_one_row_per_tree(web, org, cycle):
    two = factories.user("hr_two", None, roles=[("hr", org.bidang), ("hr", org.other)])
    factories.employee("Staf Dishub", org.other)
    db.session.commit()
    sign_in(web, two)
    body = text_of(web.get("/monitoring"))
    assert "Bidang Pelayanan Kesehatan" in body and "breadcrumb" not in body
    # the bidang's appraisals (its own and its seksi's) count toward the bidang's row
    assert re.search(r"Bidang Pelayanan Kesehatan</a>\s*</th>\s*<td[^>]*>4</td>", body), body[:200]
