"""The rest of the API surface: me, tasks, lists, visibility, bulk, definitions, docs, health,
tokens, cycle events and monitoring."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from state_machines import APPRAISAL, CYCLE
from tests import factories
from tests.test_transition_matrix import counts, put_in_state, snapshot
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Cycle, OutboxMessage, TransitionLog

PROBLEM = "application/problem+json"


def launch(api, org, scope=None, **dates) -> Cycle:
    cycle = factories.cycle(scope or org.dinas, **dates)
    db.session.commit()
    hr = org.u_hr if scope in (None, org.dinas) else org.u_hr_other
    r = api.post(f"/api/v1/cycles/{cycle.id}/events/launch", hr, json={"version": cycle.version})
    assert r.status_code == 200, r.get_json()
    return cycle


def appraisal_of(cycle, employee) -> Appraisal:
    db.session.expire_all()
    return db.session.scalar(
        select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.employee_id == employee.id)
    )


def ids(body) -> list[int]:
    items = body["items"] if isinstance(body, dict) else body
    return [i["id"] for i in items]


# --- me and tasks -------------------------------------------------------------------------------


def test_me(api, org):
    body = api.get("/api/v1/me", org.u_hr).get_json()
    assert body["username"] == "hr"
    assert body["employee"]["nip"] == org.hr_emp.nip
    assert body["roles"] == [{"role": "hr", "unit_id": org.dinas.id, "unit_name": "Dinas Kesehatan"}]
    body = api.get("/api/v1/me", org.u_admin).get_json()
    assert body["employee"] is None and body["roles"][0]["role"] == "admin"


def test_tasks_oldest_due_first_and_only_mine(api, org):
    cycle = launch(api, org)
    now = utcnow()
    staff, peer, own = (
        appraisal_of(cycle, org.staff),
        appraisal_of(cycle, org.peer),
        appraisal_of(cycle, org.kasi),
    )
    put_in_state(staff, "plan_submitted", due_at=now + timedelta(days=5))
    put_in_state(peer, "final_review", due_at=now - timedelta(days=2))
    put_in_state(own, "plan_drafted", due_at=now + timedelta(days=1))  # the assessor's own plan
    tasks = api.get("/api/v1/tasks", org.u_kasi).get_json()
    assert ids(tasks) == [peer.id, own.id, staff.id]
    assert [t["allowed_events"] for t in tasks] == [
        ["score"],
        ["submit_plan"],
        ["return_plan", "approve_plan"],
    ]
    assert [t["overdue"] for t in tasks] == [True, False, False]
    # the staff member's plan waits on the assessor, not on them
    assert staff.id not in ids(api.get("/api/v1/tasks", org.u_staff).get_json())
    # the peer's appraisal in final_review waits on no one but the assessor
    assert ids(api.get("/api/v1/tasks", org.u_peer).get_json()) == []
    # nobody sees another's tasks; an account with no employee and no HR role has none
    assert api.get("/api/v1/tasks", org.u_admin).get_json() == []
    # HR holds approved plans (waiting for the mid-year review) in their subtree
    put_in_state(staff, "plan_approved")
    assert staff.id in ids(api.get("/api/v1/tasks", org.u_hr).get_json())
    assert staff.id not in ids(api.get("/api/v1/tasks", org.u_hr_other).get_json())
    # the superior holds objections
    put_in_state(staff, "objection_filed")
    assert ids(api.get("/api/v1/tasks", org.u_kabid).get_json()).count(staff.id) == 1


# --- list filters and pagination ----------------------------------------------------------------


def test_list_filters_and_pagination(api, org):
    cycle = launch(api, org)
    other_cycle = launch(api, org)
    launch(api, org, scope=org.other)
    now = utcnow()
    for a in db.session.scalars(select(Appraisal)).all():
        a.due_at = now + timedelta(days=10)
    db.session.commit()
    staff, peer = appraisal_of(cycle, org.staff), appraisal_of(cycle, org.peer)
    put_in_state(staff, "plan_submitted", due_at=now - timedelta(days=1))
    put_in_state(peer, "scored")
    put_in_state(
        appraisal_of(cycle, org.kabid), "closed", due_at=now - timedelta(days=9)
    )  # closed: not overdue

    def listing(query, user=org.u_hr):
        r = api.get(f"/api/v1/appraisals?{query}", user)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    assert listing("")["total"] == 12  # two dinas cycles of six
    assert listing("", org.u_admin)["total"] == 13  # and the Dishub one
    assert listing(f"cycle={cycle.id}")["total"] == 6
    assert listing(f"cycle={other_cycle.id}&state=plan_drafted")["total"] == 6
    body = listing(f"cycle={cycle.id}&state=plan_submitted&state=scored")
    assert sorted(ids(body)) == sorted([staff.id, peer.id]) and body["total"] == 2
    in_seksi = {org.kasi.id, org.staff.id, org.peer.id}
    body = listing(f"cycle={cycle.id}&unit={org.seksi.id}")
    assert {i["employee"]["id"] for i in body["items"]} == in_seksi
    body = listing(f"cycle={cycle.id}&unit={org.bidang.id}")
    assert {i["employee"]["id"] for i in body["items"]} == in_seksi | {org.kabid.id}
    body = listing(f"cycle={cycle.id}&assessor={org.kasi.id}")
    assert sorted(ids(body)) == sorted([staff.id, peer.id])
    body = listing("overdue=true")
    assert ids(body) == [staff.id] and body["items"][0]["overdue"] is True
    assert listing("overdue=false")["total"] == 12  # false means no filter
    # pagination: totals are over the whole filtered set, pages are ordered by id
    everything = ids(listing("per_page=200"))
    pages = [listing(f"per_page=5&page={p}") for p in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [5, 5, 2, 0]
    assert all(p["total"] == 12 and p["per_page"] == 5 for p in pages)
    assert sum((ids(p) for p in pages), []) == everything == sorted(everything)
    # a staff member sees their own appraisals only; the assessor also their appraisees'
    assert listing("", org.u_staff)["total"] == 2
    assert listing(f"cycle={cycle.id}", org.u_kasi)["total"] == 3
    assert listing("", org.u_outsider)["total"] == 1


# --- visibility ---------------------------------------------------------------------------------


def test_visibility(api, org):
    cycle = launch(api, org)
    a = appraisal_of(cycle, org.staff)
    url = f"/api/v1/appraisals/{a.id}"
    for user in (org.u_outsider, org.u_hr_other, org.u_peer):
        r = api.get(url, user)
        assert r.status_code == 404 and r.mimetype == PROBLEM, user.username
        assert api.get(url + "/history", user).status_code == 404
        assert api.fire(a.id, "cancel", user, version=1, reason="x").status_code == 404
    # the 404 for an invisible appraisal is the same as for one that does not exist
    missing = api.get("/api/v1/appraisals/987654", org.u_outsider).get_json()
    hidden = api.get(url, org.u_outsider).get_json()
    assert missing == hidden
    for user, relations in (
        (org.u_staff, ["employee"]),
        (org.u_kasi, ["assessor"]),
        (org.u_kabid, ["superior"]),
        (org.u_hr, ["hr"]),
        (org.u_admin, ["admin"]),
    ):
        body = api.appraisal(a.id, user)
        assert body["relations"] == relations
        assert body["allowed_events"] == APPRAISAL.allowed_events("plan_drafted", set(relations))
    # admin may see but fires nothing
    r = api.fire(a.id, "cancel", org.u_admin, reason="x")
    assert r.status_code == 403 and r.get_json()["type"].endswith("/forbidden")
    # HR never acts as HR on their own appraisal
    own = api.appraisal(appraisal_of(cycle, org.hr_emp).id, org.u_hr)
    assert own["relations"] == ["employee"]


# --- bulk events --------------------------------------------------------------------------------


def test_bulk_events_dry_run_and_real(api, org):
    cycle = launch(api, org)
    dishub = launch(api, org, scope=org.other)
    staff, peer = appraisal_of(cycle, org.staff), appraisal_of(cycle, org.peer)
    own = appraisal_of(cycle, org.kasi)  # the assessor's own: they are its employee
    kabid = appraisal_of(cycle, org.kabid)  # not related to the assessor
    hidden = appraisal_of(dishub, org.outsider)
    put_in_state(staff, "plan_submitted")
    put_in_state(peer, "plan_drafted")
    put_in_state(own, "plan_submitted")
    request_ids = [staff.id, peer.id, own.id, kabid.id, hidden.id, staff.id]
    before = {i: snapshot(i) for i in request_ids}
    outbox_before = db.session.scalar(select(func.count()).select_from(OutboxMessage))

    def bulk(dry_run):
        r = api.post(
            "/api/v1/appraisals/bulk-events",
            org.u_kasi,
            json={"event": "approve_plan", "ids": request_ids, "dry_run": dry_run, "comment": "Disetujui"},
        )
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    body = bulk(True)
    assert body["dry_run"] is True and (body["applied"], body["failed"]) == (1, 4)
    results = {r["id"]: r for r in body["results"]}
    assert list(results) == [staff.id, peer.id, own.id, kabid.id, hidden.id]  # duplicates once
    assert results[staff.id]["ok"] and results[staff.id]["state"] == "plan_approved"
    assert results[peer.id]["problem"]["status"] == 409
    assert results[peer.id]["problem"]["type"].endswith("/invalid-transition")
    assert results[own.id]["problem"]["status"] == 403
    assert results[kabid.id]["problem"]["status"] == 404
    assert results[hidden.id]["problem"]["status"] == 404
    assert {i: snapshot(i) for i in request_ids} == before  # dry run wrote nothing
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before

    body = bulk(False)
    assert (body["applied"], body["failed"]) == (1, 4)
    after = snapshot(staff.id)
    assert after[0] == "plan_approved" and after[1] > before[staff.id][1]
    assert after[2:] == (before[staff.id][2] + 1, before[staff.id][3] + 1)
    for i in (peer.id, own.id, kabid.id, hidden.id):
        assert snapshot(i) == before[i]
    log = db.session.scalars(select(TransitionLog).where(TransitionLog.entity_id == staff.id)).all()[-1]
    assert (log.event, log.comment, log.actor_role) == ("approve_plan", "Disetujui", "assessor")

    # fields are validated for the whole request before any item is touched
    r = api.post(
        "/api/v1/appraisals/bulk-events", org.u_hr, json={"event": "cancel", "ids": [peer.id], "reason": 5}
    )
    assert r.status_code == 422
    r = api.post("/api/v1/appraisals/bulk-events", org.u_hr, json={"event": "cancel", "ids": [peer.id]})
    body = r.get_json()
    assert (
        body["results"][0]["problem"]["status"] == 422 and "reason" in body["results"][0]["problem"]["errors"]
    )
    r = api.post("/api/v1/appraisals/bulk-events", org.u_hr, json={"event": "cancel", "ids": []})
    assert r.status_code == 422
    r = api.post(
        "/api/v1/appraisals/bulk-events", org.u_hr, json={"event": "cancel", "ids": list(range(1, 502))}
    )
    assert r.status_code == 422


def test_bulk_guard_failure_is_per_item(api, org):
    cycle = launch(api, org)
    ok, bad = appraisal_of(cycle, org.staff), appraisal_of(cycle, org.peer)
    put_in_state(ok, "plan_drafted")
    put_in_state(bad, "plan_drafted")
    db.session.expire_all()
    db.session.get(Appraisal, bad.id).behaviours.clear()
    db.session.commit()
    for user, a in ((org.u_staff, ok), (org.u_peer, bad)):
        r = api.post("/api/v1/appraisals/bulk-events", user, json={"event": "submit_plan", "ids": [a.id]})
        result = r.get_json()["results"][0]
        if a is ok:
            assert result["ok"] and result["state"] == "plan_submitted"
        else:
            assert result["problem"]["type"].endswith("/guard-failed")
            assert "behaviours" in result["problem"]["errors"]
    assert snapshot(bad.id)[0] == "plan_drafted" and counts(bad.id) == (0, 0)


# --- definitions, docs, health ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["appraisal", "cycle"])
def test_state_machine_definitions(client, name):
    workflow = {"appraisal": APPRAISAL, "cycle": CYCLE}[name]
    r = client.get(f"/api/v1/state-machines/{name}")  # public: no token needed
    assert r.status_code == 200
    body = r.get_json()
    assert body["name"] == name and body["version"] == workflow.version
    assert body["initial"] == workflow.initial
    assert [s["name"] for s in body["states"]] == list(workflow.states)
    assert {t["event"]: t["roles"] for t in body["transitions"]} == {
        e: list(t.roles) for e, t in workflow.transitions.items()
    }
    assert {t["event"]: t["source"] for t in body["transitions"]} == {
        e: list(t.source) for e, t in workflow.transitions.items()
    }
    assert "stateDiagram" in body["mermaid"]
    for state in workflow.states:
        assert state in body["mermaid"]
    for event in workflow.transitions:
        assert event in body["mermaid"]


def test_openapi_document(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = json.loads(r.data)
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/v1/appraisals",
        "/api/v1/appraisals/{appraisal_id}",
        "/api/v1/appraisals/{appraisal_id}/events/{event}",
        "/api/v1/appraisals/bulk-events",
        "/api/v1/tasks",
        "/api/v1/me",
        "/api/v1/cycles/{cycle_id}/events/{event}",
        "/api/v1/monitoring/summary",
        "/api/v1/monitoring/stuck",
        "/api/v1/state-machines/{name}",
        "/api/v1/auth/tokens",
    ):
        assert path in doc["paths"], path
    assert "bearerAuth" in doc["components"]["securitySchemes"]


def test_docs_page_and_offline_assets(client):
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/api/docs/assets/") for a in assets), assets
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200, asset
        assert len(r.data) > 1000
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_health_ready_metrics(client, org):
    db.session.commit()
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    r = client.get("/readyz")  # the fixtures guarantee a database and a Redis that answer
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    assert r.headers["Content-Type"].count("charset") == 1, r.headers["Content-Type"]
    text = r.get_data(as_text=True)
    for state in APPRAISAL.states:
        assert f'kinerja_appraisals{{state="{state}"}}' in text
    assert "kinerja_appraisals_overdue" in text


def test_ready_is_503_when_redis_is_unreachable(database_url):
    from workflow_app import create_app
    from workflow_app.dev.embedded_redis import free_port

    closed = free_port()  # bound and released at once: nothing listens there
    app = create_app(
        "test",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{closed}/0",
            "OUTBOX_KICK": False,
        },
    )
    try:
        r = app.test_client().get("/readyz")
    finally:
        with app.app_context():
            db.engine.dispose()  # this app's pool must not linger beside the session's
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "ok", "redis": body["checks"]["redis"]}
    assert body["checks"]["redis"].startswith("error: "), body  # e.g. "error: ConnectionError"


# --- tokens -------------------------------------------------------------------------------------


def test_token_lifecycle(client, org):
    db.session.commit()
    r = client.post("/api/v1/auth/tokens", json={"username": "staf", "password": factories.PASSWORD})
    assert r.status_code == 201
    body = r.get_json()
    assert body["token_type"] == "Bearer" and body["expires_at"].endswith("Z")
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    r = client.delete("/api/v1/auth/tokens/current", headers=headers)
    assert r.status_code == 204
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.mimetype == PROBLEM
    # a second token of the same user is unaffected by revoking the first
    r = client.post("/api/v1/auth/tokens", json={"username": "staf", "password": factories.PASSWORD})
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.get_json()['token']}"}).status_code
        == 200
    )


def test_wrong_password(client, org, forget_failed_logins):
    db.session.commit()
    for username in ("staf", "tidak-ada"):
        r = client.post("/api/v1/auth/tokens", json={"username": username, "password": "salah-sekali"})
        assert r.status_code == 401 and r.mimetype == PROBLEM
        body = r.get_json()
        assert body["type"].endswith("/invalid-credentials") and body["status"] == 401 and body["title"]
        assert "WWW-Authenticate" in r.headers


def test_password_change_revokes_tokens(api, org):
    token = api.token("staf")
    r = api.patch(f"/api/v1/users/{org.u_staff.id}", org.u_admin, json={"password": "kata-sandi-baru"})
    assert r.status_code == 200, r.get_json()
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    r = api.client.post("/api/v1/auth/tokens", json={"username": "staf", "password": "kata-sandi-baru"})
    assert r.status_code == 201


# --- cycle events -------------------------------------------------------------------------------


def cycle_event(api, user, cycle_id, event, **fields):
    version = api.get(f"/api/v1/cycles/{cycle_id}", user).get_json()["version"]
    return api.post(f"/api/v1/cycles/{cycle_id}/events/{event}", user, json={"version": version, **fields})


def test_cycle_launch_is_idempotent(api, org):
    cycle = factories.cycle(org.dinas)
    db.session.commit()
    r = cycle_event(api, org.u_hr, cycle.id, "launch")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["result"]["created"] == 6 and body["cycle"]["state"] == "planning"
    assert body["cycle"]["allowed_events"] == ["launch", "open_midyear"]
    r = cycle_event(api, org.u_hr, cycle.id, "launch")
    assert r.status_code == 200 and r.get_json()["result"]["created"] == 0
    # a new employee is picked up by a later launch
    factories.employee("Pegawai Baru", org.seksi, org.kasi)
    inactive = factories.employee("Pegawai Nonaktif", org.seksi, org.kasi)
    inactive.active = False
    db.session.commit()
    assert cycle_event(api, org.u_hr, cycle.id, "launch").get_json()["result"]["created"] == 1
    assert (
        db.session.scalar(select(func.count()).select_from(Appraisal).where(Appraisal.cycle_id == cycle.id))
        == 7
    )
    # only HR of the scope launches; stale versions are refused
    r = api.post(f"/api/v1/cycles/{cycle.id}/events/launch", org.u_hr_other, json={"version": 4})
    assert r.status_code == 404
    assert api.get(f"/api/v1/cycles/{cycle.id}", org.u_hr_other).status_code == 404
    r = api.post(f"/api/v1/cycles/{cycle.id}/events/launch", org.u_hr, json={"version": 1})
    assert r.status_code == 409 and r.get_json()["type"].endswith("/version-conflict")
    # employees see the cycle they take part in, but cannot fire its events
    assert api.get(f"/api/v1/cycles/{cycle.id}", org.u_staff).status_code == 200
    assert cycle_event(api, org.u_staff, cycle.id, "launch").status_code == 403
    history = db.session.scalars(
        select(TransitionLog).where(TransitionLog.entity == "cycle", TransitionLog.entity_id == cycle.id)
    ).all()
    assert [h.event for h in history] == ["launch"] * 3


def test_cycle_open_midyear_fires_on_approved_plans(api, org):
    today = utcnow().date()
    cycle = launch(api, org, midyear_start=today + timedelta(days=3))
    staff, peer = appraisal_of(cycle, org.staff), appraisal_of(cycle, org.peer)
    put_in_state(staff, "plan_approved")
    put_in_state(peer, "plan_submitted")
    r = cycle_event(api, org.u_hr, cycle.id, "open_midyear")
    assert r.status_code == 422 and r.get_json()["type"].endswith("/guard-failed")
    assert snapshot(staff.id)[0] == "plan_approved"
    db.session.expire_all()
    db.session.get(Cycle, cycle.id).midyear_start = today - timedelta(days=1)
    db.session.commit()
    r = cycle_event(api, org.u_hr, cycle.id, "open_midyear")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["result"]["opened"] == 1
    assert r.get_json()["cycle"]["state"] == "midyear"
    assert snapshot(staff.id)[0] == "midyear_review"
    assert snapshot(peer.id)[0] == "plan_submitted"
    log = db.session.scalars(select(TransitionLog).where(TransitionLog.entity_id == staff.id)).all()[-1]
    assert (log.event, log.actor_role, log.actor_user_id) == ("open_midyear_review", "system", None)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key == f"appraisal:{staff.id}:{log.seq}")
        )
        == 1
    )
    r = cycle_event(api, org.u_hr, cycle.id, "open_midyear")
    assert r.status_code == 409 and r.get_json()["allowed_events"] == ["open_scoring"]


def test_cycle_open_scoring_guard_and_close(api, org):
    today = utcnow().date()
    cycle = launch(api, org, scoring_start=today + timedelta(days=5), scoring_end=today + timedelta(days=40))
    assert cycle_event(api, org.u_hr, cycle.id, "open_midyear").status_code == 200
    r = cycle_event(api, org.u_hr, cycle.id, "open_scoring")
    assert r.status_code == 422 and "cycle" in r.get_json()["errors"]
    db.session.expire_all()
    db.session.get(Cycle, cycle.id).scoring_start = today
    db.session.commit()
    r = cycle_event(api, org.u_hr, cycle.id, "open_scoring")
    assert r.status_code == 200 and r.get_json()["cycle"]["state"] == "assessment"

    r = cycle_event(api, org.u_hr, cycle.id, "close")
    assert r.status_code == 422 and "appraisals" in r.get_json()["errors"]
    r = cycle_event(api, org.u_hr, cycle.id, "close", force=True)
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]
    r = cycle_event(api, org.u_hr, cycle.id, "close", force=True, reason="   ")
    assert r.status_code == 422
    r = cycle_event(api, org.u_hr, cycle.id, "close", force=True, reason="Tahun anggaran berakhir")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["cycle"]["state"] == "closed" and body["result"] == {"open_appraisals": 6, "forced": True}
    assert body["cycle"]["allowed_events"] == []


def test_cycle_close_without_force_when_all_closed(api, org):
    cycle = launch(api, org)
    db.session.expire_all()
    c = db.session.get(Cycle, cycle.id)
    c.state = "assessment"
    for a in db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle.id)):
        a.state = "closed" if a.employee_id != org.peer.id else "cancelled"
    db.session.commit()
    r = cycle_event(api, org.u_hr, cycle.id, "close")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["result"] == {"open_appraisals": 0, "forced": False}


# --- monitoring ---------------------------------------------------------------------------------


def test_monitoring_summary_and_stuck(api, org):
    cycle = launch(api, org)
    launch(api, org, scope=org.other)
    now = utcnow()
    rows = {
        e: appraisal_of(cycle, e) for e in (org.staff, org.peer, org.kasi, org.kabid, org.kadis, org.hr_emp)
    }
    for a in rows.values():
        a.due_at = now + timedelta(days=10)
        a.state_entered_at = now
    db.session.commit()
    put_in_state(
        rows[org.staff],
        "plan_submitted",
        due_at=now - timedelta(days=3),
        state_entered_at=now - timedelta(days=20),
    )
    put_in_state(
        rows[org.peer],
        "final_review",
        due_at=now - timedelta(days=8),
        state_entered_at=now - timedelta(days=9),
    )
    put_in_state(rows[org.kasi], "closed", due_at=now - timedelta(days=30))
    put_in_state(
        rows[org.kabid],
        "plan_drafted",
        due_at=now + timedelta(days=3),
        state_entered_at=now - timedelta(days=40),
    )

    r = api.get(f"/api/v1/monitoring/summary?cycle={cycle.id}", org.u_hr)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["total"] == 6 and body["open"] == 5 and body["overdue"] == 2
    assert body["by_state"]["plan_submitted"] == 1 and body["by_state"]["closed"] == 1
    assert set(body["by_state"]) == set(APPRAISAL.states)
    assert sum(body["ageing_days"].values()) == 5
    assert body["ageing_days"][">30"] == 1
    seksi = next(u for u in body["by_unit"] if u["unit_id"] == org.seksi.id)
    assert seksi["overdue"] == 2 and sum(seksi["states"].values()) == 3
    # HR sees their subtree only; admin of the province sees both dinas
    assert api.get("/api/v1/monitoring/summary", org.u_hr).get_json()["total"] == 6
    assert api.get("/api/v1/monitoring/summary", org.u_admin).get_json()["total"] == 7
    assert api.get(f"/api/v1/monitoring/summary?unit={org.other.id}", org.u_hr).status_code == 422

    r = api.get("/api/v1/monitoring/stuck", org.u_hr)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    # past due (oldest first), then idle too long: staff idles 20 days but is due 3 days ago
    assert ids(body) == [rows[org.peer].id, rows[org.staff].id, rows[org.kabid].id]
    assert body["total"] == 3 and body["idle_days"] == 14
    held = {i["id"]: i["held_by"] for i in body["items"]}
    assert held[rows[org.staff].id]["role"] == "assessor"
    assert held[rows[org.staff].id]["employee_id"] == org.kasi.id
    assert held[rows[org.kabid].id]["role"] == "employee"
    body = api.get("/api/v1/monitoring/stuck?idle_days=100", org.u_hr).get_json()
    assert ids(body) == [rows[org.peer].id, rows[org.staff].id]
    body = api.get("/api/v1/monitoring/stuck?per_page=1&page=2", org.u_hr).get_json()
    assert ids(body) == [rows[org.staff].id] and body["total"] == 3

    for path in ("/api/v1/monitoring/summary", "/api/v1/monitoring/stuck"):
        r = api.get(path, org.u_staff)
        assert r.status_code == 403 and r.mimetype == PROBLEM
        assert api.get(path, org.u_kasi).status_code == 403


def test_openapi_documents_errors_as_problem_json(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    responses = spec["components"]["responses"]
    assert {"UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "UNPROCESSABLE_ENTITY"} <= set(responses)
    put_plan = spec["paths"]["/api/v1/appraisals/{appraisal_id}/plan"]["put"]
    assert {"401", "403", "404", "409", "422"} <= set(put_plan["responses"])
    assert "default" not in put_plan["responses"]
    assert "example" in put_plan["requestBody"]["content"]["application/json"]
    for name, response in responses.items():
        assert list(response.get("content", {"application/problem+json": 0})) == [
            "application/problem+json"
        ], name
    assert {"type", "title", "status", "errors", "allowed_events"} <= set(
        spec["components"]["schemas"]["Problem"]["properties"]
    )


def test_oversized_url_and_headers_are_problems(client):
    """Below gunicorn's limits (gunicorn.conf.py) the app answers 414 and 431 as problems."""
    from workflow_app import request_limits as limits

    assert limits.MAX_URL_LENGTH + len("OPTIONS  HTTP/1.1") < limits.GUNICORN_LIMIT_REQUEST_LINE
    assert limits.MAX_HEADER_FIELD_SIZE < limits.GUNICORN_LIMIT_REQUEST_FIELD_SIZE
    assert limits.MAX_HEADER_FIELDS < limits.GUNICORN_LIMIT_REQUEST_FIELDS
    r = client.get("/api/v1/appraisals?q=" + "x" * limits.MAX_URL_LENGTH)
    assert r.status_code == 414 and r.mimetype == "application/problem+json"
    assert r.get_json()["type"].endswith("uri-too-long")
    r = client.get("/api/v1/me", headers={"X-Big": "x" * limits.MAX_HEADER_FIELD_SIZE})
    assert r.status_code == 431 and r.mimetype == "application/problem+json"
    assert r.get_json()["type"].endswith("header-fields-too-large")
    r = client.get("/api/v1/me", headers={f"X-H{i}": "1" for i in range(limits.MAX_HEADER_FIELDS + 1)})
    assert r.status_code == 431 and r.mimetype == "application/problem+json"
    # Just under the limits: the request goes through (401: no token).
    assert client.get("/api/v1/me?q=" + "x" * 7000, headers={"X-Big": "x" * 7000}).status_code == 401
