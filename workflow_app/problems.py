"""RFC 9457 problem details: every error the service returns has this shape."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from workflow_app.i18n import N_, Message

PROBLEM_MIME = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    414: "URI too long",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    431: "Request header fields too large",
    500: "Internal server error",
    503: "Service unavailable",
}
SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    431: "header-fields-too-large",
    500: "internal-error",
    503: "unavailable",
}


class ProblemSchema(Schema):
    """RFC 9457 problem details, as documented in the OpenAPI spec."""

    type = fields.Str(metadata={"description": "URI naming the problem type"})
    title = fields.Str()
    status = fields.Int()
    detail = fields.Str()
    errors = fields.Dict(metadata={"description": "422: messages per field"})
    allowed_events = fields.List(fields.Str(), metadata={"description": "409 invalid-transition"})
    state = fields.Str()
    current_version = fields.Int(allow_none=True, metadata={"description": "409 version-conflict"})
    retry_after = fields.Int(metadata={"description": "429: seconds to wait"})


class Problem(Exception):
    """An error to answer with ``application/problem+json``."""

    def __init__(
        self,
        status: int,
        slug: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        **extra,
    ):
        super().__init__(detail or title or SLUGS.get(status, "error"))
        self.status = status
        self.slug = slug or SLUGS.get(status, "error")
        self.title = title or TITLES.get(status, "Error")
        self.detail = detail
        self.extra = extra

    def to_dict(self) -> dict:
        body = {
            "type": current_app.config["PROBLEM_TYPE_BASE"] + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return body


# One whole sentence per kind of item, so that a translation need not fit an English noun in.
_NOT_FOUND = {
    "appraisal": N_("No appraisal with that id is visible to you."),
    "cycle": N_("No cycle with that id is visible to you."),
    "delegation": N_("No delegation with that id is visible to you."),
    "employee": N_("No employee with that id is visible to you."),
    "incident": N_("No incident with that id is visible to you."),
    "leave": N_("No leave with that id is visible to you."),
    "notification": N_("No notification with that id is visible to you."),
    "state machine": N_("No state machine with that id is visible to you."),
    "training": N_("No training with that id is visible to you."),
    "unit": N_("No unit with that id is visible to you."),
    "user": N_("No user with that id is visible to you."),
    "resource": N_("No resource with that id is visible to you."),
}


def not_found(kind: str = "resource") -> Problem:
    detail = _NOT_FOUND.get(kind) or N_("No {kind} with that id is visible to you.", kind=kind)
    return Problem(404, detail=detail)


def unknown_event(event: str) -> Problem:
    return Problem(404, "unknown-event", detail=N_("There is no event '{event}'.", event=event))


def forbidden(detail: Message) -> Problem:
    """403 with ``detail``, a translatable message (``N_``) that says why."""
    return Problem(403, detail=detail)


def validation_error(errors: dict, detail: Message | None = None) -> Problem:
    detail = detail if detail is not None else N_("The request has invalid fields.")
    return Problem(422, "validation-error", detail=detail, errors=errors)


def guard_failed(event: str, errors: dict) -> Problem:
    """422 guard-failed: ``errors`` keeps each guard's own message per field (what a form shows)."""
    return Problem(
        422,
        "guard-failed",
        "Conditions for this event are not met",
        detail=N_(
            "'{event}' cannot be fired yet: {reasons}", event=event, reasons="; ".join(_flatten(errors))
        ),
        errors=errors,
    )


def invalid_transition(event: str, state: str, allowed: list[str]) -> Problem:
    return Problem(
        409,
        "invalid-transition",
        "Event not allowed in the current state",
        detail=N_("'{event}' cannot be fired from state '{state}'.", event=event, state=state),
        state=state,
        allowed_events=allowed,
    )


def version_conflict(current: int | None) -> Problem:
    return Problem(
        409,
        "version-conflict",
        "The item was changed by someone else",
        detail=N_("Reload the item and try again with its current version."),
        current_version=current,
    )


def _flatten(errors, prefix: str = "") -> list[str]:
    out = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            out += _flatten(value, f"{prefix}{key}: " if not prefix else f"{prefix}{key}.")
    elif isinstance(errors, list):
        for value in errors:
            out += _flatten(value, prefix)
    else:
        out.append(f"{prefix}{errors}")
    return out


PAGE_HOOK = "kinerja.error_page"


def set_page_hook(app, hook: Callable[[Problem], object | None]) -> None:
    """Let a front door answer an error as a page of its own (``hook`` returns None to decline)."""
    app.extensions[PAGE_HOOK] = hook


def respond(problem: Problem):
    """The answer to an error: the front door's page where it wants one, else problem+json."""
    hook = current_app.extensions.get(PAGE_HOOK)
    if hook is not None:
        page = hook(problem)
        if page is not None:
            return page
    return problem_response(problem)


def problem_response(problem: Problem):
    response = jsonify(problem.to_dict())
    response.status_code = problem.status
    response.mimetype = PROBLEM_MIME
    if problem.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="kinerja"'
    if problem.status == 429 and problem.extra.get("retry_after"):
        response.headers["Retry-After"] = str(problem.extra["retry_after"])
    return response


def _webargs_errors(messages) -> dict:
    """Flatten webargs' ``{"json": {...}, "query": {...}}`` into one field map."""
    if not isinstance(messages, dict):
        return {"_body": messages}
    errors: dict = {}
    for location, value in messages.items():
        if isinstance(value, dict):
            errors.update(value)
        else:
            errors[f"_{location}"] = value
    return errors


def from_http_exception(exc: HTTPException) -> Problem:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if status == 422 and messages is not None:
        return validation_error(_webargs_errors(messages))
    if status == 400 and messages is not None:
        errors = _webargs_errors(messages)
        return Problem(
            400, "malformed-request", detail=N_("The request body is not valid JSON."), errors=errors
        )
    detail = exc.description if isinstance(exc.description, str) else None
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        detail = N_("The request body exceeds the limit of {limit} bytes.", limit=limit)
    return Problem(status, detail=detail)


def register(app, rollback: Callable[[], None]) -> None:
    """Answer every error as a problem, after ``rollback`` (the session's: nothing half-written)."""

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        rollback()
        return respond(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        rollback()
        response = respond(from_http_exception(exc))
        valid_methods = getattr(exc, "valid_methods", None)
        if exc.code == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)  # RFC 9110 §15.5.6
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # pragma: no cover - defensive
        rollback()
        app.logger.exception("unhandled error")
        return respond(Problem(500, detail=N_("An unexpected error occurred; it was logged.")))
