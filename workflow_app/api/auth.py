"""Tokens: POST /api/v1/auth/tokens, DELETE /api/v1/auth/tokens/current."""

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from workflow_app.api import authenticate
from workflow_app.ratelimit import login_throttled
from workflow_app.schemas.base import (
    In,
    UTCDateTime,
)
from workflow_app.services import auth
from workflow_app.uow import unit_of_work

AUTH_REQUIRED = False


class TokenIn(In):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class TokenOut(Schema):
    token = fields.Str()
    token_type = fields.Str()
    expires_at = UTCDateTime()


blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")


@blp.route("/tokens", methods=["POST"])
@blp.arguments(TokenIn)
@blp.response(201, TokenOut)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
@blp.doc(security=[])
@login_throttled
def create_token(data):
    """Exchange username and password for a bearer token.

    Failed attempts are counted per (username, client address) and per client address;
    over either limit the answer is 429 `too-many-attempts` with `Retry-After`.
    """
    with unit_of_work():
        token, row = auth.issue_token(data["username"], data["password"])
    return {"token": token, "token_type": "Bearer", "expires_at": row.expires_at}


@blp.route("/tokens/current", methods=["DELETE"])
@blp.response(204)
def revoke_token():
    """Revoke the token this request is made with."""
    with unit_of_work():
        authenticate()
        auth.revoke_token(g.token_id)
