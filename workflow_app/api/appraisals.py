"""Appraisals: list, detail, plan, progress, trainings, events, history and bulk events."""

from flask_smorest import Blueprint

from workflow_app.api import actor
from workflow_app.api.schemas import (
    AppraisalDetailOut,
    AppraisalPage,
    AppraisalQuery,
    BulkEventIn,
    BulkOut,
    EventIn,
    HistoryOut,
    PlanIn,
    ProgressIn,
    TrainingUpdateIn,
)
from workflow_app.services import appraisals, views
from workflow_app.uow import read_only, unit_of_work

blp = Blueprint("appraisals", __name__, url_prefix="/api/v1/appraisals", description="Appraisals")


def dump_detail(appraisal) -> dict:
    return views.appraisal_detail(actor(), appraisal.id)


@blp.route("", methods=["GET"])
@blp.arguments(AppraisalQuery, location="query")
@blp.response(200, AppraisalPage)
def list_appraisals(query):
    """Appraisals you may see; filter by cycle, state, unit subtree, assessor, overdue."""
    page, per_page = query.pop("page"), query.pop("per_page")
    with read_only():
        return views.appraisal_page(actor(), query, page, per_page)


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
@blp.response(200, AppraisalDetailOut)
def fire_event(data, appraisal_id, event):
    """Fire an event with the appraisal's current ``version``; 409 on a stale version."""
    with unit_of_work():
        appraisal = appraisals.fire_event(actor(), appraisal_id, event, data)
    return dump_detail(appraisal)


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
