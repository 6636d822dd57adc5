"""The transition path's cost: statements per event, no lazy loads, one write of the row."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from tests import factories
from tests.test_lifecycle import launch, staff_appraisal
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Leave, User
from workflow_app.services import appraisals, calendar, deadlines, sla
from workflow_app.services.access import Actor
from workflow_app.uow import unit_of_work

# One happy-path event: the locking SELECT (row, people, what the guards read, the leave flag,
# the actor's name), INSERT outbox, INSERT transition_log, UPDATE appraisals. Commit apart.
MAX_STATEMENTS = 4


@contextmanager
def watched():
    """Statements sent (DML and queries; transaction control apart) and relationship loads."""
    seen: dict[str, list] = {"statements": [], "lazy": []}

    def on_statement(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            seen["statements"].append(" ".join(statement.split())[:120])

    def on_orm(state):
        if state.is_relationship_load:
            seen["lazy"].append(str(state.statement)[:120])

    event.listen(db.engine, "before_cursor_execute", on_statement)
    event.listen(db.session, "do_orm_execute", on_orm)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
        event.remove(db.session, "do_orm_execute", on_orm)


def actor(user: User) -> Actor:
    return Actor.from_user(db.session.get(User, user.id))


def fire(user: User, aid: int, name: str, **fields) -> tuple[Appraisal, dict]:
    who = actor(user)
    version = db.session.get(Appraisal, aid).version
    db.session.expire_all()
    with watched() as seen, unit_of_work(hooks=False):
        a = appraisals.fire_event(who, aid, name, {"version": version, **fields})
        assert a.version == version + 1  # the row is written once: its version goes up by one
    db.session.expire_all()
    assert db.session.get(Appraisal, aid).version == version + 1
    return a, seen


def progress(api, org, aid: int) -> None:
    detail = api.appraisal(aid, org.u_staff)
    items = [{"item_id": i["id"], "realisation": "12 laporan"} for i in detail["plan_items"]]
    r = api.put(
        f"/api/v1/appraisals/{aid}/progress", org.u_staff, json={"version": detail["version"], "items": items}
    )
    assert r.status_code == 200, r.get_json()


def test_each_happy_path_event_is_four_statements_without_lazy_loads(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    v = api.appraisal(aid, org.u_staff)["version"]
    assert (
        api.put(f"/api/v1/appraisals/{aid}/plan", org.u_staff, json=factories.plan_body(v)).status_code == 200
    )
    path = [
        (org.u_staff, "submit_plan", {}),
        (org.u_kasi, "approve_plan", {"comment": "Disetujui"}),
        (org.u_hr, "open_midyear_review", {}),
        (None, "progress", {}),
        (org.u_kasi, "complete_midyear_review", {"feedback": "Sesuai rencana"}),
        (None, "progress", {}),
        (org.u_kasi, "score", {"rating_hasil_kerja": "sesuai", "rating_perilaku": "sesuai"}),
        (org.u_kasi, "give_feedback", {"feedback": "Pertahankan"}),
        (org.u_staff, "accept_result", {}),
        (org.u_hr, "close", {}),
    ]
    for user, name, fields in path:
        if user is None:
            progress(api, org, aid)
            continue
        a, seen = fire(user, aid, name, **fields)
        assert seen["lazy"] == [], (name, seen["lazy"])
        assert len(seen["statements"]) <= MAX_STATEMENTS, (name, seen["statements"])
    assert a.state == "closed"


def test_assign_training_writes_the_row_once(api, org):
    """Loading the trainings used to autoflush the moved row: version + 2 for one event."""
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    v = api.appraisal(aid, org.u_staff)["version"]
    assert (
        api.put(f"/api/v1/appraisals/{aid}/plan", org.u_staff, json=factories.plan_body(v)).status_code == 200
    )
    for user, name, fields in [
        (org.u_staff, "submit_plan", {}),
        (org.u_kasi, "approve_plan", {}),
        (org.u_hr, "open_midyear_review", {}),
    ]:
        fire(user, aid, name, **fields)
    progress(api, org, aid)
    fire(org.u_kasi, aid, "complete_midyear_review", feedback="Sesuai")
    progress(api, org, aid)
    fire(
        org.u_kasi,
        aid,
        "score",
        rating_hasil_kerja="di_bawah",
        rating_perilaku="sesuai",
        justification="Kurang",
    )
    fire(org.u_kasi, aid, "give_feedback", feedback="Perlu pendampingan")
    due = (utcnow() + timedelta(days=20)).date()  # as the API schema hands it over
    a, seen = fire(
        org.u_kasi,
        aid,
        "assign_training",
        trainings=[{"competency": "Manajemen Data", "hours_jp": 20, "due_date": due}],
    )
    assert a.state == "training_assigned" and len(a.trainings) == 1
    version = a.version
    assert seen["lazy"] == []
    # The training row is one more INSERT beside the four.
    assert len(seen["statements"]) <= MAX_STATEMENTS + 1, seen["statements"]
    r = api.fire(aid, "accept_result", org.u_staff)
    assert r.status_code == 200
    body = r.get_json()
    assert body["version"] == version + 1


def test_recorded_leave_of_the_next_holder_still_moves_the_deadline(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    v = api.appraisal(aid, org.u_staff)["version"]
    assert (
        api.put(f"/api/v1/appraisals/{aid}/plan", org.u_staff, json=factories.plan_body(v)).status_code == 200
    )
    today = utcnow().date()
    db.session.add(
        Leave(
            employee_id=org.kasi.id,
            start_date=today,
            end_date=today + timedelta(days=14),
            kind="cuti_tahunan",
        )
    )
    db.session.flush()
    a, seen = fire(org.u_staff, aid, "submit_plan")
    assert any("leaves" in s for s in seen["statements"])  # the holder has leave: it is read
    a = db.session.get(Appraisal, aid)
    zone = a.unit.timezone
    entered = sla.local_date(a.state_entered_at, zone)
    plain = sla.due_at(a.state_entered_at, zone, 5, None, calendar.for_cycle(a.cycle))
    with_leave = sla.due_at(a.state_entered_at, zone, 5, None, deadlines.calendar_for(a, entered))
    assert with_leave > plain
    assert a.due_at == with_leave
