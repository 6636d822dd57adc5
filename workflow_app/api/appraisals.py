"""Appraisals: list, detail, plan, progress, trainings, events, history and bulk events."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import inspect, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from state_machines import APPRAISAL
from workflow_app.api import actor
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Employee
from workflow_app.schemas.appraisals import BulkEventIn, EventIn, PlanIn, ProgressIn, TrainingUpdateIn
from workflow_app.schemas.base import (
    Day,
    PageQuery,
    QueryBool,
    QueryId,
    UTCDateTime,
    page_schema,
    take_page,
)
from workflow_app.services import appraisals, views
from workflow_app.services.access import appraisal_relations
from workflow_app.uow import read_only, unit_of_work


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


class EmployeeRef(Schema):
    id = fields.Int()
    nip = fields.Str()
    name = fields.Str()


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


class AppraisalEventOut(AppraisalOut):
    """The appraisal as the event left it: the row's own fields, the events the caller may fire
    next and their relations to it; its plan items, behaviours, trainings and objection are in
    ``GET /appraisals/{id}``."""

    score_justification = fields.Str(allow_none=True)
    scored_at = UTCDateTime(allow_none=True)
    result_accepted_at = UTCDateTime(allow_none=True)
    objection_deadline = UTCDateTime(allow_none=True)
    midyear_feedback = fields.Str(allow_none=True)
    feedback = fields.Str(allow_none=True)
    relations = fields.List(fields.Str())


class AppraisalQuery(PageQuery):
    cycle = QueryId()
    state = fields.List(fields.Str(validate=validate.OneOf(list(APPRAISAL.states))))
    unit = QueryId()
    assessor = QueryId()
    employee = QueryId()
    overdue = QueryBool()


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


AppraisalPage = page_schema(AppraisalOut)


def dump_detail(appraisal) -> dict:
    return views.appraisal_detail(actor(), appraisal.id)


def people_in_session(rows) -> None:
    """Each row's employee, assessor and superior attached: those not loaded yet, in one query,
    so that naming them costs no query per row (no N+1 however the rows were loaded)."""
    wanted = [(a, name) for a in rows for name in PEOPLE if name in inspect(a).unloaded]
    ids = {getattr(a, f"{name}_id") for a, name in wanted} - {None}
    if not ids:
        return
    known = ((i, db.session.identity_map.get(identity_key(Employee, i))) for i in ids)
    people = {i: e for i, e in known if e is not None}
    if missing := ids - people.keys():
        people.update((e.id, e) for e in db.session.scalars(select(Employee).where(Employee.id.in_(missing))))
    for a, name in wanted:
        set_committed_value(a, name, people.get(getattr(a, f"{name}_id")))


def event_response(appraisal) -> dict:
    """What an event answers, from the row the event just changed (still loaded, before the
    commit expires it): no second read of the appraisal and its collections."""
    caller = actor()
    relations = appraisal_relations(caller, appraisal)
    people_in_session([appraisal])
    return views.appraisal_answer(caller, appraisal, relations)


PEOPLE = ("employee", "assessor", "superior")
blp = Blueprint("appraisals", __name__, url_prefix="/api/v1/appraisals", description="Appraisals")


@blp.route("", methods=["GET"])
@blp.arguments(AppraisalQuery, location="query")
@blp.response(200, AppraisalPage)
def list_appraisals(query):
    """Appraisals you may see; filter by cycle, state, unit subtree, assessor, overdue."""
    page, per_page = take_page(query)
    with read_only():
        rows, total = appraisals.list_appraisals(actor(), query, page, per_page)
        people_in_session(rows)
        now = utcnow()
        items = [views.appraisal_row(actor(), a, now) for a in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@blp.route("/<int:appraisal_id>", methods=["GET"])
@blp.response(200, AppraisalDetailOut)
def get_appraisal(appraisal_id):
    """One appraisal with plan, trainings, objection and the events you may fire."""
    return views.appraisal_detail(actor(), appraisal_id)


@blp.route("/<int:appraisal_id>/plan", methods=["PUT"])
@blp.arguments(PlanIn)
@blp.response(200, AppraisalDetailOut)
def put_plan(data, appraisal_id):
    """Replace the plan items and behaviour expectations (plan_drafted only; with version)."""
    with unit_of_work():
        appraisal = appraisals.update_plan(actor(), appraisal_id, data)
    return dump_detail(appraisal)


@blp.route("/<int:appraisal_id>/progress", methods=["PUT"])
@blp.arguments(ProgressIn)
@blp.response(200, AppraisalDetailOut)
def put_progress(data, appraisal_id):
    """Record realisation per plan item: mid-year in midyear_review, final in final_review."""
    with unit_of_work():
        appraisal = appraisals.record_progress(actor(), appraisal_id, data)
    return dump_detail(appraisal)


@blp.route("/<int:appraisal_id>/trainings/<int:training_id>", methods=["PATCH"])
@blp.arguments(TrainingUpdateIn)
@blp.response(200, AppraisalDetailOut)
def patch_training(data, appraisal_id, training_id):
    """Mark a training completed (employee) or recorded (HR)."""
    with unit_of_work():
        appraisal = appraisals.update_training(actor(), appraisal_id, training_id, data)
    return dump_detail(appraisal)


@blp.route("/<int:appraisal_id>/events/<string:event>", methods=["POST"])
@blp.arguments(EventIn)
@blp.response(200, AppraisalEventOut)
def fire_event(data, appraisal_id, event):
    """Fire an event with the appraisal's current ``version``; 409 on a stale version.

    The answer is the appraisal as the event left it (state, version, due_at, escalation level,
    ratings, allowed_events for you); plan items, trainings and the objection are in
    ``GET /appraisals/{id}``.
    """
    with unit_of_work():
        appraisal = appraisals.fire_event(actor(), appraisal_id, event, data)
        body = event_response(appraisal)
    return body


@blp.route("/<int:appraisal_id>/history", methods=["GET"])
@blp.response(200, HistoryOut(many=True))
def history(appraisal_id):
    """The hash-chained transition log of the appraisal."""
    return appraisals.history(actor(), appraisal_id)


@blp.route("/bulk-events", methods=["POST"])
@blp.arguments(BulkEventIn)
@blp.response(200, BulkOut)
def bulk_events(data):
    """Fire one event on many appraisals; each item applies whole or not at all."""
    event, ids, dry_run = data.pop("event"), data.pop("ids"), data.pop("dry_run")
    with read_only() if dry_run else unit_of_work():
        results = appraisals.bulk_event(actor(), event, ids, data, dry_run)
    return bulk_response(event, dry_run, results)


def bulk_response(event: str, dry_run: bool, results) -> dict:
    """Summarise a bulk request per item (a dry run was rolled back, a real one committed)."""
    applied = sum(1 for r in results if r.ok)
    return {
        "event": event,
        "dry_run": dry_run,
        "applied": applied,
        "failed": len(results) - applied,
        "results": [r.__dict__ for r in results],
    }
