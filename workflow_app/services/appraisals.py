"""Appraisal use cases: one function per use case; the request or job boundary commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from state_machines import APPRAISAL, Transition
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import (
    Appraisal,
    BehaviourExpectation,
    Objection,
    PlanItem,
    TrainingAssignment,
    TransitionLog,
    Unit,
)
from workflow_app.scoring import scheme
from workflow_app.services import audit, deadlines, guards, sla, workflow
from workflow_app.services.access import Actor, appraisal_relations, appraisal_visibility, unit_scope_filter
from workflow_app.services.delegations import on_behalf_of
from workflow_app.services.snapshots import appraisal_snapshot
from workflow_app.services.workflow import Outgoing, Workflow
from workflow_app.uow import flush, savepoint

# --- loading ---------------------------------------------------------------------------------


def load(actor: Actor, appraisal_id: int, *, lock: bool = False) -> Appraisal:
    """The appraisal if the actor may see it (404 otherwise, never leaking existence)."""
    query = (
        select(Appraisal)
        .where(Appraisal.id == appraisal_id)
        .options(joinedload(Appraisal.unit), joinedload(Appraisal.cycle))
    )
    if lock:
        # Under the lock, overwrite anything this session read before it was taken.
        query = query.with_for_update(of=Appraisal).execution_options(populate_existing=True)
    appraisal = db.session.scalars(query).unique().one_or_none()
    if appraisal is None or not appraisal_relations(actor, appraisal):
        raise problems.not_found("appraisal")
    return appraisal


def allowed_events(actor: Actor, appraisal: Appraisal) -> list[str]:
    return APPRAISAL.allowed_events(appraisal.state, appraisal_relations(actor, appraisal))


# --- the one path that fires every appraisal event --------------------------------------------


def _guard_context(a: Appraisal, fields: dict, now: datetime) -> guards.GuardContext:
    return guards.GuardContext(now=now, cycle=a.cycle, appraisal=a, fields=fields, zone=a.unit.timezone)


def _on_enter(a: Appraisal, transition: Transition, fields: dict, now: datetime) -> None:
    a.state_entered_at = now
    deadlines.set_due(a, sla.sla_for(transition, a.cycle), fields, now)
    a.escalation_level = 0
    a.reminder_sent_at = None


def _log_payload(fields: dict, effect_payload: dict) -> dict:
    return {**{k: v for k, v in fields.items() if k != "comment" and v is not None}, **effect_payload}


def _message(a: Appraisal, log: TransitionLog, fields: dict, effect_payload: dict, actor: Actor) -> Outgoing:
    """What the transition tells people, fixed now (services.snapshots)."""
    context = appraisal_snapshot(
        a,
        actor_user_id=actor.user_id,
        comment=log.comment,
        decision=fields.get("decision"),
        hours=effect_payload.get("training_hours_jp"),
    )
    payload = {
        "appraisal_id": a.id,
        "event": log.event,
        "from": log.from_state,
        "to": log.to_state,
        "seq": log.seq,
        "actor_user_id": actor.user_id,
        "context": context,
    }
    return Outgoing("appraisal.transitioned", payload, f"appraisal:{a.id}:{log.seq}")


FLOW = Workflow(
    definition=APPRAISAL,
    entity="appraisal",
    relations=appraisal_relations,
    guard_context=_guard_context,
    message=_message,
    log_payload=_log_payload,
    on_enter=_on_enter,
    on_behalf_of=on_behalf_of,
)
_effect = FLOW.effect


@_effect("score")
def _score(a: Appraisal, f: dict, actor: Actor, now: datetime) -> dict:
    rules = scheme(a.scoring_scheme)
    a.rating_hasil_kerja = f["rating_hasil_kerja"]
    a.rating_perilaku = f["rating_perilaku"]
    a.predikat = rules.predikat(a.rating_hasil_kerja, a.rating_perilaku)
    a.score_justification = f.get("justification")
    a.scoring_version = rules.version
    a.scored_at = now
    a.scored_by_user_id, a.scored_by_employee_id = actor.user_id, actor.employee_id
    a.score_number = (a.score_number or 0) + 1
    a.result_accepted_at = None  # a new score opens a new objection window
    return {"predikat": a.predikat, "scoring_version": rules.version}


@_effect("accept_result")
def _accept(a: Appraisal, f: dict, actor: Actor, now: datetime) -> dict:
    a.result_accepted_at = now
    return {"predikat": a.predikat}


@_effect("complete_midyear_review")
def _midyear(a: Appraisal, f: dict, actor: Actor, now: datetime) -> dict:
    a.midyear_feedback = f["feedback"]
    return {}


@_effect("give_feedback")
def _feedback(a: Appraisal, f: dict, actor: Actor, now: datetime) -> dict:
    a.feedback = f["feedback"]
    return {}


@_effect("assign_training")
def _training(a: Appraisal, f: dict, actor: Actor, now: datetime) -> dict:
    for item in f["trainings"]:
        a.trainings.append(
            TrainingAssignment(
                competency=item["competency"], hours_jp=item["hours_jp"], due_date=item["due_date"]
            )
        )
    return {"training_hours_jp": sum(i["hours_jp"] for i in f["trainings"])}


@_effect("file_objection")
def _objection(a: Appraisal, f: dict, actor: Actor, now: datetime) -> dict:
    a.objections.append(Objection(reason=f["reason"], filed_at=now, score_number=a.score_number or 0))
    return {}


@_effect("resolve_objection")
def _resolve(a: Appraisal, f: dict, actor: Actor, now: datetime) -> dict:
    objection = a.objections[-1]
    objection.decision = f["decision"]
    objection.reasoning = f["reasoning"]
    objection.decided_by_id = actor.user_id
    objection.decided_at = now
    previous = {
        "rating_hasil_kerja": a.rating_hasil_kerja,
        "rating_perilaku": a.rating_perilaku,
        "predikat": a.predikat,
    }
    objection.previous_ratings = previous
    if f["decision"] == "amended":
        rules = scheme(a.scoring_scheme)
        a.rating_hasil_kerja = f["rating_hasil_kerja"]
        a.rating_perilaku = f["rating_perilaku"]
        a.predikat = rules.predikat(a.rating_hasil_kerja, a.rating_perilaku)
        objection.amended_ratings = {
            "rating_hasil_kerja": a.rating_hasil_kerja,
            "rating_perilaku": a.rating_perilaku,
            "predikat": a.predikat,
        }
    return {"decision": f["decision"], "previous": previous, "predikat": a.predikat}


@_effect("reopen")
def _reopen(a: Appraisal, f: dict, actor: Actor, now: datetime) -> dict:
    a.reopened_at = now
    return {}


def apply_event(
    actor: Actor,
    appraisal: Appraisal,
    event: str,
    fields: dict,
    *,
    version: int | None,
    check_version: bool = True,
    now: datetime | None = None,
) -> TransitionLog:
    """Fire ``event`` on a loaded (locked) appraisal through the one event path."""
    return workflow.fire(
        FLOW, actor, appraisal, event, fields, version=version, require_version=check_version, now=now
    )


def fire_event(actor: Actor, appraisal_id: int, event: str, data: dict) -> Appraisal:
    """Use case: fire one event on one appraisal, with the caller's version."""
    data = dict(data)
    version = data.pop("version", None)
    workflow.transition_of(FLOW, event)  # an unknown event is a 404 before anything is read
    appraisal = load(actor, appraisal_id, lock=True)
    apply_event(actor, appraisal, event, data, version=version)
    return appraisal


