"""Marshmallow schemas: explicit input schemas (unknown fields rejected) and output shapes."""

from __future__ import annotations

import re
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from state_machines import APPRAISAL
from workflow_app.clock import isoformat
from workflow_app.models import (
    ASPECTS,
    BERAKHLAK,
    EMPLOYMENT_TYPES,
    PLAN_ITEM_KINDS,
    POSITION_TYPES,
    RATINGS,
    SCOPED_ROLES,
    TIMEZONES,
)
from workflow_app.nip import validate_nip

Text = lambda n=2000, **kw: fields.Str(validate=validate.Length(max=n), **kw)  # noqa: E731
Name = lambda **kw: fields.Str(validate=validate.Length(min=1, max=200), **kw)  # noqa: E731
Id = lambda **kw: fields.Int(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kw)  # noqa: E731

ASCII_DIGITS = re.compile(r"[0-9]+")


class QueryInt(fields.Int):
    """An integer written in a query string: ASCII digits ``0``-``9`` only.

    ``int()`` also takes ``"１２"`` (full-width), ``"١٢"`` (Arabic-Indic), ``" 12"``, ``"+12"``
    and ``"1_2"``; none of them is a number here (422).
    """

    def _validated(self, value):
        if isinstance(value, str) and not ASCII_DIGITS.fullmatch(value):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


# Query strings carry text: their ids are parsed from it (``strict`` would refuse every value).
QueryId = lambda **kw: QueryInt(validate=validate.Range(min=1, max=2**31 - 1), **kw)  # noqa: E731
Page = lambda: QueryInt(load_default=1, validate=validate.Range(min=1, max=1_000_000))  # noqa: E731
PerPage = lambda: QueryInt(load_default=50, validate=validate.Range(min=1, max=200))  # noqa: E731


class StrictBool(fields.Bool):
    """A JSON boolean: ``true`` or ``false`` only (not ``0``, ``1``, ``"true"`` or ``"yes"``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


class QueryBool(fields.Bool):
    """A boolean in a query string: exactly ``true`` or ``false``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value in ("true", "false"):
            return value == "true"
        raise self.make_error("invalid", input=value)


