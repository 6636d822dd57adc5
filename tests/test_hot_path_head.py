"""The head of each appraisal's and cycle's audit chain lives on its row (migration 0008)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from tests import factories
from tests.test_lifecycle import drive_to_final_review, launch, staff_appraisal
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Cycle, TransitionLog
from workflow_app.services import audit
from workflow_app.services.audit_verify import verify_all

_spec = importlib.util.spec_from_file_location(
    "migration_0008", Path(__file__).parent.parent / "migrations" / "versions" / "0008_log_head_on_row.py"
)
MIGRATION = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(MIGRATION)


def newest(entity: str, entity_id: int) -> tuple[int, str]:
    row = db.session.execute(
        select(TransitionLog.seq, TransitionLog.hash)
        .where(TransitionLog.entity == entity, TransitionLog.entity_id == entity_id)
        .order_by(TransitionLog.seq.desc())
        .limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, audit.GENESIS)


def heads(model) -> dict[int, tuple[int, str]]:
    db.session.expire_all()
    return {
        r.id: (r.log_seq, r.log_hash)
        for r in db.session.execute(select(model.id, model.log_seq, model.log_hash))
    }


def test_every_append_moves_the_head_on_the_row(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    drive_to_final_review(api, org, aid)  # transitions, plan and progress edits
    api.post(f"/api/v1/appraisals/{aid}/nudge", org.u_hr)
    for aid_, head in heads(Appraisal).items():
        assert head == newest("appraisal", aid_)
    for cid, head in heads(Cycle).items():
        assert head == newest("cycle", cid)
    assert heads(Appraisal)[aid][0] >= 8
    assert verify_all().ok


def test_an_append_to_an_appraisal_or_cycle_chain_without_its_row_fails_loudly(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    common = {"event": "note", "from_state": "x", "to_state": "x", "actor_user_id": None}
    common |= {"actor_role": "hr", "machine_version": "1", "at": utcnow()}
    with pytest.raises(audit.HeadNotOnRow):
        audit.append(entity="appraisal", entity_id=aid, **common)
    with pytest.raises(audit.HeadNotOnRow):
        audit.append(entity="cycle", entity_id=cycle.id, row=db.session.get(Appraisal, aid), **common)
    # other chains keep the query
    audit.append(entity="employee", entity_id=org.staff.id, **common)


def test_a_nudge_moves_the_head_without_bumping_the_version(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    before = api.appraisal(aid, org.u_hr)["version"]
    r = api.post(f"/api/v1/appraisals/{aid}/nudge", org.u_hr)
    assert r.status_code in (200, 201), r.get_json()
    assert api.appraisal(aid, org.u_hr)["version"] == before
    assert heads(Appraisal)[aid] == newest("appraisal", aid)


def test_the_migration_backfills_heads_from_the_log(api, org):
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    v = api.appraisal(aid, org.u_staff)["version"]
    api.put(f"/api/v1/appraisals/{aid}/plan", org.u_staff, json=factories.plan_body(v))
    assert api.fire(aid, "submit_plan", org.u_staff).status_code == 200
    expected_a, expected_c = heads(Appraisal), heads(Cycle)
    assert expected_a[aid][0] == 2 and expected_c[cycle.id][0] >= 1
    for model in (Appraisal, Cycle):
        db.session.execute(
            update(model)
            .values(log_seq=0, log_hash=audit.GENESIS)
            .execution_options(synchronize_session=False)
        )
    for table, entity in MIGRATION.TABLES:
        db.session.execute(text(MIGRATION.BACKFILL.format(table=table, entity=entity)))
    assert heads(Appraisal) == expected_a
    assert heads(Cycle) == expected_c
    untouched = db.session.scalar(select(func.count()).select_from(Appraisal).where(Appraisal.log_seq == 0))
    assert untouched == len(expected_a) - 1
