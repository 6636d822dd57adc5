"""The state-machine definitions, as served to clients and the docs."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from state_machines import WORKFLOWS
from workflow_app import problems

AUTH_REQUIRED = False


class DefinitionOut(Schema):
    name = fields.Str()
    version = fields.Str()
    initial = fields.Str()
    roles = fields.List(fields.Str())
    states = fields.List(fields.Dict())
    transitions = fields.List(fields.Dict())
    mermaid = fields.Str()


blp = Blueprint("definitions", __name__, url_prefix="/api/v1/state-machines", description="Definitions")


@blp.route("/<string:name>")
@blp.response(200, DefinitionOut)
@blp.doc(security=[])
def get_definition(name):
    """States, transitions with roles, guards and SLAs, version and Mermaid text."""
    workflow = WORKFLOWS.get(name)
    if workflow is None:
        raise problems.not_found("state machine")
    return workflow.to_json()
