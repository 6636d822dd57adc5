"""Reassignment by HR: a new assessor (and assessor's superior) for open appraisals."""

from __future__ import annotations

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.i18n import N_
from workflow_app.models import Appraisal
from workflow_app.services import audit, workflow
from workflow_app.services.access import Actor, appraisal_relations
from workflow_app.services.appraisals import BulkResult, bulk_apply, load
from workflow_app.services.org import active_employee
from workflow_app.services.snapshots import appraisal_snapshot, employee_name
from workflow_app.uow import flush


def reassign(
    actor: Actor, appraisal: Appraisal, assessor_id: int, superior_id: int | None, reason: str
) -> Appraisal:
    """HR changes the assessor (and the assessor's superior) of a loaded, locked open appraisal."""
    if "hr" not in appraisal_relations(actor, appraisal):
        raise problems.forbidden(N_("Only HR in scope reassigns an appraisal."))
    if appraisal.state not in APPRAISAL.open_states:
        raise problems.Problem(
            409, "appraisal-closed", detail=N_("The appraisal is {state}.", state=appraisal.state)
        )
    new_assessor = active_employee(assessor_id, "assessor_id")
    if not actor.hr_covers(new_assessor.unit.path):
        raise problems.forbidden(N_("The new assessor works outside your HR scope."))
    new_superior = superior_id if superior_id is not None else new_assessor.superior_id
    if new_superior is not None:
        superior = active_employee(new_superior, "superior_id")
        if superior_id is not None and not actor.hr_covers(superior.unit.path):
            raise problems.forbidden(N_("The new superior works outside your HR scope."))
    errors = {}
    if new_assessor.id == appraisal.employee_id:
        errors["assessor_id"] = [N_("An employee cannot assess themself.")]
    if new_superior == appraisal.employee_id:
        errors["superior_id"] = [N_("The employee cannot be the superior on their own appraisal.")]
    elif new_superior is not None and new_superior == new_assessor.id:
        errors["superior_id"] = [N_("The assessor and the assessor's superior must be different people.")]
    elif new_superior is not None and new_superior == appraisal.scored_by_employee_id:
        errors["superior_id"] = [N_("Whoever gave the current score cannot decide an objection against it.")]
    if errors:
        raise problems.validation_error(errors)
    if (new_assessor.id, new_superior) == (appraisal.assessor_id, appraisal.superior_id):
        raise problems.validation_error({"assessor_id": [N_("This is already the assessor.")]})
    now = utcnow()
    old = {"old_assessor_id": appraisal.assessor_id, "old_superior_id": appraisal.superior_id}
    appraisal.assessor_id = new_assessor.id
    appraisal.superior_id = new_superior
    appraisal.delegation_id = None
    appraisal.pre_delegation_superior_id = None
    payload = {**old, "new_assessor_id": new_assessor.id, "new_superior_id": new_superior}
    log = audit.move(appraisal, "reassign", actor, now, payload, comment=reason)
    context = appraisal_snapshot(
        appraisal,
        actor_user_id=actor.user_id,
        comment=reason,
        old_assessor=employee_name(old["old_assessor_id"]),
        new_assessor=new_assessor.name,
    )
    audit.outbox(
        "appraisal.reassigned",
        {"appraisal_id": appraisal.id, "reason": reason, **payload, "context": context},
        f"appraisal:{appraisal.id}:{log.seq}:reassigned",
        now,
    )
    flush()
    return appraisal


def reassign_one(actor: Actor, appraisal_id: int, data: dict) -> Appraisal:
    """Use case: reassign one appraisal at the caller's version."""
    appraisal = load(actor, appraisal_id, lock=True)
    workflow.check_version(appraisal, data.get("version"))
    return reassign(actor, appraisal, data["assessor_id"], data.get("superior_id"), data["reason"])


def reassign_many(actor: Actor, data: dict) -> list[BulkResult]:
    """Use case: reassign many appraisals; each item applies whole or not at all."""

    def move(appraisal: Appraisal) -> None:
        reassign(actor, appraisal, data["assessor_id"], data.get("superior_id"), data["reason"])

    return bulk_apply(actor, data["ids"], move, data["dry_run"])
