"""The inbox (/), bulk approve and return (/bulk), and the notifications page (/notifications)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import drain
from tests.test_lifecycle import launch
from tests.web.conftest import text_of
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Notification, TransitionLog


def appraisal_id(cycle, employee) -> int:
    return db.session.scalar(
        select(Appraisal.id).where(Appraisal.cycle_id == cycle.id, Appraisal.employee_id == employee.id)
    )


def submit_plan(api, user, aid):
    v = api.appraisal(aid, user)["version"]
    r = api.put(f"/api/v1/appraisals/{aid}/plan", user, json=factories.plan_body(v))
    assert r.status_code == 200, r.get_json()
    r = api.fire(aid, "submit_plan", user)
    assert r.status_code == 200, r.get_json()


@pytest.fixture
def submitted(api, org):
    """Two plans waiting on the assessor (kasi): the staff member's and the peer's."""
    cycle, _ = launch(api, org)
    ids = {
        "staff": appraisal_id(cycle, org.staff),
        "peer": appraisal_id(cycle, org.peer),
        "kasi": appraisal_id(cycle, org.kasi),
    }
    submit_plan(api, org.u_staff, ids["staff"])
    submit_plan(api, org.u_peer, ids["peer"])
    return cycle, ids


def state_of(aid) -> str:
    db.session.expire_all()
    return db.session.get(Appraisal, aid).state


def log_count() -> int:
    return db.session.scalar(select(func.count()).select_from(TransitionLog))


def main_of(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def rows_of(html: str) -> list[int]:
    """The appraisal ids of the inbox's rows, in order."""
    table = html[html.index('id="f-ids"') :]
    table = table[: table.index("</table>")]
    return [int(i) for i in re.findall(r'<a href="/appraisals/(\d+)"', table)]


# --- who sees what -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/notifications", "/notifications?unread=true"])
def test_anonymous_is_sent_to_sign_in_and_back(web, org, path):
    r = web.get(path)
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith("/login?next=") and unquote(location.removeprefix("/login?next=")) == path
    page = web.get(location)
    assert page.status_code == 200 and f'value="{path.replace("&", "&amp;")}"' in text_of(page)
    r = web.client.post(
        "/login",
        data={
            "username": org.u_staff.username,
            "password": factories.PASSWORD,
            "next": path,
            "csrf_token": web.csrf_of(text_of(page)),
        },
    )
    assert r.status_code == 302 and r.headers["Location"] == path
    assert web.get(path).status_code == 200


def test_anonymous_post_to_bulk_goes_to_sign_in_and_changes_nothing(web, org, submitted):
    _, ids = submitted
    r = web.post("/bulk", {"event": "approve_plan", "ids": ids["staff"]})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    assert state_of(ids["staff"]) == "plan_submitted"


def test_employee_sees_their_own_plan_with_due_date_days_left_and_level(web, org, submitted):
    cycle, ids = submitted
    db.session.get(Appraisal, ids["kasi"]).escalation_level = 2
    db.session.commit()
    web.login(org.u_kasi)
    html = text_of(web.get("/"))
    main = main_of(html)
    # Overdue first: the assessor's own plan (never drafted, due long ago), then the two plans.
    assert rows_of(html) == [ids["kasi"], ids["staff"], ids["peer"]]
    assert "my own appraisal" in main
    assert "Overdue" in main and "working days late" in main
    assert "Level 2" in main
    assert "WITA" in main  # the seksi's zone
    assert "5 working days" in main  # submit_plan gives the assessor 5 working days
    assert "Return plan, Approve plan" in main


def test_employee_has_no_bulk_form_for_their_own_plan(web, org, submitted):
    _, ids = submitted
    web.login(org.u_staff)
    r = web.get("/")
    assert r.status_code == 200
    main = main_of(text_of(r))
    assert "Waiting on me" in main
    assert 'name="ids"' not in main and 'action="/bulk"' not in main
    assert "Nothing waits on you right now." in main  # the plan was submitted: it waits on kasi
    assert f"/appraisals/{ids['staff']}" not in main


