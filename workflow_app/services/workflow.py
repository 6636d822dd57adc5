"""The one path that fires every event of every workflow (appraisal, cycle, and those to come).

``fire`` takes a loaded (locked) row and does, in this order and nowhere else:

1. find the transition (404 ``unknown-event``);
2. authorise: the caller's relations to the row against the roles the definition names (403);
3. check the caller's ``version`` (409 ``version-conflict``), before the state, so that a caller
   who acted on a stale copy reloads whatever the state has become;
4. check the state (409 ``invalid-transition`` with the events the caller may fire);
5. check the fields (422 per field) and the guards (422 ``guard-failed``);
6. fire the shared machine, run the event's effect, set the deadline of the state entered;
7. append the log row and the outbox row;
8. flush (a lost race becomes 409); the unit of work commits.

The per-workflow parts (``Workflow``) say how to relate a caller to a row, build the guard
context, what each event's effect is, how deadlines are set, and what the outbox message says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from state_machines.core import Transition, WorkflowDefinition
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.i18n import N_
from workflow_app.models import TransitionLog
from workflow_app.services import audit, guards
from workflow_app.services.access import Actor
from workflow_app.uow import flush

Effect = Callable[[object, dict, Actor, datetime], dict]


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: dict
    dedupe_key: str


@dataclass(frozen=True)
class Workflow:
    definition: WorkflowDefinition
    entity: str
    relations: Callable[[Actor, object], frozenset[str]]
    guard_context: Callable[[object, dict, datetime], guards.GuardContext]
    message: Callable[[object, TransitionLog, dict, dict, Actor], Outgoing]
    log_payload: Callable[[dict, dict], dict]
    effects: dict[str, Effect] = field(default_factory=dict)
    # Sets the deadline of the state just entered (not run for reflexive events).
    on_enter: Callable[[object, Transition, dict, datetime], None] | None = None
    on_behalf_of: Callable[[object, Actor, str], int | None] | None = None

    def effect(self, event: str):
        def register(fn: Effect) -> Effect:
            self.effects[event] = fn
            return fn

        return register


def transition_of(workflow: Workflow, event: str) -> Transition:
    transition = workflow.definition.transitions.get(event)
    if transition is None:
        raise problems.unknown_event(event)
    return transition


def check_version(row, version) -> None:
    if version is None:
        raise problems.validation_error({"version": [N_("Missing data for required field.")]})
    if version != row.version:
        raise problems.version_conflict(row.version)


def check_fields(transition: Transition, fields: dict) -> None:
    accepted = set(transition.accepted_fields)
    errors: dict = {}
    for key in fields:
        if key not in accepted and fields[key] is not None:
            errors[key] = [N_("Not accepted by event '{event}'.", event=transition.event)]
    for key in transition.required:
        value = fields.get(key)
        if value is None or (isinstance(value, (str, list)) and not value):
            errors[key] = [N_("Required by event '{event}'.", event=transition.event)]
    if errors:
        raise problems.validation_error(errors)


def _not_yours(event: str, transition: Transition, relations: frozenset[str]):
    """Why the caller may not fire ``event``: who may, and what the caller is here."""
    roles = ", ".join(transition.roles)
    if not relations:
        return N_("'{event}' may be fired by {roles}; you are not involved here.", event=event, roles=roles)
    return N_(
        "'{event}' may be fired by {roles}; you are {relations} here.",
        event=event,
        roles=roles,
        relations=", ".join(sorted(relations)),
    )


def first_role(relations: frozenset[str], transition: Transition) -> str:
    """The role the caller acts in: the first of the transition's roles they hold."""
    for role in transition.roles:
        if role in relations:
            return role
    return "system"


def event_comment(fields: dict) -> str | None:
    return fields.get("comment") or fields.get("reason") or fields.get("feedback") or fields.get("reasoning")


def fire(
    workflow: Workflow,
    actor: Actor,
    row,
    event: str,
    fields: dict,
    *,
    version: int | None,
    require_version: bool = True,
    now: datetime | None = None,
) -> TransitionLog:
    """Fire ``event`` on a loaded, locked ``row``: authorise, check, move, log, outbox, flush."""
    now = now or utcnow()
    definition = workflow.definition
    transition = transition_of(workflow, event)
    relations = workflow.relations(actor, row)
    if not relations.intersection(transition.roles):
        raise problems.forbidden(_not_yours(event, transition, relations))
    if require_version:
        check_version(row, version)
    if row.state not in transition.source:
        raise problems.invalid_transition(event, row.state, definition.allowed_events(row.state, relations))
    check_fields(transition, fields)
    errors = guards.check(transition.guards, workflow.guard_context(row, fields, now))
    if errors:
        raise problems.guard_failed(event, errors)

    from_state = row.state
    definition.fire(row, event)
    effect = workflow.effects.get(event)
    effect_payload = effect(row, fields, actor, now) if effect else {}
    if workflow.on_enter is not None and not transition.reflexive:
        workflow.on_enter(row, transition, fields, now)

    role = first_role(relations, transition)
    log = audit.append(
        entity=workflow.entity,
        entity_id=row.id,
        event=event,
        from_state=from_state,
        to_state=row.state,
        actor_user_id=actor.user_id,
        actor_role=role,
        machine_version=row.machine_version,
        at=now,
        comment=event_comment(fields),
        payload=workflow.log_payload(fields, effect_payload),
        on_behalf_of_user_id=workflow.on_behalf_of(row, actor, role) if workflow.on_behalf_of else None,
        row=row,
    )
    out = workflow.message(row, log, fields, effect_payload, actor)
    audit.outbox(out.topic, out.payload, dedupe_key=out.dedupe_key, at=now)
    flush()
    return log
