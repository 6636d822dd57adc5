"""Render docs/state-machines.md from the workflow definitions (``make docs`` writes it)."""

from __future__ import annotations

from state_machines import WORKFLOWS
from state_machines.core import WorkflowDefinition


def format_sla(sla: dict | None) -> str:
    if not sla:
        return "—"
    parts = []
    if "working_days" in sla:
        parts.append(f"{sla['working_days']} working days")
    if "until" in sla:
        text = f"until cycle `{sla['until']}`"
        if "or_working_days" in sla:
            text += f" or {sla['or_working_days']} working days, whichever is later"
        parts.append(text)
    if "until_field" in sla:
        parts.append(f"until the event's `{sla['until_field']}`")
    return "; ".join(parts) or "—"


def _codes(values) -> str:
    return ", ".join(f"`{v}`" for v in values) if values else "—"


def _source(wf: WorkflowDefinition, source: tuple[str, ...]) -> str:
    if len(source) > 1 and set(source) == set(wf.open_states):
        return "any non-terminal state"
    return _codes(source)


def render_workflow(key: str, wf: WorkflowDefinition) -> str:
    lines = [
        f"## {key} (version {wf.version})",
        "",
        f"Initial state `{wf.initial}`; terminal: {_codes(wf.terminal_states)}.",
        "",
        "```mermaid",
        wf.to_mermaid().rstrip("\n"),
        "```",
        "",
        "### States",
        "",
        "| state | waits on | label (id / en) |",
        "|---|---|---|",
    ]
    for state in wf.states.values():
        holder = f"`{state.holder}`" if state.holder else "— (terminal)" if state.terminal else "—"
        label = " / ".join(state.label.get(lang, "") for lang in ("id", "en"))
        lines.append(f"| `{state.name}` | {holder} | {label} |")
    lines += [
        "",
        "### Transitions",
        "",
        "| event | from | to | roles | guards | required fields | SLA of the state entered |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in wf.transitions.values():
        lines.append(
            f"| `{t.event}` | {_source(wf, t.source)} | {'(stays)' if t.reflexive else f'`{t.dest}`'} | {_codes(t.roles)} | "
            f"{_codes(t.guards)} | {_codes(t.required)} | {'keeps the deadline' if t.reflexive else format_sla(t.sla)} |"
        )
    return "\n".join(lines) + "\n"


def render_state_machine_docs() -> str:
    """The whole Markdown document, deterministic for a given set of definitions."""
    parts = [
        "# State machines",
        "",
        "<!-- Generated from state_machines/ by `make docs` "
        "(flask --app wsgi docs state-machines); do not edit by hand. -->",
        "",
        "The definitions in `state_machines/` are the single source for the API, the UI buttons, "
        "these diagrams and the tests. Roles are the caller's relation to the object "
        "(`employee`, `assessor`, `superior`, `hr`, `system`); guards are implemented in "
        "`workflow_app/services/guards.py`; SLA dates resolve in the unit's time zone and skip "
        "non-working days.",
        "",
    ]
    for key, wf in WORKFLOWS.items():
        parts.append(render_workflow(key, wf))
    return "\n".join(parts).rstrip("\n") + "\n"
