"""The web UI: server-rendered pages (Jinja, htmx) on the same services as the API.

Views here are thin, like the API's handlers: they read a form, check it with the shared input
schemas (``workflow_app.schemas``), call one use case in a unit of work and render the read model
(``services.views``). Which buttons a page shows, and who may press them, come from the
state-machine definition and ``services.access`` — never from a template.
"""

from __future__ import annotations

from flask import Flask, request
from flask_bootstrap import Bootstrap5
from flask_wtf.csrf import CSRFProtect

from workflow_app import problems
from workflow_app.i18n import N_
from workflow_app.web import errors, headers, i18n, session

csrf = CSRFProtect()
bootstrap = Bootstrap5()


def init_app(app: Flask) -> None:
    """Sign-in, CSRF, languages, security headers, error pages and every page blueprint.

    Called after the API is registered: every blueprint under ``/api`` is exempt from CSRF (it
    authenticates with bearer tokens, which a browser never sends by itself).
    """
    from workflow_app.web import pages  # the page blueprints import this package

    i18n.init_app(app)
    session.init_app(app)
    csrf.init_app(app)
    for blueprint in list(app.blueprints.values()):
        if (blueprint.url_prefix or "").startswith("/api"):
            csrf.exempt(blueprint)
    bootstrap.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    for blueprint in pages.BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.context_processor(lambda: {"chrome": pages.chrome})

    @app.before_request
    def _refuse_unstorable_text():
        """A NUL character is valid in a query string or a URL-encoded form, but no database text
        column stores it: a page refuses it at the door (400), as the API does for JSON."""
        if not (request.blueprint or "").startswith("web_"):
            return
        for values in (request.args, request.form):
            if any("\x00" in value for _, value in values.items(multi=True)):
                raise problems.Problem(
                    400, "malformed-request", detail=N_("Text may not contain NUL characters.")
                )
