"""The REST API under /api/v1 (flask-smorest)."""

from __future__ import annotations

from flask import g, request

from workflow_app import problems
from workflow_app.extensions import db
from workflow_app.services.access import Actor


def authenticate() -> None:
    """Resolve ``Authorization: Bearer <token>`` into ``g.user`` and ``g.actor`` (401 if not)."""
    from workflow_app.services.auth import resolve_token

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise problems.Problem(401, detail="Send 'Authorization: Bearer <token>' (POST /api/v1/auth/tokens).")
    found = resolve_token(token.strip())
    if found is None:
        raise problems.Problem(401, "invalid-token", detail="The token is unknown, expired or revoked.")
    g.user, g.token = found
    g.actor = Actor.from_user(g.user)


def actor() -> Actor:
    return g.actor


def commit() -> None:
    """The request boundary: commit once, then hand new outbox rows to the workers."""
    db.session.commit()
    from workflow_app.jobs.dispatch import kick

    kick()


def register_api(app, api) -> None:
    from workflow_app.api import admin, appraisals, auth, cycles, definitions, me, monitoring

    for module in (auth, me, admin, cycles, appraisals, monitoring, definitions):
        if getattr(module, "AUTH_REQUIRED", True):
            module.blp.before_request(authenticate)
        api.register_blueprint(module.blp)

    from workflow_app.api.docs import bp as docs_bp

    app.register_blueprint(docs_bp)
