"""Cycles: create, list, read, and fire cycle events."""

from flask_smorest import Blueprint

from workflow_app.api import actor
from workflow_app.api.schemas import CycleEventIn, CycleEventOut, CycleIn, CycleOut
from workflow_app.services import cycles, views
from workflow_app.uow import unit_of_work

blp = Blueprint("cycles", __name__, url_prefix="/api/v1/cycles", description="Appraisal cycles")


def dump_cycle(cycle) -> dict:
    return views.cycle_view(actor(), cycle)


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
