"""Workflow definitions as data, and the one shared ``transitions`` Machine per workflow.

A definition is a plain dict (see ``appraisal.py`` and ``cycle.py``). This module validates it,
builds a single ``Machine(model=None, auto_transitions=False)`` from it, and exports it as JSON and
Mermaid. Rows are never added to the machine: events are fired with
``MACHINE.events[name].trigger(row)``, which reads and writes ``row.state``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property

from transitions import Machine

ALL_NON_TERMINAL = "*"
# A reflexive transition: the event is recorded and its effect runs, the state stays.
SAME_STATE = "="


@dataclass(frozen=True)
class Transition:
    event: str
    source: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    sla: dict | None = None
    label: dict = field(default_factory=dict)

    @property
    def accepted_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("comment", *self.required, *self.fields)))

    @property
    def reflexive(self) -> bool:
        return self.dest == SAME_STATE

    def target(self, source: str) -> str:
        """The state this transition leads to from ``source``."""
        return source if self.reflexive else self.dest


@dataclass(frozen=True)
class State:
    name: str
    holder: str | None
    terminal: bool
    label: dict


class WorkflowDefinition:
    """A validated workflow definition with its shared Machine."""

    def __init__(self, data: dict):
        self.data = copy.deepcopy(data)
        self.name: str = data["name"]
        self.version: str = data["version"]
        self.initial: str = data["initial"]
        self.roles: tuple[str, ...] = tuple(data["roles"])
        self.states: dict[str, State] = {
            s["name"]: State(s["name"], s.get("holder"), bool(s.get("terminal")), s["label"])
            for s in data["states"]
        }
        non_terminal = [n for n, s in self.states.items() if not s.terminal]
        self.transitions: dict[str, Transition] = {}
        for t in data["transitions"]:
            source = non_terminal if t["source"] == ALL_NON_TERMINAL else t["source"]
            self.transitions[t["event"]] = Transition(
                event=t["event"],
                source=tuple(source),
                dest=t["dest"],
                roles=tuple(t["roles"]),
                guards=tuple(t.get("guards", ())),
                required=tuple(t.get("required", ())),
                fields=tuple(t.get("fields", ())),
                sla=t.get("sla"),
                label=t.get("label", {}),
            )
        self._validate()
        self.machine = Machine(
            model=None,
            states=list(self.states),
            transitions=[
                {"trigger": t.event, "source": list(t.source), "dest": t.dest}
                for t in self.transitions.values()
            ],
            initial=None,
            auto_transitions=False,
            model_attribute="state",
            send_event=True,
            queued=False,
        )

    def _validate(self) -> None:
        if self.initial not in self.states:
            raise ValueError(f"{self.name}: initial state {self.initial!r} is not a state")
        for t in self.transitions.values():
            for s in (*t.source, *(() if t.reflexive else (t.dest,))):
                if s not in self.states:
                    raise ValueError(f"{self.name}.{t.event}: unknown state {s!r}")
            for r in t.roles:
                if r not in self.roles:
                    raise ValueError(f"{self.name}.{t.event}: unknown role {r!r}")
        for s in self.states.values():
            if s.holder is not None and s.holder not in self.roles:
                raise ValueError(f"{self.name}: state {s.name} has unknown holder {s.holder!r}")

    # --- queries used by services, API and UI -------------------------------------------------

    def events_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.source]

    def allowed_events(self, state: str, relations: set[str] | frozenset[str]) -> list[str]:
        """Events the holder of ``relations`` may fire from ``state`` (guards not evaluated)."""
        return [t.event for t in self.events_from(state) if relations.intersection(t.roles)]

    def holder_of(self, state: str) -> str | None:
        """The role a state waits on (None for terminal states)."""
        return self.states[state].holder

    def states_held_by(self, role: str) -> tuple[str, ...]:
        return tuple(n for n, s in self.states.items() if s.holder == role and not s.terminal)

    def is_overdue(self, state: str, due_at, now) -> bool:
        """An open item whose deadline has passed."""
        return due_at is not None and due_at < now and state in self.open_states

    @cached_property
    def terminal_states(self) -> tuple[str, ...]:
        return tuple(n for n, s in self.states.items() if s.terminal)

    @cached_property
    def open_states(self) -> tuple[str, ...]:
        return tuple(n for n, s in self.states.items() if not s.terminal)

    def fire(self, row, event: str) -> None:
        """Move ``row`` along ``event`` with the shared machine (raises MachineError if invalid)."""
        self.machine.events[event].trigger(row)

    # --- exports ------------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "initial": self.initial,
            "roles": list(self.roles),
            "states": [
                {
                    "name": s.name,
                    "holder": s.holder,
                    "terminal": s.terminal,
                    "label": s.label,
                }
                for s in self.states.values()
            ],
            "transitions": [
                {
                    "event": t.event,
                    "source": list(t.source),
                    "dest": t.dest,
                    "roles": list(t.roles),
                    "guards": list(t.guards),
                    "required": list(t.required),
                    "fields": list(t.accepted_fields),
                    "sla": t.sla,
                    "label": t.label,
                }
                for t in self.transitions.values()
            ],
            "mermaid": self.to_mermaid(),
        }

    def to_mermaid(self) -> str:
        """Mermaid ``stateDiagram-v2`` text, generated by transitions' GraphMachine."""
        from transitions.extensions import GraphMachine

        graph = GraphMachine(
            states=list(self.states),
            transitions=[
                {"trigger": t.event, "source": list(t.source), "dest": t.dest}
                for t in self.transitions.values()
            ],
            initial=self.initial,
            auto_transitions=False,
            graph_engine="mermaid",
            title=f"{self.name} v{self.version}",
            show_state_attributes=False,
        )
        text = graph.get_graph().draw(None)
        # Drop the run-time highlighting classes: the diagram documents the definition only.
        lines = [
            ln
            for ln in text.splitlines()
            if not ln.strip().startswith(("classDef ", "Class ")) and ln.strip() != "---"
        ]
        for state in self.terminal_states:
            lines.append(f"  {state} --> [*]")
        return "\n".join(lines).rstrip() + "\n"
