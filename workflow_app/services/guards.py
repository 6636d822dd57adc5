"""Guard implementations, named by the state-machine definitions.

A guard returns a map of field -> message when its condition fails, or an empty map. Every
message is an ``N_`` template with named parameters: the API answers with its English text, the
web UI shows its translation beside the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from workflow_app.clock import ZONE_OFFSETS, end_of_local_day
from workflow_app.i18n import N_
from workflow_app.models import BERAKHLAK, Appraisal, Cycle
from workflow_app.scoring import is_extreme, training_required

# PermenPANRB 6/2022: an objection (keberatan) within 14 calendar days of the score.
OBJECTION_WINDOW_DAYS = 14


@dataclass
class GuardContext:
    now: datetime
    cycle: Cycle
    appraisal: Appraisal | None = None
    fields: dict = field(default_factory=dict)
    zone: str = "WIB"

    @property
    def today(self) -> date:
        return (self.now + timedelta(hours=ZONE_OFFSETS[self.zone])).date()


def objection_deadline(scored_at: datetime | None, zone: str) -> datetime | None:
    """The end of the 14th calendar day after the score, in the unit's zone (naive UTC)."""
    if scored_at is None:
        return None
    scored_day = (scored_at + timedelta(hours=ZONE_OFFSETS[zone])).date()
    return end_of_local_day(scored_day + timedelta(days=OBJECTION_WINDOW_DAYS), zone)


def objection_window_open(appraisal: Appraisal, now: datetime) -> bool:
    deadline = objection_deadline(appraisal.scored_at, appraisal.unit.timezone)
    return deadline is not None and now <= deadline


def current_objection(appraisal: Appraisal):
    """The objection to the current score, if one was filed (a rescored appraisal starts over)."""
    if appraisal.scored_at is None:
        return None
    current = appraisal.score_number or 0
    filed = [o for o in appraisal.objections if (o.score_number or 0) == current]
    return filed[-1] if filed else None


def cycle_end(cycle: Cycle) -> date:
    """The last date a cycle covers: its period or its last deadline, whichever is later."""
    return max(cycle.period_end, cycle.scoring_end, cycle.feedback_due, cycle.training_due)


# --- appraisal guards ------------------------------------------------------------------------


def plan_complete(ctx: GuardContext) -> dict:
    a = ctx.appraisal
    errors: dict = {}
    main = [i for i in a.plan_items if i.kind == "utama"]
    if not main:
        errors["plan_items"] = N_("At least one main (utama) plan item is required.")
    incomplete = [
        i.position
        for i in a.plan_items
        if not (i.indicator or "").strip() or not (i.target_value or "").strip()
    ]
    if incomplete:
        errors["plan_items"] = N_(
            "Every plan item needs an indicator and a target (items at positions {positions}).",
            positions=incomplete,
        )
    have = {b.value for b in a.behaviours if (b.expectation or "").strip()}
    missing = [v for v in BERAKHLAK if v not in have]
    if missing:
        errors["behaviours"] = N_(
            "Behaviour expectations are missing for: {values}.", values=", ".join(missing)
        )
    return errors


def midyear_window_open(ctx: GuardContext) -> dict:
    if ctx.today < ctx.cycle.midyear_start:
        return {"cycle": N_("The mid-year window opens on {date}.", date=ctx.cycle.midyear_start.isoformat())}
    return {}


def midyear_progress_recorded(ctx: GuardContext) -> dict:
    missing = [
        i.position
        for i in ctx.appraisal.plan_items
        if i.kind == "utama" and not (i.midyear_realisation or "").strip()
    ]
    if missing:
        return {
            "plan_items": N_(
                "Mid-year progress is missing for main items at positions {positions}.", positions=missing
            )
        }
    return {}


def scoring_window_open(ctx: GuardContext) -> dict:
    c = ctx.cycle
    if ctx.appraisal is not None and ctx.appraisal.reopened_at is not None:
        return {}  # a reopened appraisal is scored within the date HR gave
    if not (c.scoring_start <= ctx.today <= c.scoring_end):
        return {
            "cycle": N_(
                "The scoring window is {start} to {end}.",
                start=c.scoring_start.isoformat(),
                end=c.scoring_end.isoformat(),
            )
        }
    return {}


def scoring_window_started(ctx: GuardContext) -> dict:
    if ctx.today < ctx.cycle.scoring_start:
        return {"cycle": N_("The scoring window opens on {date}.", date=ctx.cycle.scoring_start.isoformat())}
    return {}


def final_realisation_recorded(ctx: GuardContext) -> dict:
    missing = [i.position for i in ctx.appraisal.plan_items if not (i.final_realisation or "").strip()]
    if missing:
        return {
            "plan_items": N_(
                "Final realisation is missing for items at positions {positions}.", positions=missing
            )
        }
    return {}


