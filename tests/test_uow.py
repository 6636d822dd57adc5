"""The unit of work: one commit at the boundary, a lost race as 409, savepoints per bulk item."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.test_lifecycle import launch, staff_appraisal
from tests.test_separation_of_duties import appraisal_of, submit_plan
from workflow_app import problems, uow
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, TransitionLog, Unit
from workflow_app.services import audit


def test_a_bulk_item_that_loses_a_race_leaves_the_items_before_it_committed(api, org, monkeypatch):
    """Item 2 loses a race on its log row: its savepoint rolls back, item 1 stays, truthfully."""
    cycle, _ = launch(api, org)
    first, second = staff_appraisal(org, cycle), appraisal_of(cycle, org.peer).id
    submit_plan(api, org, first, org.u_staff)
    submit_plan(api, org, second, org.u_peer)
    seq_before = db.session.scalar(
        select(func.max(TransitionLog.seq)).where(
            TransitionLog.entity_id == second, TransitionLog.entity == "appraisal"
        )
    )
    real_head = audit.head

    def racing_head(entity, entity_id, row=None):
        seq, prev = real_head(entity, entity_id, row)
        if entity == "appraisal" and entity_id == second:
            # A concurrent writer appends the same seq between our read of the head and our flush.
            rival = TransitionLog(
                entity="appraisal", entity_id=second, seq=seq + 1, event="reassign", from_state="x",
                to_state="x", actor_role="hr", machine_version="x", created_at=utcnow(), prev_hash=prev,
                hash="0" * 64, key_id="rival",
            )  # fmt: skip
            with db.session.no_autoflush:
                db.session.connection().execute(TransitionLog.__table__.insert().values(
                    **{c.key: getattr(rival, c.key) for c in TransitionLog.__table__.columns if c.key != "id"}
                ))  # fmt: skip
        return seq, prev

    monkeypatch.setattr(audit, "head", racing_head)
    r = api.post(
        "/api/v1/appraisals/bulk-events",
        org.u_kasi,
        json={"event": "approve_plan", "ids": [first, second], "comment": "Disetujui"},
    )
    monkeypatch.setattr(audit, "head", real_head)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    results = {item["id"]: item for item in body["results"]}
    assert results[first]["ok"] and results[first]["state"] == "plan_approved"
    assert not results[second]["ok"]
    assert results[second]["problem"]["type"].endswith("/version-conflict")
    assert (body["applied"], body["failed"]) == (1, 1)
    # What the response says is what the database holds after the commit.
    db.session.expire_all()
    assert db.session.get(Appraisal, first).state == "plan_approved"
    assert db.session.get(Appraisal, second).state == "plan_submitted"
    assert (
        db.session.scalar(
            select(func.max(TransitionLog.seq)).where(
                TransitionLog.entity_id == second, TransitionLog.entity == "appraisal"
            )
        )
        == seq_before
    )


def test_unit_of_work_commits_once_and_runs_hooks_after(app):
    ran = []
    uow.after_commit(app, lambda: ran.append(db.session.scalar(select(func.count()).select_from(Unit))))
    try:
        with uow.unit_of_work():
            db.session.add(Unit(code="U1", name="Satu", path="/"))
            assert ran == []
        assert ran == [1]
    finally:
        app.extensions[uow.HOOKS_KEY].pop()


def test_unit_of_work_rolls_back_everything_on_a_problem(app):
    with pytest.raises(problems.Problem):
        with uow.unit_of_work():
            db.session.add(Unit(code="U2", name="Dua", path="/"))
            db.session.flush()
            raise problems.forbidden("no")
    assert db.session.scalar(select(func.count()).select_from(Unit).where(Unit.code == "U2")) == 0


def test_a_savepoint_rolls_back_its_item_only(app):
    with uow.unit_of_work(hooks=False):
        with uow.savepoint():
            db.session.add(Unit(code="KEEP", name="Tetap", path="/"))
        with pytest.raises(problems.Problem):
            with uow.savepoint():
                db.session.add(Unit(code="DROP", name="Buang", path="/"))
                db.session.flush()
                raise problems.forbidden("no")
    codes = set(db.session.scalars(select(Unit.code)))
    assert "KEEP" in codes and "DROP" not in codes


def test_flush_unique_maps_a_taken_key_to_a_field_error(app):
    db.session.add(Unit(code="SAME", name="A", path="/"))
    db.session.flush()
    with pytest.raises(problems.Problem) as caught:
        with uow.unit_of_work(hooks=False):
            db.session.add(Unit(code="SAME", name="B", path="/"))
            uow.flush_unique("code", "A unit with this code exists.")
    assert caught.value.status == 422 and "code" in caught.value.to_dict()["errors"]
