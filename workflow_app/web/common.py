"""What every page view shares: run a use case, turn its problem into form errors, safe redirects."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from flask import request
from flask_babel import gettext
from marshmallow import Schema, ValidationError

from workflow_app import problems
from workflow_app.uow import unit_of_work
from workflow_app.web.i18n import localize

T = TypeVar("T")

# Problems a form shows beside its fields; anything else (403, 404, …) is an error page.
FORM_STATUSES = (400, 409, 422)


@dataclass
class FormErrors:
    """A refused form: a summary for the top of the page and messages per field, translated."""

    status: int = 422
    summary: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.summary or self.fields)

    def of(self, name: str) -> list[str]:
        return self.fields.get(name, [])


def _flatten(errors, prefix: str = "") -> dict[str, list[str]]:
    """``{"items": {0: {"rhk": [...]}}}`` → ``{"items-0-rhk": [...]}`` (the form's field names)."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}-{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(errors, list | tuple):
        for value in errors:
            if isinstance(value, dict | list | tuple):
                for k, v in _flatten(value, prefix).items():
                    out.setdefault(k, []).extend(v)
            else:
                out.setdefault(prefix or "_form", []).append(localize(value))
    else:
        out.setdefault(prefix or "_form", []).append(localize(errors))
    return out


def form_errors(problem: problems.Problem) -> FormErrors:
    """What a refused use case tells the person, in their language."""
    fields = _flatten(problem.extra.get("errors") or {})
    if problem.slug == "version-conflict":
        summary = [gettext("Someone else changed this appraisal first. Review it below and try again.")]
    elif problem.slug == "invalid-transition":
        summary = [gettext("This step is no longer possible in the appraisal's current state.")]
    elif problem.slug == "guard-failed":
        summary = [gettext("This step cannot be taken yet:")]
    elif problem.detail and not fields:
        summary = [localize(problem.detail)]
    else:
        summary = [gettext("Correct the fields marked below.")]
    for name in [n for n in fields if n.startswith("_")]:  # errors of the whole form
        summary.extend(fields.pop(name))
    return FormErrors(problem.status, summary, fields)


def attempt(use_case: Callable[[], T]) -> tuple[T | None, FormErrors | None]:
    """Run ``use_case`` in one unit of work: its result, or the form errors it was refused with.

    A refusal (409, 422, a bad form) is returned for the page to show beside the form; anything
    else — 403, 404 — propagates to the error page.
    """
    try:
        with unit_of_work():
            return use_case(), None
    except problems.Problem as problem:
        if problem.status not in FORM_STATUSES:
            raise
        return None, form_errors(problem)


def load(schema: Schema, data: dict) -> dict:
    """``data`` checked by the shared input schema; a refusal is the 422 problem the API gives."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise problems.validation_error(exc.messages) from None


DIGITS = re.compile(r"[0-9]{1,9}")


def form_number(value: str | None):
    """A whole number typed in a form, as an int; anything else stays text, for the shared
    schema to refuse (422) — never a crash, and never a number too big for the database."""
    value = (value or "").strip()
    return int(value) if DIGITS.fullmatch(value) else value


def safe_next(target: str | None, default: str = "/") -> str:
    """A path of this site to return to after signing in; anything else goes to ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"
