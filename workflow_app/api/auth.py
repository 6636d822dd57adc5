"""Tokens: POST /api/v1/auth/tokens, DELETE /api/v1/auth/tokens/current."""

from flask import g, request
from flask_smorest import Blueprint

from workflow_app import problems
from workflow_app.api import authenticate, commit
from workflow_app.api.schemas import TokenIn, TokenOut
from workflow_app.services import auth, throttle

AUTH_REQUIRED = False
blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")


@blp.route("/tokens", methods=["POST"])
@blp.arguments(TokenIn)
@blp.response(201, TokenOut)
@blp.doc(security=[])
def create_token(data):
    """Exchange username and password for a bearer token (failed attempts are throttled)."""
    address = request.remote_addr or "unknown"
    throttle.check(data["username"], address)
    try:
        token, row = auth.issue_token(data["username"], data["password"])
    except problems.Problem:
        throttle.failed(data["username"], address)
        raise
    throttle.succeeded(data["username"])
    commit()
    return {"token": token, "token_type": "Bearer", "expires_at": row.expires_at}


@blp.route("/tokens/current", methods=["DELETE"])
@blp.response(204)
def revoke_token():
    """Revoke the token this request is made with."""
    authenticate()
    auth.revoke(g.token)
    commit()