@dataclass
class BulkResult:
    id: int
    ok: bool
    state: str | None = None
    version: int | None = None
    problem: dict | None = None


def bulk_apply(actor: Actor, ids: list[int], action, dry_run: bool) -> list[BulkResult]:
    """Run ``action(appraisal)`` on each visible appraisal, each in its own savepoint.

    An item applies whole or not at all: a failed item rolls back its own savepoint only, so
    the items before it stay applied and are reported truthfully. With ``dry_run`` every
    savepoint is rolled back after the item has been checked and applied, so the results say
    what would happen.
    """
    results = []
    for appraisal_id in dict.fromkeys(ids):
        try:
            with savepoint(keep=not dry_run):
                appraisal = load(actor, appraisal_id, lock=True)
                action(appraisal)
                outcome = BulkResult(appraisal_id, True, appraisal.state, appraisal.version)
            results.append(outcome)
        except problems.Problem as exc:
            results.append(BulkResult(appraisal_id, False, problem=exc.to_dict()))
    return results


def bulk_event(actor: Actor, event: str, ids: list[int], fields: dict, dry_run: bool) -> list[BulkResult]:
    """Use case: fire one event on many appraisals at their current versions."""
    workflow.transition_of(FLOW, event)

    def fire(appraisal: Appraisal) -> None:
        apply_event(actor, appraisal, event, fields, version=None, check_version=False)

    return bulk_apply(actor, ids, fire, dry_run)


