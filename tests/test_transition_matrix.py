"""Every transition of SPEC §3, for every role and from every state, read from the definition.

Appraisals are put straight into the source state by writing their rows (plan, behaviours,
realisations, ratings, trainings, objections), then the event is fired over HTTP as each
relation (or through the service as the system) and the answer checked.

The helpers here (``staff_appraisal``, ``put_in_state``, ``good_fields`` …) are shared by the
other test modules of the transition and guard suites.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from state_machines import APPRAISAL
from tests import factories
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import (
    BERAKHLAK,
    Appraisal,
    BehaviourExpectation,
    Objection,
    OutboxMessage,
    PlanItem,
    TrainingAssignment,
    TransitionLog,
)
from workflow_app.services import appraisals, cycles
from workflow_app.services.access import Actor

ROLES = ("employee", "assessor", "superior", "hr", "admin", "outsider", "system")
USER_OF = {
    "employee": "u_staff",
    "assessor": "u_kasi",
    "superior": "u_kabid",
    "hr": "u_hr",
    "admin": "u_admin",
    "outsider": "u_outsider",
}
TYPE_BASE = "https://kinerja.example/problems/"


# --- shared helpers -----------------------------------------------------------------------------


def staff_appraisal(org, **cycle_dates) -> Appraisal:
    """Launch a cycle for the dinas (service layer) and return the staff member's appraisal."""
    cycle = factories.cycle(org.dinas, **cycle_dates)
    cycle.state = "planning"
    cycles.launch(cycle, utcnow())
    db.session.flush()
    appraisal = db.session.scalar(
        select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.employee_id == org.staff.id)
    )
    db.session.commit()
    return appraisal


def complete_plan(a: Appraisal, midyear: bool = False, final: bool = False) -> None:
    a.plan_items.clear()
    a.behaviours.clear()
    db.session.flush()
    for pos, kind in enumerate(("utama", "tambahan"), start=1):
        a.plan_items.append(
            PlanItem(
                position=pos,
                kind=kind,
                rhk=f"Tersusunnya laporan {pos}",
                indicator="Jumlah laporan tepat waktu",
                target_value="12",
                target_unit="laporan",
                midyear_realisation="6 laporan" if midyear else None,
                final_realisation="12 laporan" if final else None,
            )
        )
    for value in BERAKHLAK:
        a.behaviours.append(BehaviourExpectation(value=value, expectation=f"Ekspektasi {value}"))


def put_in_state(a: Appraisal, state: str, event: str | None = None, **overrides) -> Appraisal:
    """Write the rows an appraisal in ``state`` would have, so that ``event``'s guards pass.

    ``overrides`` are set on the appraisal row last (e.g. ``scored_at``, ``predikat``).
    """
    now = utcnow()
    a.objections.clear()
    a.trainings.clear()
    db.session.flush()
    order = list(APPRAISAL.states)
    stage = {
        "plan_drafted": 0,
        "plan_submitted": 0,
        "plan_approved": 0,
        "midyear_review": 1,
        "final_review": 2,
        "scored": 3,
        "feedback_given": 3,
        "training_assigned": 3,
        "objection_filed": 3,
        "closed": 3,
        "cancelled": 0,
    }[state]
    assert state in order
    complete_plan(a, midyear=stage >= 1, final=stage >= 2)
    a.rating_hasil_kerja = a.rating_perilaku = a.predikat = a.scored_at = None
    a.feedback = a.midyear_feedback = a.reopened_at = None
    if stage >= 2:
        a.midyear_feedback = "Sesuai rencana"
    if stage >= 3:
        a.rating_hasil_kerja = "sesuai"
        a.rating_perilaku = "sesuai"
        a.predikat = "baik"
        a.scoring_version = "2022.1"
        a.scored_at = now - timedelta(days=1)
    if state in ("feedback_given", "training_assigned", "closed"):
        a.feedback = "Pertahankan"
    if state in ("feedback_given", "training_assigned") and event == "close":
        a.scored_at = now - timedelta(days=20)  # the objection window has passed
    if state in ("training_assigned", "closed"):
        a.trainings.append(
            TrainingAssignment(
                competency="Manajemen Data",
                hours_jp=20,
                due_date=(now + timedelta(days=60)).date(),
                status="completed" if event == "close" or state == "closed" else "assigned",
            )
        )
    if state == "objection_filed":
        a.objections.append(Objection(reason="Tidak sesuai", filed_at=now))
    a.state = state
    a.state_entered_at = now
    for key, value in overrides.items():
        setattr(a, key, value)
    db.session.flush()
    db.session.commit()
    return a


