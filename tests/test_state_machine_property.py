"""Random event sequences by random actors against one appraisal (hypothesis stateful testing).

Each example launches a fresh cycle (so it starts from a fresh appraisal in ``plan_drafted``)
inside the test's rolled-back transaction, then fires events over HTTP as the org's users and
through the service layer as the system, with payloads that are sometimes valid.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from state_machines import APPRAISAL
from tests import factories
from tests.test_transition_matrix import USER_OF, complete_plan, counts, good_fields, staff_appraisal
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, TransitionLog
from workflow_app.services import appraisals
from workflow_app.services.access import Actor
from workflow_app.services.audit_verify import verify_chain

pytestmark = pytest.mark.slow

ACTORS = ("employee", "assessor", "superior", "hr", "admin", "outsider", "system")
EVENTS = (*APPRAISAL.transitions, "bogus_event")
TEXT = st.sampled_from([None, "", "   ", "Alasan yang jelas", "x" * 50])
FIELD_VALUES = {
    "comment": TEXT,
    "reason": TEXT,
    "feedback": TEXT,
    "reasoning": TEXT,
    "justification": TEXT,
    "decision": st.sampled_from(["upheld", "amended", "both"]),
    "rating_hasil_kerja": st.sampled_from(["di_bawah", "sesuai", "di_atas", "luar_biasa"]),
    "rating_perilaku": st.sampled_from(["di_bawah", "sesuai", "di_atas"]),
    "trainings": st.sampled_from(
        [
            [],
            [{"competency": "Analisis Data", "hours_jp": 8, "due_date": "2031-01-31"}],
            [{"competency": "", "hours_jp": 0, "due_date": "2031-01-31"}],
        ]
    ),
    "due_date": st.sampled_from(["2031-06-30", "kemarin", "2000-01-01"]),
    "bogus": st.integers(),
}


def payloads(event: str):
    if event not in APPRAISAL.transitions:
        return st.just({})
    return st.one_of(
        st.just(good_fields(event)),
        st.just(good_fields(event)),
        st.fixed_dictionaries({}, optional=FIELD_VALUES),
    )


@st.composite
def actions(draw):
    event = draw(st.sampled_from(EVENTS))
    actor = draw(st.sampled_from(ACTORS))
    fields = draw(payloads(event))
    version = draw(st.sampled_from(["current"] * 6 + ["stale", "missing", "future"]))
    return event, actor, fields, version


BACKWARD = {"cancel", "return_plan", "revise_plan"}
REACHED: set | None = None  # (event, from state) pairs that succeeded, for the coverage check


class AppraisalLife(RuleBasedStateMachine):
    api = None
    org = None

    def __init__(self):
        super().__init__()
        db.session.rollback()
        a = staff_appraisal(self.org)
        self.appraisal_id = a.id
        complete_plan(a, midyear=True, final=True)  # a drafted plan, ready to submit
        db.session.commit()

    # --- helpers --------------------------------------------------------------------------------

    def row(self) -> Appraisal:
        db.session.expire_all()
        return db.session.get(Appraisal, self.appraisal_id)

    def fire(self, event, actor, fields, version):
        """Fire one event; return (status, body)."""
        if actor == "system":
            data = dict(fields)
            if version is not None:
                data["version"] = version
            try:
                appraisals.fire_event(Actor.system(), self.appraisal_id, event, data)
            except problems.Problem as exc:
                db.session.rollback()
                return exc.status, exc.to_dict()
            db.session.commit()
            return 200, {"state": self.row().state}
        body = dict(fields)
        if version is not None:
            body["version"] = version
        user = getattr(self.org, USER_OF[actor])
        r = self.api.post(f"/api/v1/appraisals/{self.appraisal_id}/events/{event}", user, json=body)
        assert r.status_code < 500, (event, actor, body, r.data[:300])
        if r.status_code >= 400:
            assert r.mimetype == "application/problem+json"
        return r.status_code, r.get_json()

    # --- rules ----------------------------------------------------------------------------------

    @rule(action=actions())
    def fire_random_event(self, action):
        self.check_event(*action)

    @rule(data=st.data())
    def fire_likely_event(self, data):
        """Mostly-valid moves: a few events of the current state, each by one of its roles."""
        for _ in range(data.draw(st.integers(1, 6), label="moves")):
            state = self.row().state
            choices = APPRAISAL.events_from(state)
            if not choices:
                return
            forward = [t for t in choices if t.event not in BACKWARD] or choices
            t = data.draw(st.sampled_from(forward * 6 + choices), label="transition")
            actor = data.draw(st.sampled_from(t.roles), label="actor")
            fields = data.draw(st.one_of(st.just(good_fields(t.event)), payloads(t.event)), label="fields")
            version = data.draw(st.sampled_from(["current"] * 8 + ["stale"]), label="version")
            self.check_event(t.event, actor, fields, version)

    def check_event(self, event, actor, fields, version_kind):
        if actor == "system" and event in APPRAISAL.transitions:
            fields = good_fields(event) if fields else {}  # the system's payloads are its own
        before = self.row()
        state, version = before.state, before.version
        logs, outbox = counts(self.appraisal_id)
        sent = {"current": version, "stale": version - 1, "missing": None, "future": version + 3}[
            version_kind
        ]
        status, body = self.fire(event, actor, fields, sent)
        after = self.row()
        if status == 200:
            t = APPRAISAL.transitions[event]
            assert state in t.source
            assert actor in t.roles
            assert after.state == t.target(state) == body["state"]
            assert after.version > version
            assert counts(self.appraisal_id) == (logs + 1, outbox + 1)
            if REACHED is not None:
                REACHED.add((event, state))
        else:
            assert 400 <= status < 500, body
            assert body["type"] and body["title"] and body["status"] == status
            assert (after.state, after.version) == (state, version)
            assert counts(self.appraisal_id) == (logs, outbox)
            if status == 409 and body["type"].endswith("/invalid-transition"):
                assert state not in APPRAISAL.transitions[event].source
                assert isinstance(body["allowed_events"], list)
            # The request body is validated (422) before the appraisal is looked up, so a
            # malformed body answers the same whether or not the id exists.
            schema_error = status == 422 and actor != "system" and "version" not in body.get("errors", {})
            if event not in APPRAISAL.transitions:
                assert status == 404
            elif actor == "outsider":
                assert status == 404 or schema_error, body
            elif actor not in APPRAISAL.transitions[event].roles:
                assert status == 403 or schema_error, body

    @rule(
        what=st.sampled_from(
            [
                "edit_plan",
                "record_progress",
                "complete_trainings",
                "fill_plan_directly",
                "objection_window_passes",
            ]
        ),
        items=st.integers(min_value=0, max_value=2),
        stale=st.sampled_from([False, False, False, True]),
    )
    def work_on_the_appraisal(self, what, items, stale):
        """Edits that are not transitions (one rule, so that transitions get most steps)."""
        if what == "edit_plan":
            self.edit_plan(items)
        elif what == "complete_trainings":
            self.complete_trainings(stale)
        else:
            getattr(self, what)()

    def edit_plan(self, items):
        a = self.row()
        body = factories.plan_body(a.version, items=items)
        r = self.api.put(f"/api/v1/appraisals/{a.id}/plan", self.org.u_staff, json=body)
        assert r.status_code in (200, 409), r.get_json()
        assert (r.status_code == 200) == (a.state == "plan_drafted")

    def record_progress(self):
        a = self.row()
        if not a.plan_items:
            return
        body = {
            "version": a.version,
            "items": [{"item_id": i.id, "realisation": "10 laporan"} for i in a.plan_items],
        }
        r = self.api.put(f"/api/v1/appraisals/{a.id}/progress", self.org.u_staff, json=body)
        assert r.status_code in (200, 409), r.get_json()
        assert (r.status_code == 200) == (a.state in ("midyear_review", "final_review"))

    def complete_trainings(self, stale: bool = False):
        """The employee completes each assigned training: 200 only in training_assigned with the
        current version; 409 training-locked in any other state, 409 version-conflict if stale."""
        a = self.row()
        for t in [t for t in a.trainings if t.status == "assigned"]:
            a = self.row()
            state, version = a.state, a.version
            logs, outbox = counts(self.appraisal_id)
            sent = version - 1 if stale else version
            r = self.api.patch(
                f"/api/v1/appraisals/{a.id}/trainings/{t.id}",
                self.org.u_staff,
                json={"version": sent, "status": "completed", "evidence": "Sertifikat"},
            )
            after = self.row()
            training = next(x for x in after.trainings if x.id == t.id)
            if state != "training_assigned":
                assert r.status_code == 409 and r.get_json()["type"].endswith("/training-locked"), (
                    r.get_json()
                )
            elif stale:
                assert r.status_code == 409 and r.get_json()["type"].endswith("/version-conflict"), (
                    r.get_json()
                )
            else:
                assert r.status_code == 200, r.get_json()
                assert training.status == "completed" and after.version > version
                assert after.state == state  # completing a training is an edit, not a transition
                assert counts(self.appraisal_id)[0] == logs + 1  # logged in the appraisal's chain
                continue
            assert training.status == "assigned" and (after.state, after.version) == (state, version)
            assert counts(self.appraisal_id) == (logs, outbox)

    def fill_plan_directly(self):
        """Shortcut: a complete plan with every realisation, so later guards can pass."""
        a = self.row()
        if a.state == "plan_drafted":
            complete_plan(a, midyear=True, final=True)
            db.session.commit()

    def objection_window_passes(self):
        a = self.row()
        if a.scored_at is not None:
            a.scored_at = utcnow() - timedelta(days=20)
            db.session.commit()

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def state_is_known(self):
        assert self.row().state in APPRAISAL.states

    def teardown(self):
        a = self.row()
        rows = db.session.scalars(
            select(TransitionLog)
            .where(TransitionLog.entity == "appraisal", TransitionLog.entity_id == a.id)
            .order_by(TransitionLog.seq)
        ).all()
        state = APPRAISAL.initial
        for row in rows:
            if row.event not in APPRAISAL.transitions:  # an audited edit: the state stays
                assert row.from_state == row.to_state == state, (row.seq, row.event, state)
                continue
            t = APPRAISAL.transitions[row.event]
            assert row.from_state == state and state in t.source, (row.seq, row.event, state)
            state = t.target(state)
            assert row.to_state == state
        assert state == a.state
        assert verify_chain("appraisal", a.id) == []
        db.session.rollback()


def test_random_event_sequences(app, api, org):
    db.session.commit()
    AppraisalLife.api = api
    AppraisalLife.org = org
    global REACHED
    REACHED = set()
    try:
        run_state_machine_as_test(
            AppraisalLife,
            settings=settings(
                max_examples=30,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                database=None,
            ),
        )
        # the random walk does get somewhere: most of the machine is exercised
        assert len({e for e, _ in REACHED}) >= 7, sorted(REACHED)
    finally:
        AppraisalLife.api = AppraisalLife.org = None
        REACHED = None