# --- plan and progress ----------------------------------------------------------------------

PLAN_EDITORS = frozenset({"employee", "assessor"})


def update_plan(actor: Actor, appraisal_id: int, data: dict, *, now: datetime | None = None) -> Appraisal:
    """Use case: replace the plan (RHK items and behaviour expectations) while it is a draft."""
    appraisal = load(actor, appraisal_id, lock=True)
    relations = appraisal_relations(actor, appraisal)
    if not relations & PLAN_EDITORS:
        raise problems.forbidden(N_("Only the employee and the assessor edit the plan."))
    if appraisal.state != "plan_drafted":
        raise problems.Problem(
            409,
            "plan-locked",
            "The plan cannot be edited now",
            detail=N_(
                "The plan is editable in plan_drafted only; the appraisal is {state}.", state=appraisal.state
            ),
            state=appraisal.state,
        )
    workflow.check_version(appraisal, data.get("version"))
    appraisal.plan_items.clear()
    appraisal.behaviours.clear()
    db.session.flush()
    for position, item in enumerate(data.get("items", []), start=1):
        appraisal.plan_items.append(PlanItem(position=position, **item))
    for value, expectation in (data.get("behaviours") or {}).items():
        appraisal.behaviours.append(BehaviourExpectation(value=value, expectation=expectation))
    _log_edit(
        actor,
        appraisal,
        "plan_updated",
        relations,
        {"items": data.get("items", []), "behaviours": data.get("behaviours") or {}},
        now,
    )
    _touch(appraisal)
    return appraisal


# Which realisation column progress fills in each state (the web's progress form reads it too).
PROGRESS_COLUMNS = {"midyear_review": "midyear_realisation", "final_review": "final_realisation"}


def record_progress(actor: Actor, appraisal_id: int, data: dict, *, now: datetime | None = None) -> Appraisal:
    """Use case: record realisation (mid-year or final) and evidence per plan item."""
    appraisal = load(actor, appraisal_id, lock=True)
    relations = appraisal_relations(actor, appraisal)
    if not relations & PLAN_EDITORS:
        raise problems.forbidden(N_("Only the employee and the assessor record progress."))
    column = PROGRESS_COLUMNS.get(appraisal.state)
    if column is None:
        raise problems.Problem(
            409,
            "progress-locked",
            "Progress cannot be recorded now",
            detail=N_("Progress is recorded during midyear_review and final_review."),
            state=appraisal.state,
        )
    workflow.check_version(appraisal, data.get("version"))
    by_id = {i.id: i for i in appraisal.plan_items}
    unknown = [entry["item_id"] for entry in data["items"] if entry["item_id"] not in by_id]
    if unknown:
        raise problems.validation_error({"items": [N_("Unknown plan item ids: {ids}.", ids=unknown)]})
    for entry in data["items"]:
        item = by_id[entry["item_id"]]
        setattr(item, column, entry["realisation"])
        if entry.get("evidence") is not None:
            item.evidence = list(entry["evidence"])
    _log_edit(
        actor, appraisal, "progress_recorded", relations, {"column": column, "items": data["items"]}, now
    )
    _touch(appraisal)
    return appraisal


def update_training(
    actor: Actor, appraisal_id: int, training_id: int, data: dict, *, now: datetime | None = None
) -> Appraisal:
    """Use case: the employee completes a training with evidence, or HR records it."""
    appraisal = load(actor, appraisal_id, lock=True)
    relations = appraisal_relations(actor, appraisal)
    training = next((t for t in appraisal.trainings if t.id == training_id), None)
    if training is None:
        raise problems.not_found("training")
    status = data["status"]
    if status == "completed" and "employee" not in relations:
        raise problems.forbidden(N_("The employee marks a training completed."))
    if status == "recorded" and "hr" not in relations:
        raise problems.forbidden(N_("HR records a training completed elsewhere."))
    if appraisal.state != "training_assigned":
        raise problems.Problem(
            409, "training-locked", detail=N_("Trainings are updated in training_assigned only.")
        )
    workflow.check_version(appraisal, data.get("version"))
    if training.status != "assigned":
        # Settled once: an employee's completion and HR's record are evidence, not drafts.
        raise problems.Problem(
            409,
            "training-settled",
            "The training is already settled",
            detail=(
                N_("The employee already completed this training; it cannot be changed.")
                if training.status == "completed"
                else N_("HR already recorded this training; it cannot be changed.")
            ),
        )
    training.status = status
    training.evidence = data.get("evidence")
    training.completed_at = now or utcnow()
    _log_edit(
        actor,
        appraisal,
        "training_updated",
        relations,
        {"training_id": training.id, "status": status, "evidence": training.evidence},
        training.completed_at,
    )
    _touch(appraisal)
    return appraisal


