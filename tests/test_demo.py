"""Demo data, the demo CLI, `audit verify` and the generated state-machine docs."""

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from state_machines import APPRAISAL, CYCLE
from state_machines.docs import render_state_machine_docs
from workflow_app.clock import utcnow
from workflow_app.dev.demo import DEMO_PASSWORD, load_demo
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Cycle, Employee, OutboxMessage, TransitionLog, Unit, User
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


def test_state_machine_docs_are_current():
    text = render_state_machine_docs()
    assert (ROOT / "docs" / "state-machines.md").read_text() == text, "run `make docs`"
    assert text.count("```mermaid") == 2
    assert "| `submit_plan` | `plan_drafted` | `plan_submitted` | `employee` | `plan_complete` |" in text