def test_a_drafting_employee_sees_their_plan(web, org, api):
    cycle, _ = launch(api, org)
    aid = appraisal_id(cycle, org.staff)
    web.login(org.u_staff)
    main = main_of(text_of(web.get("/")))
    assert f'href="/appraisals/{aid}"' in main
    assert "Submit plan" in main and 'name="ids"' not in main and 'name="event"' not in main


def test_assessor_is_offered_the_events_every_selectable_row_allows(web, org, submitted):
    _, ids = submitted
    web.login(org.u_kasi)
    main = main_of(text_of(web.get("/")))
    assert f'name="ids" value="{ids["staff"]}"' in main and f'name="ids" value="{ids["peer"]}"' in main
    assert f'name="ids" value="{ids["kasi"]}"' not in main  # their own plan: only submit_plan
    assert 'value="approve_plan"' in main and 'value="return_plan"' in main
    assert "Required for: Return plan." in main


@pytest.mark.parametrize("who", ["u_hr", "u_hr_other", "u_admin"])
def test_hr_and_admin_get_a_working_inbox_with_a_link_to_monitoring(web, org, submitted, who):
    web.login(getattr(org, who))
    r = web.get("/")
    assert r.status_code == 200
    main = main_of(text_of(r))
    assert 'href="/monitoring"' in main
    if who != "u_hr":  # no employee record
        assert "not linked to an employee record" in main
        assert "Nothing waits on you right now." in main


def test_an_employee_has_no_monitoring_link_in_the_inbox(web, org, submitted):
    web.login(org.u_peer)
    assert 'href="/monitoring"' not in main_of(text_of(web.get("/")))


# --- filters ---------------------------------------------------------------------------------


def test_filters_by_state_unit_and_overdue(web, org, submitted):
    _, ids = submitted
    web.login(org.u_kasi)
    assert rows_of(text_of(web.get("/?state=plan_submitted"))) == [ids["staff"], ids["peer"]]
    assert rows_of(text_of(web.get("/?overdue=true"))) == [ids["kasi"]]
    assert rows_of(text_of(web.get(f"/?unit={org.seksi.id}&state=&overdue="))) == [
        ids["kasi"],
        ids["staff"],
        ids["peer"],
    ]
    main = main_of(text_of(web.get(f"/?unit={org.other.id}")))
    assert "No appraisal waiting on you matches these filters." in main
    # The bulk form carries the filters, so its result page keeps them.
    main = main_of(text_of(web.get("/?state=plan_submitted")))
    assert '<input type="hidden" name="state" value="plan_submitted">' in main


@pytest.mark.parametrize(
    "query, field",
    [("state=bogus", "state"), ("unit=abc", "unit"), ("unit=%EF%BC%91", "unit"), ("overdue=yes", "overdue")],
)
def test_a_bad_filter_is_a_422_with_the_field_error(web, org, submitted, query, field):
    web.login(org.u_kasi)
    r = web.get(f"/?{query}")
    assert r.status_code == 422
    main = main_of(text_of(r))
    assert "The filters could not be applied" in main
    assert f'href="#f-{field}"' in main and f'id="f-{field}-error"' in main
    assert len(rows_of(text_of(r))) == 3  # the unfiltered inbox is still shown


# --- bulk ------------------------------------------------------------------------------------


