"""The notification table, languages, the digest, dedupe, and SMTP failures becoming incidents."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import drain
from tests.test_lifecycle import drive_to_final_review, launch, staff_appraisal
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.jobs.outbox import deliver, send_digest, send_email
from workflow_app.models import Incident, Notification, OutboxMessage
from workflow_app.notifications.catalog import RULES


def kinds_for(user) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def new_kinds(user, before: list[str]) -> list[str]:
    return kinds_for(user)[len(before) :]


@pytest.fixture
def launched(api, org, smtp):
    cycle, _ = launch(api, org)
    drain()
    smtp.messages.clear()
    return cycle, staff_appraisal(org, cycle)


def step(api, org, aid, event, user, expect: dict, smtp, **fields):
    """Fire an event, run the jobs, and check who got which notification and which email.

    Every new notification is emailed at once (urgent, or its recipient takes emails immediately)
    or waits for the recipient's daily digest; nobody outside ``expect`` gets an email.
    """
    before = {u: kinds_for(u) for u in expect}
    sent_before = len(smtp.messages)
    r = api.fire(aid, event, user, **fields)
    assert r.status_code == 200, r.get_json()
    drain()
    new_mail = smtp.messages[sent_before:]
    for recipient, kinds in expect.items():
        assert new_kinds(recipient, before[recipient]) == kinds, (event, recipient.username)
        rows = notifications_for(recipient)[len(before[recipient]) :]
        now = [n for n in rows if n.urgent or recipient.email_digest != "daily"]
        for n in rows:
            expected = "sent" if n in now else "pending"  # pending: it waits for the digest
            assert n.email_status == expected, (event, recipient.username, n.kind, n.urgent, n.email_status)
        mails = [m for m in new_mail if m["To"] == recipient.employee.email]
        assert len(mails) == len(now), (event, recipient.username, [m["Subject"] for m in mails])
    expected_to = {u.employee.email for u, kinds in expect.items() if kinds}
    assert {m["To"] for m in new_mail} <= expected_to, (event, [m["To"] for m in new_mail])


def notifications_for(user) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def test_cycle_launch_notifies_every_employee_in_app(api, org, smtp):
    cycle, _ = launch(api, org)
    drain()
    for u in (org.u_staff, org.u_kasi, org.u_kabid, org.u_peer, org.u_hr):
        assert kinds_for(u) == ["cycle_launched"]
    assert kinds_for(org.u_outsider) == []  # outside the cycle's unit scope
    # Launching again creates no appraisals and no second notification.
    r = api.post(
        f"/api/v1/cycles/{cycle.id}/events/launch",
        org.u_hr,
        json={"version": api.get(f"/api/v1/cycles/{cycle.id}", org.u_hr).get_json()["version"]},
    )
    assert r.get_json()["result"]["created"] == 0
    drain()
    assert kinds_for(org.u_staff) == ["cycle_launched"]


def test_every_row_of_the_notification_table(api, org, launched, smtp):
    """Submission → assessor; return/approval → employee; score, feedback, training → employee;
    objection → assessor's superior; decision → employee and assessor; close → employee."""
    _, aid = launched
    staff, kasi, kabid = org.u_staff, org.u_kasi, org.u_kabid
    v = api.appraisal(aid, staff)["version"]
    from tests import factories

    # The assessor takes a daily digest: their urgent items are emailed at once, the rest wait.
    r = api.patch("/api/v1/notifications/preferences", kasi, json={"email_digest": "daily"})
    assert r.status_code == 200 and r.get_json()["email_digest"] == "daily"
    api.put(f"/api/v1/appraisals/{aid}/plan", staff, json=factories.plan_body(v))
    step(api, org, aid, "submit_plan", staff, {kasi: ["plan_submitted"], staff: []}, smtp)
    assert smtp.to(kasi.employee.email)[-1]["Subject"].startswith("SKP Staf Pelaksana menunggu")
    step(
        api,
        org,
        aid,
        "return_plan",
        kasi,
        {staff: ["plan_returned"], kasi: []},
        smtp,
        comment="Lengkapi target",
    )
    step(api, org, aid, "submit_plan", staff, {kasi: ["plan_submitted"]}, smtp)
    step(api, org, aid, "approve_plan", kasi, {staff: ["plan_approved"]}, smtp)
    step(
        api,
        org,
        aid,
        "revise_plan",
        org.u_hr,
        {staff: ["plan_revision"], kasi: ["plan_revision"]},
        smtp,
        reason="Mutasi jabatan",
    )
    step(api, org, aid, "submit_plan", staff, {kasi: ["plan_submitted"]}, smtp)
    step(api, org, aid, "approve_plan", kasi, {staff: ["plan_approved"]}, smtp)
    step(
        api,
        org,
        aid,
        "open_midyear_review",
        org.u_hr,
        {staff: ["midyear_opened"], kasi: ["midyear_opened"]},
        smtp,
    )
    detail = api.appraisal(aid, staff)
    items = [{"item_id": i["id"], "realisation": "6"} for i in detail["plan_items"]]
    api.put(f"/api/v1/appraisals/{aid}/progress", staff, json={"version": detail["version"], "items": items})
    step(
        api, org, aid, "complete_midyear_review", kasi, {staff: ["midyear_completed"]}, smtp, feedback="Baik"
    )
    detail = api.appraisal(aid, staff)
    items = [{"item_id": i["id"], "realisation": "12"} for i in detail["plan_items"]]
    api.put(f"/api/v1/appraisals/{aid}/progress", staff, json={"version": detail["version"], "items": items})
    step(
        api,
        org,
        aid,
        "score",
        kasi,
        {staff: ["scored"]},
        smtp,
        rating_hasil_kerja="di_bawah",
        rating_perilaku="di_bawah",
        justification="Banyak target tidak tercapai",
    )
    assert "Sangat Kurang" in smtp.to(staff.employee.email)[-1]["Subject"]
    step(
        api,
        org,
        aid,
        "file_objection",
        staff,
        {kabid: ["objection_filed"], kasi: []},
        smtp,
        reason="Beban kerja tambahan",
    )
    step(
        api,
        org,
        aid,
        "resolve_objection",
        kabid,
        {staff: ["objection_resolved"], kasi: ["objection_resolved"]},
        smtp,
        decision="upheld",
        reasoning="Bukti tidak cukup",
    )
    step(api, org, aid, "give_feedback", kasi, {staff: ["feedback_given"]}, smtp, feedback="Ikuti pelatihan")
    due = (utcnow() + timedelta(days=30)).date().isoformat()
    step(
        api,
        org,
        aid,
        "assign_training",
        kasi,
        {staff: ["training_assigned"]},
        smtp,
        trainings=[{"competency": "Perencanaan", "hours_jp": 20, "due_date": due}],
    )
    detail = api.appraisal(aid, staff)
    api.patch(
        f"/api/v1/appraisals/{aid}/trainings/{detail['trainings'][0]['id']}",
        staff,
        json={"version": detail["version"], "status": "completed"},
    )
    step(api, org, aid, "close", org.u_hr, {staff: ["closed"]}, smtp)
    step(
        api,
        org,
        aid,
        "reopen",
        org.u_hr,
        {staff: ["reopened"], kasi: ["reopened"]},
        smtp,
        reason="Koreksi",
        due_date=due,
    )
    step(
        api, org, aid, "cancel", org.u_hr, {staff: ["cancelled"], kasi: ["cancelled"]}, smtp, reason="Pensiun"
    )
    fired = {
        "submit_plan",
        "return_plan",
        "approve_plan",
        "revise_plan",
        "open_midyear_review",
        "complete_midyear_review",
        "score",
        "file_objection",
        "resolve_objection",
        "give_feedback",
        "assign_training",
        "close",
        "reopen",
        "cancel",
    }
    assert fired == set(RULES)  # every row of the table was exercised