def ratings_justified(ctx: GuardContext) -> dict:
    f = ctx.fields
    extreme = is_extreme(f.get("rating_hasil_kerja")) or is_extreme(f.get("rating_perilaku"))
    if extreme and not (f.get("justification") or "").strip():
        return {"justification": N_("A rating above or below expectation needs a justification.")}
    return {}


def closable(ctx: GuardContext) -> dict:
    a = ctx.appraisal
    errors: dict = {}
    if a.state == "feedback_given" and training_required(a.predikat):
        errors["predikat"] = N_("Training is mandatory for predikat '{predikat}'.", predikat=a.predikat)
    if a.state == "training_assigned":
        open_items = [t.id for t in a.trainings if t.status == "assigned"]
        if open_items:
            errors["trainings"] = N_("Trainings {ids} are neither completed nor recorded.", ids=open_items)
    # The right to object outlives feedback and training: close only once it is spent.
    if current_objection(a) is None and a.result_accepted_at is None and objection_window_open(a, ctx.now):
        deadline = objection_deadline(a.scored_at, ctx.zone)
        errors["objection"] = N_(
            "The employee may object until {deadline} and has neither objected nor accepted the result.",
            deadline=f"{deadline.isoformat()}Z",
        )
    return errors


def objection_allowed(ctx: GuardContext) -> dict:
    a = ctx.appraisal
    if current_objection(a) is not None:
        return {"objection": N_("An objection was already filed against this score.")}
    if a.result_accepted_at is not None:
        return {"objection": N_("The result was accepted; the right to object was waived.")}
    if not objection_window_open(a, ctx.now):
        return {"objection": N_("Objections must be filed within 14 days of the score.")}
    return {}


def result_acceptable(ctx: GuardContext) -> dict:
    a = ctx.appraisal
    if a.result_accepted_at is not None:
        return {"objection": N_("The result was already accepted.")}
    if current_objection(a) is not None:
        return {"objection": N_("An objection was filed; its decision is final.")}
    if not objection_window_open(a, ctx.now):
        return {"objection": N_("The objection window has closed; the result is final already.")}
    return {}


def _as_date(value) -> date | None:
    return value if isinstance(value, date) or value is None else date.fromisoformat(str(value))


def due_date_in_cycle(ctx: GuardContext) -> dict:
    """A due date HR sets lies between today (in the unit's zone) and the cycle's end."""
    due = _as_date(ctx.fields.get("due_date"))
    if due is None:
        return {}
    end = cycle_end(ctx.cycle)
    if not ctx.today <= due <= end:
        return {
            "due_date": N_(
                "Must lie between today ({today}) and the cycle's end ({end}).",
                today=ctx.today.isoformat(),
                end=end,
            )
        }
    return {}


def training_dates_in_cycle(ctx: GuardContext) -> dict:
    end = cycle_end(ctx.cycle)
    for item in ctx.fields.get("trainings") or ():
        due = _as_date(item.get("due_date"))
        if due is not None and not ctx.today <= due <= end:
            return {
                "trainings": N_(
                    "Training due dates must lie between today ({today}) and the cycle's end ({end}).",
                    today=ctx.today.isoformat(),
                    end=end,
                )
            }
    return {}


def objection_decision_valid(ctx: GuardContext) -> dict:
    f = ctx.fields
    decision = f.get("decision")
    has_ratings = f.get("rating_hasil_kerja") is not None or f.get("rating_perilaku") is not None
    if decision == "amended":
        if not (f.get("rating_hasil_kerja") and f.get("rating_perilaku")):
            return {"rating_hasil_kerja": N_("Amended decisions give both ratings.")}
    elif decision == "upheld" and has_ratings:
        return {"decision": N_("An upheld decision keeps the ratings; send 'amended' to change them.")}
    return {}


# What each guard reads of the appraisal beyond its row: the event's locking query loads these
# with the row (services.appraisals.load_for_event), so a guard never lazy-loads.
LOADS: dict[str, tuple[str, ...]] = {
    "plan_complete": ("plan_items", "behaviours"),
    "midyear_progress_recorded": ("plan_items",),
    "final_realisation_recorded": ("plan_items",),
    "closable": ("trainings", "objections"),
    "objection_allowed": ("objections",),
    "result_acceptable": ("objections",),
}

GUARDS = {
    fn.__name__: fn
    for fn in (
        plan_complete,
        midyear_window_open,
        midyear_progress_recorded,
        scoring_window_open,
        scoring_window_started,
        final_realisation_recorded,
        ratings_justified,
        closable,
        objection_allowed,
        result_acceptable,
        due_date_in_cycle,
        training_dates_in_cycle,
        objection_decision_valid,
    )
}


def guard(fn):
    """Register a guard defined beside its workflow's use cases (e.g. the cycle's)."""
    GUARDS[fn.__name__] = fn
    return fn


def check(guard_names, ctx: GuardContext) -> dict:
    errors: dict = {}
    for name in guard_names:
        for key, message in GUARDS[name](ctx).items():
            errors.setdefault(key, message)
    return errors
