"""HTML error pages for the web UI; the API keeps answering problem+json.

A request gets a page when a web view handled it, or when it is not an API path and the browser
asked for HTML (an unknown URL typed in the address bar). 403 and 404 pages say the same thing
whether the item does not exist or is not the reader's (no existence leaks).
"""

from __future__ import annotations

from flask import Flask, make_response, render_template, request
from flask_wtf.csrf import CSRFError

from workflow_app import problems
from workflow_app.extensions import db
from workflow_app.i18n import N_, Message

MACHINE_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/dev/")

# What each status says to a person (the problem's own detail is for the API's clients).
HEADLINES = {
    400: N_("The request could not be understood."),
    401: N_("Please sign in."),
    403: N_("You do not have access to this page."),
    404: N_("Page not found."),
    405: N_("That action is not possible here."),
    409: N_("Someone else changed this item first."),
    413: N_("The submitted form is too large."),
    422: N_("The form has errors."),
    429: N_("Too many failed logins; wait before trying again."),
    500: N_("Something went wrong on our side; it was logged."),
    503: N_("The service is briefly unavailable."),
}
EXPLANATIONS = {
    403: N_("Your roles do not include this page. Ask your HR office if you need it."),
    404: N_("The address may be mistyped, or the item is not visible to you."),
    400: N_("The form may have expired. Go back, reload the page and try again."),
}


def wants_page() -> bool:
    if request.blueprint and request.blueprint.startswith("web_"):
        return True
    if request.path.startswith(MACHINE_PATHS) or request.path == "/api":
        return False
    return request.accept_mimetypes.accept_html


def render_error(problem: problems.Problem):
    """The error page for ``problem``, in the reader's language, with its status."""
    status = problem.status
    explanation = EXPLANATIONS.get(status)
    if isinstance(problem.detail, Message) and status not in (403, 404, 500):
        explanation = problem.detail  # a service's own translatable message
    body = render_template(
        "web/error.html",
        status=status,
        headline=HEADLINES.get(status, problems.TITLES.get(status, "Error")),
        explanation=explanation,
    )
    response = make_response(body, status)
    if status == 429 and problem.extra.get("retry_after"):
        response.headers["Retry-After"] = str(problem.extra["retry_after"])
    return response


def _page(problem: problems.Problem):
    return render_error(problem) if wants_page() else None


def init_app(app: Flask) -> None:
    problems.set_page_hook(app, _page)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        db.session.rollback()
        return problems.respond(problems.Problem(400, "csrf-failed", detail=exc.description))
