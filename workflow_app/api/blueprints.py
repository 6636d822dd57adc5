"""Every API blueprint, registered on the app (kept apart so API modules never import it)."""

from __future__ import annotations

from workflow_app.api import (
    _IdConverter,
    admin,
    appraisals,
    auth,
    authenticate,
    cycles,
    definitions,
    delegations,
    incidents,
    interventions,
    leave,
    me,
    monitoring,
    notifications,
    reassignment,
)
from workflow_app.api.docs import bp as docs_bp
from workflow_app.api.openapi import ErrorResponses


def register_api(app, api) -> None:
    # Before the blueprints: the plugin sees each operation as it is added to the spec.
    api.spec.plugins.append(ErrorResponses())
    app.url_map.converters["int"] = _IdConverter
    for module in (
        auth,
        me,
        admin,
        cycles,
        appraisals,
        monitoring,
        incidents,
        leave,
        delegations,
        reassignment,
        interventions,
        notifications,
        definitions,
    ):
        # Blueprints are module singletons: install the hook once per process, not per app.
        if getattr(module, "AUTH_REQUIRED", True) and not getattr(module.blp, "_kinerja_auth", False):
            module.blp.before_request(authenticate)
            module.blp._kinerja_auth = True
        api.register_blueprint(module.blp)
    app.register_blueprint(docs_bp)