def test_each_language(api, org, launched, smtp):
    _, aid = launched
    org.u_kasi.locale = "en"
    db.session.commit()
    from tests import factories

    api.put(
        f"/api/v1/appraisals/{aid}/plan",
        org.u_staff,
        json=factories.plan_body(api.appraisal(aid, org.u_staff)["version"]),
    )
    api.fire(aid, "submit_plan", org.u_staff)
    api.fire(aid, "return_plan", org.u_kasi, comment="Please add a quality indicator")
    drain()
    english = smtp.to(org.kasi.email)[-1]
    indonesian = smtp.to(org.staff.email)[-1]
    assert english["Subject"] == "Staf Pelaksana's performance plan awaits your approval"
    assert indonesian["Subject"] == "SKP Anda dikembalikan untuk diperbaiki"
    for msg in (english, indonesian):
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
        assert f"/appraisals/{aid}" in msg.get_body(("plain",)).get_content()  # deep link
    r = api.get("/api/v1/notifications", org.u_kasi).get_json()
    assert r["items"][0]["subject"].endswith("awaits your approval") and r["unread"] >= 1


def test_daily_digest_batches_non_urgent_items(api, org, launched, smtp):
    _, aid = launched
    staff = org.u_staff
    r = api.patch("/api/v1/notifications/preferences", staff, json={"email_digest": "daily"})
    assert r.status_code == 200 and r.get_json()["email_digest"] == "daily"
    drive_to_final_review(api, org, aid)  # approve (urgent), midyear opened and completed (not urgent)
    drain()
    subjects = [m["Subject"] for m in smtp.to(org.staff.email)]
    assert "SKP Anda telah disetujui" in subjects  # urgent: at once
    assert not any("tengah tahun" in s for s in subjects)  # non-urgent: held for the digest
    assert send_digest(staff.id) == "sent"
    digest = smtp.to(org.staff.email)[-1]
    assert digest["Subject"].startswith("Ringkasan harian Kinerja")
    body = digest.get_body(("plain",)).get_content()
    assert "Evaluasi tengah tahun dibuka" in body and "Evaluasi tengah tahun selesai" in body
    assert send_digest(staff.id) == "empty"  # nothing twice