def good_fields(event: str) -> dict:
    """Event fields that satisfy the event's required fields and guards."""
    due = (utcnow() + timedelta(days=30)).date().isoformat()
    return {
        "submit_plan": {},
        "return_plan": {"comment": "Lengkapi indikator"},
        "approve_plan": {"comment": "Disetujui"},
        "revise_plan": {"reason": "Mutasi jabatan"},
        "open_midyear_review": {},
        "complete_midyear_review": {"feedback": "Progres baik"},
        "score": {"rating_hasil_kerja": "sesuai", "rating_perilaku": "sesuai"},
        "give_feedback": {"feedback": "Pertahankan"},
        "assign_training": {"trainings": [{"competency": "Analisis Data", "hours_jp": 10, "due_date": due}]},
        "close": {},
        "accept_result": {},
        "file_objection": {"reason": "Nilai tidak sesuai bukti"},
        "resolve_objection": {"decision": "upheld", "reasoning": "Bukti sudah dipertimbangkan"},
        "cancel": {"reason": "Pegawai pensiun"},
        "reopen": {"reason": "Koreksi data", "due_date": due},
    }[event]


def counts(aid: int) -> tuple[int, int]:
    logs = db.session.scalar(
        select(func.count())
        .select_from(TransitionLog)
        .where(TransitionLog.entity == "appraisal", TransitionLog.entity_id == aid)
    )
    outbox = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.dedupe_key.like(f"appraisal:{aid}:%"))
    )
    return logs, outbox


def snapshot(aid: int) -> tuple:
    db.session.expire_all()
    a = db.session.get(Appraisal, aid)
    return (a.state, a.version, *counts(aid))


def fire_as(api, org, role: str, a: Appraisal, event: str, fields: dict):
    """Fire ``event`` as ``role``; return (status, problem-or-body)."""
    db.session.expire_all()
    version = db.session.get(Appraisal, a.id).version
    if role == "system":
        try:
            appraisals.fire_event(Actor.system(), a.id, event, {"version": version, **fields})
        except problems.Problem as exc:
            db.session.rollback()
            return exc.status, exc.to_dict()
        db.session.commit()
        return 200, {"state": db.session.get(Appraisal, a.id).state}
    user = getattr(org, USER_OF[role])
    r = api.post(f"/api/v1/appraisals/{a.id}/events/{event}", user, json={"version": version, **fields})
    if r.status_code >= 400:
        assert r.mimetype == "application/problem+json", r.data
    return r.status_code, r.get_json()


# --- the matrix ---------------------------------------------------------------------------------

TRANSITIONS = list(APPRAISAL.transitions.values())
ACCEPT_CASES = [(t.event, src, role) for t in TRANSITIONS for src in t.source for role in t.roles]
ROLE_CASES = [(t.event, role) for t in TRANSITIONS for role in ROLES if role not in t.roles]
STATE_CASES = [(t.event, state) for t in TRANSITIONS for state in APPRAISAL.states if state not in t.source]


def test_matrix_covers_the_definition():
    assert {e for e, _, _ in ACCEPT_CASES} == set(APPRAISAL.transitions)
    assert len(STATE_CASES) == sum(len(APPRAISAL.states) - len(t.source) for t in TRANSITIONS)


@pytest.mark.parametrize(("event", "source", "role"), ACCEPT_CASES, ids=lambda v: str(v))
def test_accepted_for_each_role_from_each_source(api, org, event, source, role):
    t = APPRAISAL.transitions[event]
    a = put_in_state(staff_appraisal(org), source, event)
    before = snapshot(a.id)
    status, body = fire_as(api, org, role, a, event, good_fields(event))
    assert status == 200, body
    assert body["state"] == t.target(source)
    after = snapshot(a.id)
    assert after[0] == t.target(source)
    assert after[1] > before[1]
    assert after[2:] == (before[2] + 1, before[3] + 1)
    log = db.session.scalars(
        select(TransitionLog)
        .where(TransitionLog.entity == "appraisal", TransitionLog.entity_id == a.id)
        .order_by(TransitionLog.seq.desc())
    ).first()
    assert (log.event, log.from_state, log.to_state, log.actor_role) == (
        event,
        source,
        t.target(source),
        role,
    )
    assert (
        db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"appraisal:{a.id}:{log.seq}")
        ).payload["event"]
        == event
    )


@pytest.mark.parametrize(("event", "role"), ROLE_CASES, ids=lambda v: str(v))
def test_refused_for_every_other_role(api, org, event, role):
    t = APPRAISAL.transitions[event]
    source = t.source[0]
    a = put_in_state(staff_appraisal(org), source, event)
    before = snapshot(a.id)
    status, body = fire_as(api, org, role, a, event, good_fields(event))
    expected = 404 if role == "outsider" else 403
    assert status == expected, body
    assert body["type"] == TYPE_BASE + ("not-found" if expected == 404 else "forbidden")
    assert snapshot(a.id) == before


@pytest.mark.parametrize(("event", "state"), STATE_CASES, ids=lambda v: str(v))
def test_refused_from_every_other_state(api, org, event, state):
    t = APPRAISAL.transitions[event]
    a = put_in_state(staff_appraisal(org), state, event)
    for role in t.roles:
        before = snapshot(a.id)
        status, body = fire_as(api, org, role, a, event, good_fields(event))
        assert status == 409, (role, body)
        assert body["type"].endswith("/invalid-transition")
        assert body["state"] == state
        assert body["allowed_events"] == APPRAISAL.allowed_events(state, {role})
        assert snapshot(a.id) == before