class Day(fields.Date):
    """A calendar date within 1990–2100: the service's deadlines and working days stay finite."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=date(1990, 1, 1), max=date(2100, 12, 31)))
        super().__init__(**kwargs)


class UTCDateTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat(value)


class In(Schema):
    class Meta:
        unknown = RAISE


class Patch(In):
    """A partial update: every field is optional, but an empty body changes nothing (422)."""

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.", "_schema")


# --- auth ------------------------------------------------------------------------------------


class TokenIn(In):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class TokenOut(Schema):
    token = fields.Str()
    token_type = fields.Str()
    expires_at = UTCDateTime()


# --- org -------------------------------------------------------------------------------------


class UnitIn(In):
    code = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    name = Name(required=True)
    parent_id = Id(allow_none=True, load_default=None)
    timezone = fields.Str(load_default="WIB", validate=validate.OneOf(TIMEZONES))


class UnitPatch(Patch):
    code = fields.Str(validate=validate.Length(min=1, max=40))
    name = Name()
    parent_id = Id(allow_none=True)
    timezone = fields.Str(validate=validate.OneOf(TIMEZONES))


class UnitOut(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    parent_id = fields.Int(allow_none=True)
    timezone = fields.Str()
    path = fields.Str()


class NipField(fields.Str):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        problems = validate_nip(value)
        if problems:
            raise ValidationError(problems)
        return value


class EmployeeIn(In):
    nip = NipField(required=True)
    name = Name(required=True)
    email = fields.Email(allow_none=True, load_default=None)
    unit_id = Id(required=True)
    position = Name(required=True)
    position_type = fields.Str(load_default="JA", validate=validate.OneOf(POSITION_TYPES))
    employment_type = fields.Str(load_default="PNS", validate=validate.OneOf(EMPLOYMENT_TYPES))
    grade = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=10))
    superior_id = Id(allow_none=True, load_default=None)
    active = StrictBool(load_default=True)


class EmployeePatch(Patch):
    nip = NipField()
    name = Name()
    email = fields.Email(allow_none=True)
    unit_id = Id()
    position = Name()
    position_type = fields.Str(validate=validate.OneOf(POSITION_TYPES))
    employment_type = fields.Str(validate=validate.OneOf(EMPLOYMENT_TYPES))
    grade = fields.Str(allow_none=True, validate=validate.Length(max=10))
    superior_id = Id(allow_none=True)
    active = StrictBool()


class EmployeeRef(Schema):
    id = fields.Int()
    nip = fields.Str()
    name = fields.Str()


class EmployeeOut(Schema):
    id = fields.Int()
    nip = fields.Str()
    name = fields.Str()
    email = fields.Str(allow_none=True)
    unit_id = fields.Int()
    position = fields.Str()
    position_type = fields.Str()
    employment_type = fields.Str()
    grade = fields.Str(allow_none=True)
    superior_id = fields.Int(allow_none=True)
    active = fields.Bool()


class EmployeeQuery(In):
    unit = QueryId()
    q = fields.Str(validate=validate.Length(max=100))
    page = Page()
    per_page = PerPage()


class RoleIn(In):
    role = fields.Str(required=True, validate=validate.OneOf(SCOPED_ROLES))
    unit_id = Id(required=True)


class RoleOut(Schema):
    role = fields.Str()
    unit_id = fields.Int()
    unit_name = fields.Function(lambda r: r.unit.name)


class UserIn(In):
    username = fields.Str(
        required=True,
        validate=[validate.Length(min=3, max=80), validate.Regexp(r"^[A-Za-z0-9._-]+$")],
    )
    password = fields.Str(required=True, validate=validate.Length(min=8, max=200))
    employee_id = Id(allow_none=True, load_default=None)
    locale = fields.Str(load_default="id", validate=validate.OneOf(["id", "en"]))
    roles = fields.List(fields.Nested(RoleIn), load_default=list, validate=validate.Length(max=50))
    active = StrictBool(load_default=True)


class UserPatch(Patch):
    password = fields.Str(validate=validate.Length(min=8, max=200))
    employee_id = Id(allow_none=True)
    locale = fields.Str(validate=validate.OneOf(["id", "en"]))
    roles = fields.List(fields.Nested(RoleIn), validate=validate.Length(max=50))
    active = StrictBool()


class UserOut(Schema):
    id = fields.Int()
    username = fields.Str()
    employee_id = fields.Int(allow_none=True)
    locale = fields.Str()
    active = fields.Bool()
    roles = fields.List(fields.Nested(RoleOut))


class MeOut(UserOut):
    employee = fields.Nested(EmployeeOut, allow_none=True)


# --- cycles ----------------------------------------------------------------------------------


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


class SlaPolicyIn(In):
    events = fields.Dict(
        keys=fields.Str(validate=validate.OneOf([e for e, t in APPRAISAL.transitions.items() if t.sla])),
        values=fields.Nested(SlaRuleIn),
    )
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


class CycleEventIn(In):
    version = fields.Int(strict=True)
    comment = Text()
    force = StrictBool()
    reason = Text()


class CycleEventOut(Schema):
    cycle = fields.Nested(CycleOut)  # the handler returns the model; dumped once here
    result = fields.Dict()


# --- appraisals ------------------------------------------------------------------------------


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


class BulkItemOut(Schema):
    id = fields.Int()
    ok = fields.Bool()
    state = fields.Str(allow_none=True)
    version = fields.Int(allow_none=True)
    problem = fields.Dict(allow_none=True)


class BulkOut(Schema):
    event = fields.Str()
    dry_run = fields.Bool()
    applied = fields.Int()
    failed = fields.Int()
    results = fields.List(fields.Nested(BulkItemOut))


class PlanItemIn(In):
    kind = fields.Str(load_default="utama", validate=validate.OneOf(PLAN_ITEM_KINDS))
    leader_rhk = Text(allow_none=True, load_default=None)
    rhk = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    aspect = fields.Str(load_default="kuantitas", validate=validate.OneOf(ASPECTS))
    indicator = Text(allow_none=True, load_default=None)
    target_value = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=60))
    target_unit = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=60))


class PlanIn(In):
    version = fields.Int(strict=True, required=True)
    items = fields.List(fields.Nested(PlanItemIn), required=True, validate=validate.Length(max=50))
    behaviours = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(BERAKHLAK)),
        values=fields.Str(validate=validate.Length(min=1, max=2000)),
        load_default=dict,
    )


class ProgressItemIn(In):
    item_id = Id(required=True)
    realisation = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    evidence = fields.List(fields.Url(), validate=validate.Length(max=20))


class ProgressIn(In):
    version = fields.Int(strict=True, required=True)
    items = fields.List(fields.Nested(ProgressItemIn), required=True, validate=validate.Length(min=1, max=50))

    @validates_schema
    def _unique(self, data, **kwargs):
        ids = [i["item_id"] for i in data.get("items", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("Each plan item may appear once.", "items")


class TrainingUpdateIn(In):
    version = fields.Int(strict=True, required=True)
    status = fields.Str(required=True, validate=validate.OneOf(["completed", "recorded"]))
    evidence = Text(allow_none=True)


class PlanItemOut(Schema):
    id = fields.Int()
    position = fields.Int()
    kind = fields.Str()
    leader_rhk = fields.Str(allow_none=True)
    rhk = fields.Str()
    aspect = fields.Str()
    indicator = fields.Str(allow_none=True)
    target_value = fields.Str(allow_none=True)
    target_unit = fields.Str(allow_none=True)
    midyear_realisation = fields.Str(allow_none=True)
    final_realisation = fields.Str(allow_none=True)
    evidence = fields.List(fields.Str())


class TrainingOut(Schema):
    id = fields.Int()
    competency = fields.Str()
    hours_jp = fields.Int()
    due_date = Day()
    status = fields.Str()
    evidence = fields.Str(allow_none=True)
    completed_at = UTCDateTime(allow_none=True)


class ObjectionOut(Schema):
    id = fields.Int()
    reason = fields.Str()
    filed_at = UTCDateTime()
    decision = fields.Str(allow_none=True)
    reasoning = fields.Str(allow_none=True)
    decided_at = UTCDateTime(allow_none=True)
    previous_ratings = fields.Dict(allow_none=True)
    amended_ratings = fields.Dict(allow_none=True)


class UnitRef(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    timezone = fields.Str()


class AppraisalOut(Schema):
    id = fields.Int()
    cycle_id = fields.Int()
    employee = fields.Nested(EmployeeRef)
    unit = fields.Nested(UnitRef)
    assessor = fields.Nested(EmployeeRef, allow_none=True)
    superior = fields.Nested(EmployeeRef, allow_none=True)
    position = fields.Str(allow_none=True)
    state = fields.Str()
    state_label = fields.Dict(keys=fields.Str(), values=fields.Str())
    holder = fields.Str(allow_none=True)
    version = fields.Int()
    state_entered_at = UTCDateTime()
    due_at = UTCDateTime(allow_none=True)
    overdue = fields.Bool()
    escalation_level = fields.Int()
    rating_hasil_kerja = fields.Str(allow_none=True)
    rating_perilaku = fields.Str(allow_none=True)
    predikat = fields.Str(allow_none=True)
    machine_version = fields.Str()
    scoring_scheme = fields.Str()
    scoring_version = fields.Str()
    allowed_events = fields.List(fields.Str())


class AppraisalDetailOut(AppraisalOut):
    plan_items = fields.List(fields.Nested(PlanItemOut))
    behaviours = fields.Dict(keys=fields.Str(), values=fields.Str())
    trainings = fields.List(fields.Nested(TrainingOut))
    objection = fields.Nested(ObjectionOut, allow_none=True)
    score_justification = fields.Str(allow_none=True)
    scored_at = UTCDateTime(allow_none=True)
    result_accepted_at = UTCDateTime(allow_none=True)
    objection_deadline = UTCDateTime(allow_none=True)
    midyear_feedback = fields.Str(allow_none=True)
    feedback = fields.Str(allow_none=True)
    relations = fields.List(fields.Str())


class PageOut(Schema):
    page = fields.Int()
    per_page = fields.Int()
    total = fields.Int()


class AppraisalPage(PageOut):
    items = fields.List(fields.Nested(AppraisalOut))


class EmployeePage(PageOut):
    items = fields.List(fields.Nested(EmployeeOut))


class AppraisalQuery(In):
    cycle = QueryId()
    state = fields.List(fields.Str(validate=validate.OneOf(list(APPRAISAL.states))))
    unit = QueryId()
    assessor = QueryId()
    employee = QueryId()
    overdue = QueryBool()
    page = Page()
    per_page = PerPage()


class HistoryOut(Schema):
    seq = fields.Int()
    event = fields.Str()
    from_state = fields.Str(allow_none=True)
    to_state = fields.Str()
    actor = fields.Function(lambda r: r.actor.username if r.actor else "system")
    actor_role = fields.Str()
    on_behalf_of = fields.Function(lambda r: r.on_behalf_of.username if r.on_behalf_of else None)
    comment = fields.Str(allow_none=True)
    payload = fields.Dict()
    machine_version = fields.Str()
    created_at = UTCDateTime()
    hash = fields.Str()
    prev_hash = fields.Str()


class DefinitionOut(Schema):
    name = fields.Str()
    version = fields.Str()
    initial = fields.Str()
    roles = fields.List(fields.Str())
    states = fields.List(fields.Dict())
    transitions = fields.List(fields.Dict())
    mermaid = fields.Str()


# --- monitoring ------------------------------------------------------------------------------


class MonitoringQuery(In):
    cycle = QueryId()
    unit = QueryId()


class StuckQuery(MonitoringQuery):
    idle_days = QueryInt(validate=validate.Range(min=1, max=3650))
    page = Page()
    per_page = PerPage()