def test_replayed_jobs_send_nothing_twice(api, org, launched, smtp):
    _, aid = launched
    from tests import factories

    api.put(
        f"/api/v1/appraisals/{aid}/plan",
        org.u_staff,
        json=factories.plan_body(api.appraisal(aid, org.u_staff)["version"]),
    )
    api.fire(aid, "submit_plan", org.u_staff)
    outbox_id = db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
    drain()
    count = len(smtp.messages)
    # Replay the delivery as a crashed worker would, with the row forced back to pending.
    db.session.get(OutboxMessage, outbox_id).status = "pending"
    db.session.commit()
    deliver(outbox_id, enqueue=False)
    nid = db.session.scalar(select(Notification.id).where(Notification.kind == "plan_submitted"))
    assert send_email(nid) == "skipped"
    drain()
    assert len(smtp.messages) == count
    assert db.session.query(Notification).filter_by(kind="plan_submitted").count() == 1


def test_smtp_down_retries_then_incident_then_retry_action(api, org, launched, smtp, base_app):
    _, aid = launched
    from tests import factories

    smtp.stop()
    saved = base_app.config["EMAIL_MAX_ATTEMPTS"]
    base_app.config["EMAIL_MAX_ATTEMPTS"] = 3
    try:
        api.put(
            f"/api/v1/appraisals/{aid}/plan",
            org.u_staff,
            json=factories.plan_body(api.appraisal(aid, org.u_staff)["version"]),
        )
        api.fire(aid, "submit_plan", org.u_staff)
        drain(max_rounds=1)
        n = db.session.scalar(select(Notification).where(Notification.kind == "plan_submitted"))
        assert (n.email_status, n.email_attempts) == ("pending", 1)
        for _ in range(2):
            try:
                send_email(n.id)  # raises for RQ to retry until the last attempt
            except OSError:
                db.session.rollback()
        db.session.refresh(n)
        assert (n.email_status, n.email_attempts) == ("failed", 3)
        incidents = api.get("/api/v1/monitoring/incidents", org.u_hr).get_json()["items"]
        assert [(i["kind"], i["ref_id"]) for i in incidents] == [("email_delivery", n.id)]
        assert api.get("/api/v1/monitoring/incidents", org.u_staff).status_code == 403
    finally:
        base_app.config["EMAIL_MAX_ATTEMPTS"] = saved
    smtp.start()
    r = api.post(f"/api/v1/monitoring/incidents/{incidents[0]['id']}/retry", org.u_hr)
    assert r.status_code == 200 and r.get_json()["resolved_at"]
    drain()
    assert [m["Subject"] for m in smtp.to(org.kasi.email)] == ["SKP Staf Pelaksana menunggu persetujuan Anda"]
    assert db.session.scalar(select(Incident.resolved_at)) is not None


def test_notifications_api_read_and_ownership(api, org, launched):
    r = api.get("/api/v1/notifications?unread=true", org.u_staff).get_json()
    assert r["unread"] == 1 and r["items"][0]["kind"] == "cycle_launched"
    nid = r["items"][0]["id"]
    assert api.post(f"/api/v1/notifications/{nid}/read", org.u_kasi).status_code == 404
    assert api.post(f"/api/v1/notifications/{nid}/read", org.u_staff).get_json()["read_at"]
    assert api.get("/api/v1/notifications", org.u_staff).get_json()["unread"] == 0


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_email_footer_links_to_the_profile_page(app, lang):
    from workflow_app.notifications.catalog import KINDS
    from workflow_app.notifications.render import render

    kind = next(iter(KINDS))
    with app.test_request_context("/"):
        message = render(kind, {"appraisal_id": 7}, lang, "Budi")
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert f"{base}/profile" in message.text
    assert f'<a href="{base}/profile">' in message.html
    assert f"{base}/appraisals/7" in message.text