def _log_edit(
    actor: Actor, appraisal: Appraisal, event: str, relations, payload: dict, now: datetime | None
) -> None:
    """Record an edit that is not a transition in the appraisal's chain, with actor and time."""
    role = next((r for r in ("employee", "assessor", "hr") if r in relations), "system")
    # The edit bumps the version (_touch): marked first, so the log's head rides in that UPDATE.
    flag_modified(appraisal, "state")
    audit.move(appraisal, event, actor, now or utcnow(), payload, role=role)


def _touch(appraisal: Appraisal) -> None:
    """Bump the appraisal's version for an edit that is not a transition."""

    flag_modified(appraisal, "state")
    flush()


# --- reading --------------------------------------------------------------------------------


def history(actor: Actor, appraisal_id: int) -> list[TransitionLog]:
    load(actor, appraisal_id)
    return db.session.scalars(
        select(TransitionLog)
        .where(TransitionLog.entity == "appraisal", TransitionLog.entity_id == appraisal_id)
        .options(joinedload(TransitionLog.actor), joinedload(TransitionLog.on_behalf_of))
        .order_by(TransitionLog.seq)
    ).all()


def list_appraisals(actor: Actor, filters: dict, page: int, per_page: int):
    query = select(Appraisal).join(Unit, Unit.id == Appraisal.unit_id)
    visible = appraisal_visibility(actor)
    if visible is not None:
        query = query.where(visible)
    if filters.get("cycle") is not None:
        query = query.where(Appraisal.cycle_id == filters["cycle"])
    if filters.get("state"):
        query = query.where(Appraisal.state.in_(filters["state"]))
    if filters.get("unit") is not None:
        unit = db.session.get(Unit, filters["unit"])
        if unit is None:
            raise problems.validation_error({"unit": [N_("Unknown unit.")]})
        query = query.where(Unit.path.startswith(unit.path, autoescape=True))
    if filters.get("assessor") is not None:
        query = query.where(Appraisal.assessor_id == filters["assessor"])
    if filters.get("employee") is not None:
        query = query.where(Appraisal.employee_id == filters["employee"])
    if filters.get("overdue"):
        query = query.where(Appraisal.due_at < utcnow(), Appraisal.state.in_(APPRAISAL.open_states))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(
        query.options(
            joinedload(Appraisal.unit),
            joinedload(Appraisal.employee),
            joinedload(Appraisal.assessor),
        )
        .order_by(Appraisal.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, total


def tasks(actor: Actor) -> list[Appraisal]:
    """What waits on the caller: appraisals whose state is held by one of the caller's roles."""

    held = {role: APPRAISAL.states_held_by(role) for role in ("employee", "assessor", "superior", "hr")}
    clauses = []
    eid = actor.employee_id
    if eid is not None:
        clauses += [
            and_(Appraisal.employee_id == eid, Appraisal.state.in_(held["employee"])),
            and_(
                Appraisal.assessor_id == eid,
                Appraisal.employee_id != eid,
                Appraisal.state.in_(held["assessor"]),
            ),
            and_(
                Appraisal.superior_id == eid,
                Appraisal.employee_id != eid,
                Appraisal.assessor_id.is_distinct_from(eid),
                Appraisal.state.in_(held["superior"]),
            ),
        ]
    if actor.hr_paths:
        clauses.append(and_(unit_scope_filter(actor, ("hr",)), Appraisal.state.in_(held["hr"])))
    if not clauses:
        return []
    query = (
        select(Appraisal)
        .join(Unit, Unit.id == Appraisal.unit_id)
        .where(or_(*clauses))
        .options(joinedload(Appraisal.unit), joinedload(Appraisal.employee), joinedload(Appraisal.cycle))
        .order_by(Appraisal.due_at.is_(None), Appraisal.due_at, Appraisal.id)
        .limit(500)
    )
    return db.session.scalars(query).all()


def detail_options():
    return (
        joinedload(Appraisal.unit),
        joinedload(Appraisal.employee),
        joinedload(Appraisal.assessor),
        joinedload(Appraisal.superior),
        selectinload(Appraisal.plan_items),
        selectinload(Appraisal.behaviours),
        selectinload(Appraisal.trainings),
        selectinload(Appraisal.objections),
    )