def test_bulk_approve_reports_each_item(web, org, submitted, api):
    _, ids = submitted
    # The peer's plan is approved elsewhere first: that item can no longer be approved.
    assert api.fire(ids["peer"], "approve_plan", org.u_kasi).status_code == 200
    web.login(org.u_kasi)
    logs = log_count()
    r = web.post(
        "/bulk",
        [
            ("event", "approve_plan"),
            ("ids", ids["staff"]),
            ("ids", ids["peer"]),
            ("ids", ids["kasi"]),  # their own appraisal: the employee may not approve it
            ("ids", 999999),  # not there
            ("comment", "Disetujui"),
        ],
    )
    assert r.status_code == 200, text_of(r)[-3000:]
    html = text_of(r)
    result = html[html.index('id="bulk-result"') :]
    result = result[: result.index("</section>")]
    assert "1 appraisal done" in result and "3 not done" in result
    rows = re.findall(r'<tr class="kj-result-(ok|failed)">(.*?)</tr>', result, re.S)
    assert [ok for ok, _ in rows] == ["ok", "failed", "failed", "failed"]
    assert "now: Plan approved" in rows[0][1]
    assert "no longer possible" in rows[1][1] and "Plan approved" in rows[1][1]
    assert "You may not take this step on this appraisal." in rows[2][1]
    assert "does not exist or is not visible to you" in rows[3][1] and "Appraisal 999999" in rows[3][1]
    assert "/appraisals/999999" not in rows[3][1] and f'href="/appraisals/{ids["peer"]}"' in rows[1][1]
    assert state_of(ids["staff"]) == "plan_approved"
    assert state_of(ids["kasi"]) == "plan_drafted"
    assert log_count() == logs + 1
    # The full page, with the inbox refreshed: the approved plan left it, and with no plan
    # left to select, no bulk step is offered.
    assert "<html" in html and rows_of(html) == [ids["kasi"]]
    assert 'name="ids"' not in html and 'name="event"' not in html


def test_bulk_return_with_htmx_swaps_the_inbox_in_place(web, org, submitted):
    _, ids = submitted
    web.login(org.u_kasi)
    r = web.post(
        "/bulk",
        [
            ("event", "return_plan"),
            ("ids", ids["staff"]),
            ("ids", ids["peer"]),
            ("comment", "Tambah indikator"),
        ],
        headers={"HX-Request": "true", "HX-Target": "inbox"},
    )
    assert r.status_code == 200
    html = text_of(r)
    assert "<html" not in html and html.lstrip().startswith('<div id="inbox"')
    assert "2 appraisals done" in html and "0 not done" in html
    assert state_of(ids["staff"]) == state_of(ids["peer"]) == "plan_drafted"
    log = db.session.scalars(
        select(TransitionLog).where(
            TransitionLog.entity_id == ids["staff"], TransitionLog.event == "return_plan"
        )
    ).one()
    assert log.comment == "Tambah indikator"


def test_bulk_return_without_a_comment_is_refused_whole(web, org, submitted):
    _, ids = submitted
    web.login(org.u_kasi)
    logs = log_count()
    r = web.post(
        "/bulk", [("event", "return_plan"), ("ids", ids["staff"]), ("ids", ids["peer"]), ("comment", " ")]
    )
    assert r.status_code == 422
    main = main_of(text_of(r))
    assert 'href="#f-comment"' in main and 'id="f-comment-error"' in main
    assert "Required for “Return plan”." in main
    assert f'value="{ids["staff"]}" id="pick-{ids["staff"]}" checked' in main  # the ticks are kept
    assert state_of(ids["staff"]) == state_of(ids["peer"]) == "plan_submitted"
    assert log_count() == logs


@pytest.mark.parametrize(
    "data, field, message",
    [
        ([("event", "approve_plan")], "ids", "Select at least one appraisal."),
        ([("event", "approve_plan"), ("ids", "abc")], "ids", None),
        ([("event", "cancel"), ("ids", "1")], "event", None),
        ([("ids", "1")], "event", None),
        ([("event", "approve_plan"), ("ids", "1"), ("comment", "x" * 2001)], "comment", None),
    ],
)
def test_bulk_bad_input_is_a_422_with_the_field_error(web, org, submitted, data, field, message):
    _, ids = submitted
    web.login(org.u_kasi)
    logs = log_count()
    r = web.post("/bulk", data)
    assert r.status_code == 422
    main = main_of(text_of(r))
    assert f'href="#f-{field}"' in main and f'id="f-{field}"' in main
    if message:
        assert message in main
    assert log_count() == logs


def test_the_bulk_address_leads_back_to_the_inbox(web, org):
    """The result page is shown at /bulk; switching language there comes back by GET."""
    web.login(org.u_kasi)
    r = web.get("/bulk")
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_bulk_without_csrf_is_refused_and_changes_nothing(web, org, submitted):
    _, ids = submitted
    web.login(org.u_kasi)
    logs = log_count()
    r = web.post("/bulk", {"event": "approve_plan", "ids": ids["staff"]}, csrf=False)
    assert r.status_code == 400
    assert "<html" in text_of(r)
    assert state_of(ids["staff"]) == "plan_submitted"
    assert log_count() == logs


