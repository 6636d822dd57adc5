"""Demo data, the demo CLI, `audit verify` and the generated state-machine docs."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from state_machines import APPRAISAL, CYCLE
from state_machines.docs import render_state_machine_docs
from workflow_app.clock import utcnow
from workflow_app.dev.demo import DEMO_PASSWORD, load_demo
from workflow_app.extensions import db
from workflow_app.models import (
    BERAKHLAK,
    Appraisal,
    Cycle,
    Employee,
    OutboxMessage,
    TransitionLog,
    Unit,
    User,
)
from workflow_app.nip import validate_nip
from workflow_app.services.audit import append_only_suspended

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo_app(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_LOGINS_FILE", str(tmp_path / "demo-logins.json"))
    monkeypatch.setenv("KINERJA_ADMIN_PASSWORD", "rahasia-admin-42")
    summary = load_demo()
    monkeypatch.delenv("KINERJA_ADMIN_PASSWORD")  # later starts read the stored password
    app.demo_summary = summary
    return app


def test_demo_data_shape(demo_app):
    units = db.session.scalars(select(Unit)).all()
    depth = max(u.path.strip("/").count("/") + 1 for u in units)
    assert depth >= 3

    employees = db.session.scalars(select(Employee)).all()
    assert 45 <= len(employees) <= 60
    assert all(validate_nip(e.nip) == [] for e in employees)
    assert len({e.nip for e in employees}) == len(employees)
    assert sum(e.superior_id is None for e in employees) == 1  # only the Sekda tops the chart
    users = {u.employee_id for u in db.session.scalars(select(User))}
    assert {e.id for e in employees} <= users

    states = Counter(db.session.scalars(select(Appraisal.state)))
    assert sum(states.values()) == len(employees)
    assert len(states) >= 6, states
    for state in ("plan_drafted", "plan_submitted", "midyear_review", "final_review", "scored", "closed"):
        assert states[state], (state, states)

    overdue = db.session.scalar(
        select(func.count())
        .select_from(Appraisal)
        .where(Appraisal.state.in_(APPRAISAL.open_states), Appraisal.due_at < utcnow())
    )
    assert overdue >= 5

    cycle = db.session.get(Cycle, demo_app.demo_summary["cycle_id"])
    assert cycle.state == "assessment"
    assert cycle.scoring_start <= utcnow().date() <= cycle.scoring_end
    # Real transitions: a log row and an outbox row per step, all in the past (edits of plans
    # and progress are logged too, without a message).
    logs = db.session.scalar(
        select(func.count())
        .select_from(TransitionLog)
        .where(TransitionLog.event.in_([*APPRAISAL.transitions, *CYCLE.transitions]))
    )
    assert logs > 200
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == logs
    assert db.session.scalar(select(func.max(TransitionLog.created_at))) < utcnow()


def test_every_chain_verifies(demo_app):
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "0 with problems" in result.output

    row_id = db.session.scalar(select(TransitionLog.id).where(TransitionLog.entity == "appraisal").limit(1))
    with append_only_suspended(db.session.connection()):  # as the table's owner could
        db.session.execute(update(TransitionLog).where(TransitionLog.id == row_id).values(comment="diubah"))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "HMAC does not match" in result.output


def test_demo_logins_obtain_tokens(demo_app, client):
    result = demo_app.test_cli_runner().invoke(args=["demo", "logins", "--json"])
    assert result.exit_code == 0, result.output
    logins = json.loads(result.output)
    assert {"username", "password", "role", "name", "employee_id"} <= set(logins[0])
    by_name = {r["username"]: r for r in logins}
    assert by_name["admin"]["password"] == "rahasia-admin-42"
    assert by_name["admin"]["role"] == "admin" and by_name["hr"]["role"] == "hr"
    assert by_name["bambang.setiawan"]["password"] == DEMO_PASSWORD
    assert len(logins) == db.session.scalar(select(func.count()).select_from(User))
    assert {r["role"] for r in logins} >= {"admin", "hr", "assessor", "employee"}
    for login in logins:
        r = client.post(
            "/api/v1/auth/tokens", json={"username": login["username"], "password": login["password"]}
        )
        assert r.status_code == 201, (login["username"], r.get_json())


def test_demo_is_usable_over_the_api(demo_app, api):
    for username in ("hr", "agus.prasetyo"):
        api.token(username, DEMO_PASSWORD)
    stuck = api.get("/api/v1/monitoring/stuck", "hr")
    assert stuck.status_code == 200, stuck.get_json()
    assert stuck.get_json()["total"] >= 5
    tasks = api.get("/api/v1/tasks", "agus.prasetyo")  # a Kepala Subbidang: assessor of four
    assert tasks.status_code == 200


def test_demo_load_refuses_when_data_exists(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "--force" in result.output


def test_readme_login_table_lists_real_demo_logins(demo_app):
    """README's table of demo logins names real users with the role `demo logins` prints."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Demo logins") : readme.index("## Walk an appraisal")]
    rows = re.findall(r"^\| `([a-z.]+)` \| (\w+) \| (.+) \|$", section, re.M)
    assert len(rows) >= 6
    logins = {r["username"]: r for r in _logins(demo_app)}
    for username, role, who in rows:
        assert username in logins, username
        assert logins[username]["role"] == role, (username, logins[username]["role"], role)
        position = logins[username]["position"]
        assert position is None or position.split(" (")[0] in who, (username, position, who)
    roles = Counter(r["role"] for r in logins.values())
    assert f"{roles['assessor']} are assessors" in section
    assert f"{roles['employee']} are employees only" in section
    assert f"lists all {len(logins)} logins" in section


