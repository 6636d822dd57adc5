"""HR's interventions on an open appraisal that are not transitions: nudge the holder, extend
the deadline.

Both follow the pattern of every use case: load the appraisal under a lock (404 outside the
caller's sight), authorise HR in scope (403), check the version where the caller edits, record
the change in the appraisal's audited chain (``audit.move``), write the notification as an
outbox row in the same transaction, and flush; the front door's unit of work commits.

Reassignment (``services.reassignment``) and the events ``cancel`` and ``reopen``
(``services.appraisals.fire_event``) are HR's other interventions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.clock import end_of_local_day, isoformat, utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Appraisal, TransitionLog
from workflow_app.services import audit, guards, sla, workflow
from workflow_app.services.access import (
    Actor,
    appraisal_relations,
    holder_employee_id,
    holder_superior_employee_id,
)
from workflow_app.services.appraisals import load
from workflow_app.services.snapshots import appraisal_snapshot
from workflow_app.uow import flush

# One nudge per appraisal per hour: a reminder that repeats every minute is noise.
NUDGE_INTERVAL = timedelta(hours=1)
NUDGE_EVENT = "nudge"
EXTEND_EVENT = "deadline_extended"
# What HR may do to an open appraisal besides firing its events (cancel, reopen, …).
INTERVENTIONS = ("nudge", "extend", "reassign")


def available(actor: Actor, appraisal: Appraisal, relations: frozenset[str] | None = None) -> list[str]:
    """The interventions the actor may attempt on the appraisal: HR in scope, on an open one;
    a nudge only when a person (not HR itself) holds it."""
    if relations is None:
        relations = appraisal_relations(actor, appraisal)
    if "hr" not in relations or appraisal.state not in APPRAISAL.open_states:
        return []
    if holder_employee_id(appraisal) is None:
        return [i for i in INTERVENTIONS if i != "nudge"]
    return list(INTERVENTIONS)


def _require_hr(actor: Actor, appraisal: Appraisal, message: str) -> None:
    if "hr" not in appraisal_relations(actor, appraisal):
        raise problems.forbidden(message)


def _require_open(appraisal: Appraisal, message: str) -> None:
    if appraisal.state not in APPRAISAL.open_states:
        raise problems.Problem(
            409, "appraisal-closed", "The appraisal is no longer open", detail=message, state=appraisal.state
        )


def last_nudge(appraisal_id: int) -> datetime | None:
    """When the appraisal's holder was last nudged (from the audited chain), if ever."""
    return db.session.scalar(
        select(TransitionLog.created_at)
        .where(
            TransitionLog.entity == "appraisal",
            TransitionLog.entity_id == appraisal_id,
            TransitionLog.event == NUDGE_EVENT,
        )
        .order_by(TransitionLog.seq.desc())
        .limit(1)
    )


