"""The REST API under /api/v1 (flask-smorest)."""

from __future__ import annotations

import json

from flask import g, request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.routing import IntegerConverter

from workflow_app import problems
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import User
from workflow_app.services.access import Actor
from workflow_app.services.auth import resolve_token


def _unstorable(value) -> bool:
    """True when a string anywhere in ``value`` holds NUL or a lone UTF-16 surrogate.

    Valid JSON may carry both (``"\\u0000"``, ``"\\ud800"``), but no database text column
    stores them: refuse them at the door instead of failing in the driver.
    """
    stack = [value]  # iterative: the body may be nested as deep as the decoder allows
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _refuse_text() -> problems.Problem:
    return problems.Problem(
        400,
        "malformed-request",
        detail=N_("Text may not contain NUL characters or unpaired surrogates."),
    )


class _Parser(FlaskParser):
    """The request parser: malformed input is a 400 problem, never a crash in the driver."""

    def _raw_load_json(self, req):
        try:
            data = super()._raw_load_json(req)
        except RecursionError:
            raise json.JSONDecodeError("The JSON body is nested too deeply.", "<body>", 0) from None
        if _unstorable(data):
            raise _refuse_text()
        return data

    def load_querystring(self, req, schema):
        if any("\x00" in v for values in req.args.listvalues() for v in values):
            raise _refuse_text()
        return super().load_querystring(req, schema)


# Set before any blueprint module decorates its views (they import this package first).
Blueprint.ARGUMENTS_PARSER = _Parser()


class _IdConverter(IntegerConverter):
    """``<int:...>`` ids are ASCII digits and fit the database's INTEGER; else an unknown URL (404).

    Werkzeug's ``\\d+`` matches any Unicode digit, and ``int()`` reads ``"１２"`` as 12.
    """

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def authenticate() -> None:
    """Resolve ``Authorization: Bearer <token>`` into ``g.actor`` and ``g.token_id`` (401 if not).

    One query, or none while the token is in the per-process cache (services.auth).
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise problems.Problem(
            401, detail=N_("Send 'Authorization: Bearer <token>' (POST /api/v1/auth/tokens).")
        )
    found = resolve_token(token.strip())
    if found is None:
        raise problems.Problem(401, "invalid-token", detail=N_("The token is unknown, expired or revoked."))
    g.token_id = found.token_id
    g.actor = found.actor


def actor() -> Actor:
    return g.actor


def current_user() -> User:
    """The caller's account row, read when a handler needs more than the actor (GET /me)."""
    user = db.session.get(User, g.actor.user_id)
    if user is None:  # deleted since the token was resolved
        raise problems.Problem(401, "invalid-token", detail=N_("The token is unknown, expired or revoked."))
    return user
