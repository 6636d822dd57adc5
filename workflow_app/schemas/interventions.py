"""HR's interventions: a new deadline, a reassignment, a cycle event (API bodies and web forms)."""

from marshmallow import fields, validate

from workflow_app.schemas.base import Day, Id, In, StrictBool, Text


class ExtendIn(In):
    version = fields.Int(strict=True, required=True)
    due_date = Day(required=True, metadata={"description": "The new due date, in the unit's own zone."})
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class ReassignIn(In):
    """``POST /api/v1/appraisals/{id}/reassign`` and the web's reassign form."""

    version = fields.Int(strict=True, required=True)
    assessor_id = Id(required=True)
    superior_id = Id(allow_none=True, load_default=None)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class CycleEventIn(In):
    """``POST /api/v1/cycles/{id}/events/{event}`` and the web's cycle event forms."""

    version = fields.Int(strict=True)
    comment = Text()
    force = StrictBool()
    reason = Text()
