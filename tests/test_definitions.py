"""The state-machine definitions: consistent, complete, and exported faithfully."""

import pytest

from state_machines import APPRAISAL, CYCLE, WORKFLOWS
from state_machines.core import WorkflowDefinition
from workflow_app.models import Cycle
from workflow_app.services import guards

SPEC_STATES = {
    "plan_drafted",
    "plan_submitted",
    "plan_approved",
    "midyear_review",
    "final_review",
    "scored",
    "feedback_given",
    "training_assigned",
    "closed",
    "objection_filed",
    "cancelled",
}
# SPEC §3, row by row: event -> (sources, dest, roles), as issue 6 amended it: the right to
# object survives training, and the employee may accept the result (a reflexive "=" event).
SPEC_TRANSITIONS = {
    "submit_plan": ({"plan_drafted"}, "plan_submitted", {"employee"}),
    "return_plan": ({"plan_submitted"}, "plan_drafted", {"assessor"}),
    "approve_plan": ({"plan_submitted"}, "plan_approved", {"assessor"}),
    "revise_plan": ({"plan_approved", "midyear_review"}, "plan_drafted", {"assessor", "hr"}),
    "open_midyear_review": ({"plan_approved"}, "midyear_review", {"hr", "system"}),
    "complete_midyear_review": ({"midyear_review"}, "final_review", {"assessor"}),
    "score": ({"final_review"}, "scored", {"assessor"}),
    "give_feedback": ({"scored"}, "feedback_given", {"assessor"}),
    "assign_training": ({"feedback_given"}, "training_assigned", {"assessor", "hr"}),
    "close": ({"feedback_given", "training_assigned"}, "closed", {"hr", "system"}),
    "file_objection": ({"scored", "feedback_given", "training_assigned"}, "objection_filed", {"employee"}),
    "accept_result": ({"scored", "feedback_given", "training_assigned"}, "=", {"employee"}),
    "resolve_objection": ({"objection_filed"}, "scored", {"superior"}),
    "cancel": (SPEC_STATES - {"closed", "cancelled"}, "cancelled", {"hr"}),
    "reopen": ({"closed"}, "final_review", {"hr"}),
}


def test_appraisal_machine_is_exactly_spec_section_3():
    assert set(APPRAISAL.states) == SPEC_STATES
    assert APPRAISAL.initial == "plan_drafted"
    assert set(APPRAISAL.terminal_states) == {"closed", "cancelled"}
    actual = {e: (set(t.source), t.dest, set(t.roles)) for e, t in APPRAISAL.transitions.items()}
    assert actual == SPEC_TRANSITIONS


def test_cycle_machine_is_spec_section_4():
    assert list(CYCLE.states) == ["draft", "planning", "midyear", "assessment", "closed"]
    assert set(CYCLE.transitions) == {"launch", "open_midyear", "open_scoring", "close"}


@pytest.mark.parametrize("workflow", list(WORKFLOWS.values()), ids=list(WORKFLOWS))
def test_every_guard_is_implemented(workflow):
    for t in workflow.transitions.values():
        for name in t.guards:
            assert name in guards.GUARDS, f"{workflow.name}.{t.event} names unknown guard {name}"


def test_sla_rules_name_real_cycle_dates():
    cycle_columns = set(Cycle.__table__.columns.keys())
    for t in APPRAISAL.transitions.values():
        sla = t.sla or {}
        assert set(sla) <= {"working_days", "until", "or_working_days", "until_field"}, t.event
        if "until" in sla:
            assert sla["until"] in cycle_columns, t.event
        if "until_field" in sla:
            assert sla["until_field"] in t.accepted_fields, t.event


def test_every_non_terminal_state_has_a_holder_and_a_way_out():
    for name, state in APPRAISAL.states.items():
        if state.terminal:
            continue
        assert state.holder is not None, name
        assert APPRAISAL.events_from(name), name


def test_one_shared_machine_fires_on_plain_rows():
    class Row:
        state = "plan_drafted"

    row = Row()
    APPRAISAL.fire(row, "submit_plan")
    assert row.state == "plan_submitted"
    assert APPRAISAL.machine.models == []  # rows are never added to the machine


def test_invalid_definitions_are_refused():
    bad = {
        "name": "x",
        "version": "1",
        "initial": "a",
        "roles": ["r"],
        "states": [{"name": "a", "label": {}}],
        "transitions": [{"event": "go", "source": ["a"], "dest": "nowhere", "roles": ["r"]}],
    }
    with pytest.raises(ValueError, match="unknown state"):
        WorkflowDefinition(bad)


def test_json_export_carries_roles_guards_and_mermaid():
    data = APPRAISAL.to_json()
    assert data["version"] == APPRAISAL.version
    score = next(t for t in data["transitions"] if t["event"] == "score")
    assert score["roles"] == ["assessor"]
    assert "scoring_window_open" in score["guards"]
    assert data["mermaid"].lstrip("-\n ").splitlines()[0]  # non-empty
    for t in APPRAISAL.transitions.values():
        for source in t.source:
            assert f"{source} --> {t.target(source)}: {t.event}" in data["mermaid"]
