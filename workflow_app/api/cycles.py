"""Cycles: create, list, read, and fire cycle events."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from state_machines import APPRAISAL
from workflow_app.api import actor
from workflow_app.schemas.base import (
    Day,
    Id,
    In,
    Name,
    UTCDateTime,
)
from workflow_app.schemas.interventions import CycleEventIn
from workflow_app.services import cycles, views
from workflow_app.uow import unit_of_work

CYCLE_DATE_FIELDS = (
    "plan_due",
    "midyear_start",
    "midyear_end",
    "scoring_start",
    "scoring_end",
    "feedback_due",
    "training_due",
)


class SlaRuleIn(In):
    """An SLA for the state an event enters (see state_machines/appraisal.py)."""

    working_days = fields.Int(strict=True, validate=validate.Range(min=0, max=365))
    until = fields.Str(validate=validate.OneOf(CYCLE_DATE_FIELDS))
    or_working_days = fields.Int(strict=True, validate=validate.Range(min=0, max=365))


class LadderIn(In):
    reminder_days_before = fields.Int(strict=True, validate=validate.Range(min=0, max=30))
    level2_after_days = fields.Int(strict=True, validate=validate.Range(min=1, max=60))


class HolidaysIn(In):
    add = fields.List(Day(), validate=validate.Length(max=400))
    remove = fields.List(Day(), validate=validate.Length(max=400))


# One optional rule per event that has an SLA (no other key).
SlaEventsIn = In.from_dict(
    {event: fields.Nested(SlaRuleIn) for event, t in APPRAISAL.transitions.items() if t.sla},
    name="SlaEventsIn",
)


class SlaPolicyIn(In):
    events = fields.Nested(SlaEventsIn)
    ladder = fields.Nested(LadderIn)
    holidays = fields.Nested(HolidaysIn)


class _SlaPolicyField(fields.Nested):
    """Validated like SlaPolicyIn, stored as plain JSON (dates as ISO strings)."""

    def _deserialize(self, value, attr, data, **kwargs):
        loaded = super()._deserialize(value, attr, data, **kwargs)
        holidays = loaded.get("holidays")
        if holidays:
            loaded["holidays"] = {k: [d.isoformat() for d in v] for k, v in holidays.items()}
        return loaded


class CycleIn(In):
    name = Name(required=True)
    year = fields.Int(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    unit_id = Id(required=True)
    period_start = Day(required=True)
    period_end = Day(required=True)
    plan_due = Day(required=True)
    midyear_start = Day(required=True)
    midyear_end = Day(required=True)
    scoring_start = Day(required=True)
    scoring_end = Day(required=True)
    feedback_due = Day(required=True)
    training_due = Day(required=True)
    scoring_scheme = fields.Str(load_default="permenpanrb_6_2022", validate=validate.Length(max=40))
    sla_policy = _SlaPolicyField(SlaPolicyIn, load_default=dict)


class CycleOut(Schema):
    id = fields.Int()
    name = fields.Str()
    year = fields.Int()
    unit_id = fields.Int()
    period_start = Day()
    period_end = Day()
    plan_due = Day()
    midyear_start = Day()
    midyear_end = Day()
    scoring_start = Day()
    scoring_end = Day()
    feedback_due = Day()
    training_due = Day()
    scoring_scheme = fields.Str()
    sla_policy = fields.Dict()
    state = fields.Str()
    version = fields.Int()
    machine_version = fields.Str()
    launched_at = UTCDateTime(allow_none=True)
    allowed_events = fields.List(fields.Str())


class CycleEventOut(Schema):
    cycle = fields.Nested(CycleOut)  # the handler returns the model; dumped once here
    result = fields.Dict()


def dump_cycle(cycle) -> dict:
    return views.cycle_view(actor(), cycle)


blp = Blueprint("cycles", __name__, url_prefix="/api/v1/cycles", description="Appraisal cycles")


@blp.route("", methods=["GET"])
@blp.response(200, CycleOut(many=True))
def list_cycles():
    """Cycles you manage or take part in."""
    return [dump_cycle(c) for c in cycles.list_cycles(actor())]


@blp.route("", methods=["POST"])
@blp.arguments(CycleIn)
@blp.response(201, CycleOut)
def create_cycle(data):
    """Create a cycle (state draft) for a unit subtree in your HR scope."""
    with unit_of_work():
        cycle = cycles.create_cycle(actor(), data)
    return dump_cycle(cycle)


@blp.route("/<int:cycle_id>", methods=["GET"])
@blp.response(200, CycleOut)
def get_cycle(cycle_id):
    return dump_cycle(cycles.load(actor(), cycle_id))


@blp.route("/<int:cycle_id>/events/<string:event>", methods=["POST"])
@blp.arguments(CycleEventIn)
@blp.response(200, CycleEventOut)
def fire_event(data, cycle_id, event):
    """Fire a cycle event: launch, open_midyear, open_scoring or close (with version)."""
    with unit_of_work():
        cycle, result = cycles.fire_cycle_event(actor(), cycle_id, event, data)
    return {"cycle": dump_cycle(cycle), "result": result}
