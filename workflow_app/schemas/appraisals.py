"""Appraisal inputs: event fields, the plan, progress and trainings (API bodies and web forms)."""

from marshmallow import ValidationError, fields, validate, validates_schema

from state_machines import APPRAISAL
from workflow_app.i18n import N_
from workflow_app.models import ASPECTS, BERAKHLAK, PLAN_ITEM_KINDS, RATINGS
from workflow_app.schemas.base import Day, Id, In, StrictBool, Text


class TrainingIn(In):
    competency = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    hours_jp = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=200))
    due_date = Day(required=True)


class EventFields(In):
    """Every field any appraisal event takes; the definition says which one accepts which."""

    comment = Text()
    reason = Text()
    feedback = Text(5000)
    reasoning = Text(5000)
    justification = Text()
    decision = fields.Str(validate=validate.OneOf(["upheld", "amended"]))
    rating_hasil_kerja = fields.Str(validate=validate.OneOf(RATINGS))
    rating_perilaku = fields.Str(validate=validate.OneOf(RATINGS))
    trainings = fields.List(fields.Nested(TrainingIn), validate=validate.Length(min=1, max=20))
    due_date = Day()


class EventIn(EventFields):
    version = fields.Int(strict=True)


class BulkEventIn(EventFields):
    event = fields.Str(required=True, validate=validate.OneOf(list(APPRAISAL.transitions)))
    ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=500))
    dry_run = StrictBool(load_default=False)


class PlanItemIn(In):
    kind = fields.Str(load_default="utama", validate=validate.OneOf(PLAN_ITEM_KINDS))
    leader_rhk = Text(allow_none=True, load_default=None)
    rhk = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    aspect = fields.Str(load_default="kuantitas", validate=validate.OneOf(ASPECTS))
    indicator = Text(allow_none=True, load_default=None)
    target_value = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=60))
    target_unit = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=60))


# The seven BerAKHLAK core values, each an optional expectation (no other key).
BehavioursIn = In.from_dict(
    {key: fields.Str(validate=validate.Length(min=1, max=2000)) for key in BERAKHLAK}, name="BehavioursIn"
)


class PlanIn(In):
    version = fields.Int(strict=True, required=True)
    items = fields.List(fields.Nested(PlanItemIn), required=True, validate=validate.Length(max=50))
    behaviours = fields.Nested(BehavioursIn, load_default=dict)


class ProgressItemIn(In):
    item_id = Id(required=True)
    realisation = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    evidence = fields.List(
        fields.Url(
            metadata={
                "format": "uri",
                "description": "An http, https, ftp or ftps URL whose host has a top-level domain.",
            }
        ),
        validate=validate.Length(max=20),
    )


class ProgressIn(In):
    version = fields.Int(strict=True, required=True)
    items = fields.List(fields.Nested(ProgressItemIn), required=True, validate=validate.Length(min=1, max=50))

    @validates_schema
    def _unique(self, data, **kwargs):
        ids = [i["item_id"] for i in data.get("items", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError(N_("Each plan item may appear once."), "items")


class TrainingUpdateIn(In):
    version = fields.Int(strict=True, required=True)
    status = fields.Str(required=True, validate=validate.OneOf(["completed", "recorded"]))
    evidence = Text(allow_none=True)
