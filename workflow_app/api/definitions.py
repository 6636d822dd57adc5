"""The state-machine definitions, as served to clients and the docs."""

from flask_smorest import Blueprint

from state_machines import WORKFLOWS
from workflow_app import problems
from workflow_app.api.schemas import DefinitionOut

AUTH_REQUIRED = False
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