def test_an_employee_cannot_approve_their_own_plan_in_bulk(web, org, submitted):
    _, ids = submitted
    web.login(org.u_staff)
    r = web.post("/bulk", {"event": "approve_plan", "ids": ids["staff"]})
    assert r.status_code == 200
    assert "0 appraisals done" in text_of(r) and "You may not take this step" in text_of(r)
    assert state_of(ids["staff"]) == "plan_submitted"


def test_hr_without_an_employee_bulk_on_invisible_items_reports_not_found(web, org, submitted):
    _, ids = submitted
    web.login(org.u_hr_other)  # HR of another dinas: the plans are not visible
    r = web.post("/bulk", {"event": "approve_plan", "ids": ids["staff"]})
    assert r.status_code == 200
    assert "does not exist or is not visible to you" in text_of(r)
    assert state_of(ids["staff"]) == "plan_submitted"


# --- delegations -----------------------------------------------------------------------------


def test_delegations_show_for_delegator_and_delegate(web, org, submitted, api):
    _, ids = submitted
    start = utcnow().date()
    body = {
        "delegator_id": org.kasi.id,
        "delegate_id": org.kabid.id,
        "kind": "plh",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=5)).isoformat(),
        "reason": "Dinas luar",
    }
    r = api.post("/api/v1/delegations", org.u_hr, json=body)
    assert r.status_code == 201, r.get_json()
    web.login(org.u_kabid)
    main = main_of(text_of(web.get("/")))
    section = main[main.index("My delegations") :]
    assert "Plh (daily acting official)" in section and "Kepala Seksi" in section
    assert "Active" in section and "(you)" in section
    assert "your steps are recorded on their behalf" in section
    # The delegate now holds the delegator's plans, and may approve them in bulk.
    assert f'name="ids" value="{ids["staff"]}"' in main
    web.login(org.u_kasi)
    section = main_of(text_of(web.get("/")))
    assert "Kepala Bidang" in section[section.index("My delegations") :]
    web.login(org.u_peer)
    assert "You neither delegate your work nor act for anyone." in text_of(web.get("/"))


# --- notifications ---------------------------------------------------------------------------


@pytest.fixture
def notified(submitted):
    drain(emails=False)
    return submitted


def unread(user) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def test_notifications_list_links_to_the_site_and_marks_unread_in_words(web, org, notified, app):
    _, ids = notified
    count = unread(org.u_kasi)
    assert count >= 2  # the two submitted plans (and the cycle's launch)
    web.login(org.u_kasi)
    r = web.get("/notifications")
    assert r.status_code == 200
    main = main_of(text_of(r))
    assert f"{count} unread" in main and main.count(">Unread<") == count
    assert f'<a href="/appraisals/{ids["staff"]}">' in main
    assert app.config["PUBLIC_BASE_URL"] not in main
    assert 'action="/notifications/read-all"' in main
    # The bell shows the count on every page.
    assert f'id="unread-count">{count}<' in text_of(web.get("/"))


def test_mark_one_read_then_all(web, org, notified):
    count = unread(org.u_kasi)
    web.login(org.u_kasi)
    first = db.session.scalars(select(Notification.id).where(Notification.user_id == org.u_kasi.id)).first()
    r = web.post(f"/notifications/{first}/read", {"next": "/notifications?unread=true"})
    assert r.status_code == 302 and r.headers["Location"] == "/notifications?unread=true"
    assert unread(org.u_kasi) == count - 1
    assert f"{count - 1} unread" in text_of(web.get("/notifications"))
    r = web.post("/notifications/read-all", {"next": "https://evil.example/"})
    assert r.status_code == 302 and r.headers["Location"] == "/notifications"
    assert unread(org.u_kasi) == 0
    main = main_of(text_of(web.get("/notifications?unread=true")))
    assert "No unread notifications." in main and "read-all" not in main