def _logins(app) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["demo", "logins", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_readme_walkthrough_gets_the_answers_it_promises(demo_app, api):
    """The curl walkthrough: draft, submit, 403 for the employee, 409 for a stale version, approve."""
    for username in ("yusuf.maulana", "agus.prasetyo"):
        api.token(username, DEMO_PASSWORD)
    tasks = api.get("/api/v1/tasks", "yusuf.maulana").get_json()
    assert [(t["state"], t["version"], t["allowed_events"]) for t in tasks] == [
        ("plan_drafted", 1, ["submit_plan"])
    ]
    aid = tasks[0]["id"]
    plan = {
        "version": 1,
        "items": [
            {
                "kind": "utama",
                "rhk": "Tersusunnya laporan kinerja bulanan",
                "aspect": "kuantitas",
                "indicator": "Jumlah laporan yang disampaikan tepat waktu",
                "target_value": "12",
                "target_unit": "laporan",
            }
        ],
        "behaviours": {key: "Sesuai pedoman" for key in BERAKHLAK},
    }
    r = api.put(f"/api/v1/appraisals/{aid}/plan", "yusuf.maulana", json=plan)
    assert (r.status_code, r.get_json()["version"]) == (200, 2), r.get_json()
    r = api.post(f"/api/v1/appraisals/{aid}/events/submit_plan", "yusuf.maulana", json={"version": 2})
    assert r.status_code == 200, r.get_json()
    approve = f"/api/v1/appraisals/{aid}/events/approve_plan"
    r = api.post(approve, "yusuf.maulana", json={"version": 3})
    assert r.status_code == 403, r.get_json()
    r = api.post(approve, "agus.prasetyo", json={"version": 2})
    assert r.status_code == 409 and r.get_json()["current_version"] == 3, r.get_json()
    assert r.get_json()["type"].endswith("/version-conflict")
    r = api.post(approve, "agus.prasetyo", json={"version": 3})
    assert (r.status_code, r.get_json()["state"], r.get_json()["version"]) == (200, "plan_approved", 4)


def test_a_fresh_demo_is_not_overdue_in_its_current_step(demo_app):
    """Dates follow the load day: final reviews are due at the end of the scoring window."""
    now = utcnow()
    rows = db.session.execute(
        select(Appraisal.state, Appraisal.due_at).where(Appraisal.state.in_(APPRAISAL.open_states))
    ).all()
    current = [due for state, due in rows if state in CURRENT_STEP]
    assert len(current) >= 15
    assert sum(due is not None and due < now for due in current) <= len(current) // 3
    assert all(due is None or due > now for state, due in rows if state == "final_review")


CURRENT_STEP = ("final_review", "scored", "feedback_given", "training_assigned", "objection_filed")


def test_state_machine_docs_are_current():
    text = render_state_machine_docs()
    assert (ROOT / "docs" / "state-machines.md").read_text() == text, "run `make docs`"
    assert text.count("```mermaid") == 2
    assert "| `submit_plan` | `plan_drafted` | `plan_submitted` | `employee` | `plan_complete` |" in text