def nudge(actor: Actor, appraisal_id: int, *, now: datetime | None = None) -> dict:
    """Use case: remind whoever holds an open appraisal, at most once an hour.

    The reminder is the escalation ladder's own notification (``appraisal.reminder`` to the
    holder), under a dedupe key of this nudge, so the sweep's reminders are not affected.
    """
    now = now or utcnow()
    appraisal = load(actor, appraisal_id, lock=True)
    _require_hr(actor, appraisal, N_("Only HR in scope nudges the holder of an appraisal."))
    _require_open(
        appraisal,
        N_("The appraisal is {state}: only an open appraisal can be nudged.", state=appraisal.state),
    )
    holder_id = holder_employee_id(appraisal)
    if holder_id is None:
        raise problems.Problem(
            409,
            "nobody-to-nudge",
            "Nobody to nudge",
            detail=N_("This appraisal waits on HR itself: act on it instead of nudging."),
            state=appraisal.state,
        )
    previous = last_nudge(appraisal.id)
    if previous is not None and now - previous < NUDGE_INTERVAL:
        wait = NUDGE_INTERVAL - (now - previous)
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        raise problems.Problem(
            409,
            "nudged-recently",
            "Nudged recently",
            detail=N_(
                "The holder was nudged less than an hour ago; try again in {minutes} minutes.",
                minutes=minutes,
            ),
            retry_after=int(wait.total_seconds()),
        )
    context = appraisal_snapshot(appraisal, actor_user_id=actor.user_id)
    payload = {"holder_employee_id": holder_id, "holder_role": APPRAISAL.holder_of(appraisal.state)}
    log = audit.move(appraisal, NUDGE_EVENT, actor, now, payload)
    audit.outbox(
        "appraisal.reminder",
        {
            "appraisal_id": appraisal.id,
            "state": appraisal.state,
            "due_at": appraisal.due_at.isoformat() if appraisal.due_at else None,
            "context": context,
            # who is told: the holder as of now (the notification service reads these)
            "holder_employee_id": holder_id,
            "holder_superior_employee_id": holder_superior_employee_id(appraisal),
            "nudged_by_user_id": actor.user_id,
        },
        f"nudge:{appraisal.id}:{log.seq}",
        now,
    )
    flush()
    return {
        "appraisal_id": appraisal.id,
        "state": appraisal.state,
        "holder": {"role": payload["holder_role"], "employee_id": holder_id, "name": context["holder"]},
        "nudged_at": log.created_at,
        "next_nudge_at": log.created_at + NUDGE_INTERVAL,
    }


def extend_deadline(
    actor: Actor,
    appraisal_id: int,
    version: int | None,
    due_date: date,
    reason: str,
    *,
    now: datetime | None = None,
) -> Appraisal:
    """Use case: HR gives an open appraisal a new due date, and its escalation starts over.

    ``due_at`` becomes the end of ``due_date`` in the unit's zone; it must lie between today (in
    that zone) and the cycle's end. The SLA is kept as that fixed date, so recorded leave of the
    holder still pauses the clock (``deadlines.recompute_due_for_holder``). The escalation level
    and the reminder go back to zero.
    """
    now = now or utcnow()
    appraisal = load(actor, appraisal_id, lock=True)
    _require_hr(actor, appraisal, N_("Only HR in scope extends the deadline of an appraisal."))
    workflow.check_version(appraisal, version)
    _require_open(
        appraisal,
        N_("The appraisal is {state}: only an open appraisal gets a new deadline.", state=appraisal.state),
    )
    zone = appraisal.unit.timezone
    today = sla.local_date(now, zone)
    end = guards.cycle_end(appraisal.cycle)
    if due_date < today:
        raise problems.validation_error(
            {"due_date": [N_("Choose today ({today}) or a later date.", today=today.isoformat())]}
        )
    if due_date > end:
        raise problems.validation_error(
            {"due_date": [N_("Choose a date on or before the cycle's end ({end}).", end=end.isoformat())]}
        )
    if not (reason or "").strip():
        raise problems.validation_error({"reason": [N_("Give a reason for the new deadline.")]})
    before = {
        "due_at": isoformat(appraisal.due_at),
        "escalation_level": appraisal.escalation_level,
        "reminder_sent_at": isoformat(appraisal.reminder_sent_at),
        "sla_working_days": appraisal.sla_working_days,
        "sla_until": appraisal.sla_until.isoformat() if appraisal.sla_until else None,
    }
    appraisal.due_at = end_of_local_day(due_date, zone)
    appraisal.escalation_level = 0
    appraisal.reminder_sent_at = None
    appraisal.sla_working_days, appraisal.sla_until = None, due_date
    after = {
        "due_at": isoformat(appraisal.due_at),
        "escalation_level": 0,
        "reminder_sent_at": None,
        "sla_working_days": None,
        "sla_until": due_date.isoformat(),
    }
    audit.move(appraisal, EXTEND_EVENT, actor, now, {"before": before, "after": after}, comment=reason)
    flush()
    return appraisal