def test_mark_read_with_htmx_returns_the_item_and_the_new_counts(web, org, notified):
    count = unread(org.u_kasi)
    web.login(org.u_kasi)
    first = db.session.scalars(select(Notification.id).where(Notification.user_id == org.u_kasi.id)).first()
    r = web.post(f"/notifications/{first}/read", headers={"HX-Request": "true"})
    assert r.status_code == 200
    html = text_of(r)
    assert html.lstrip().startswith(f'<li id="n-{first}"') and ">Unread<" not in html
    assert f'id="unread-count" hx-swap-oob="true">{count - 1}<' in html
    assert f'id="unread-summary" hx-swap-oob="true">{count - 1} unread<' in html


def test_someone_elses_notification_is_a_404_and_stays_unread(web, org, notified):
    count = unread(org.u_kasi)
    theirs = db.session.scalars(select(Notification.id).where(Notification.user_id == org.u_kasi.id)).first()
    web.login(org.u_staff)
    r = web.post(f"/notifications/{theirs}/read")
    assert r.status_code == 404 and "Page not found." in text_of(r)
    assert unread(org.u_kasi) == count


def test_marking_read_without_csrf_is_refused(web, org, notified):
    count = unread(org.u_kasi)
    web.login(org.u_kasi)
    first = db.session.scalars(select(Notification.id).where(Notification.user_id == org.u_kasi.id)).first()
    assert web.post(f"/notifications/{first}/read", csrf=False).status_code == 400
    assert web.post("/notifications/read-all", csrf=False).status_code == 400
    assert unread(org.u_kasi) == count


def test_notifications_are_paginated(web, org, notified):
    web.login(org.u_kasi)
    main = main_of(text_of(web.get("/notifications?per_page=1")))
    assert main.count('<li id="n-') == 1
    assert 'href="/notifications?per_page=1&amp;page=2"' in main or "page=2" in main
    main = main_of(text_of(web.get("/notifications?per_page=1&page=2")))
    assert main.count('<li id="n-') == 1


@pytest.mark.parametrize("query", ["page=abc", "per_page=0", "unread=1", "page=%EF%BC%91"])
def test_a_bad_notification_query_is_a_422(web, org, notified, query):
    web.login(org.u_kasi)
    r = web.get(f"/notifications?{query}")
    assert r.status_code == 422
    assert "could not be filtered" in text_of(r)


@pytest.mark.parametrize("who", ["u_staff", "u_kasi", "u_hr", "u_hr_other", "u_admin"])
def test_notifications_page_renders_for_every_role(web, org, notified, who):
    web.login(getattr(org, who))
    r = web.get("/notifications")
    assert r.status_code == 200 and "<h1>Notifications</h1>" in text_of(r)


# --- working days left -------------------------------------------------------------------------


def test_working_days_left_counts_the_cycle_calendar_in_the_units_zone():
    from datetime import date, datetime

    from workflow_app.clock import end_of_local_day
    from workflow_app.services.calendar import WorkCalendar
    from workflow_app.services.sla import working_days_left

    now = datetime(2026, 3, 6, 3, 0)  # Friday 6 March 2026, 10:00 WIB
    due = lambda d, zone="WIB": end_of_local_day(d, zone)  # noqa: E731
    cal = WorkCalendar()
    assert working_days_left(None, "WIB", cal, now) is None
    assert working_days_left(due(date(2026, 3, 6)), "WIB", cal, now) == 0  # due today
    assert working_days_left(due(date(2026, 3, 9)), "WIB", cal, now) == 1  # the weekend does not count
    assert working_days_left(due(date(2026, 3, 4)), "WIB", cal, now) == -2  # two working days late
    # A day the cycle adds as a holiday is not a working day.
    assert working_days_left(due(date(2026, 3, 10)), "WIB", WorkCalendar(add=[date(2026, 3, 9)]), now) == 1
    # Late on Friday in WIT (UTC+9) it is already Saturday: Monday is the next working day.
    late = datetime(2026, 3, 6, 16, 0)
    assert working_days_left(due(date(2026, 3, 9), "WIT"), "WIT", cal, late) == 1
    assert working_days_left(due(date(2026, 3, 6), "WIT"), "WIT", cal, late) == 0
