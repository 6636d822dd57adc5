"""State-machine definitions: the single source for API, UI buttons, docs and tests."""

from state_machines import appraisal, cycle
from state_machines.core import State, Transition, WorkflowDefinition

APPRAISAL = WorkflowDefinition(appraisal.DEFINITION)
CYCLE = WorkflowDefinition(cycle.DEFINITION)

WORKFLOWS = {"appraisal": APPRAISAL, "cycle": CYCLE}

__all__ = ["APPRAISAL", "CYCLE", "WORKFLOWS", "State", "Transition", "WorkflowDefinition"]
