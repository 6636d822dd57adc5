"""What the schemas of every front door share: field types, the input bases, one page query, one envelope.

Each API module declares the schemas of its own endpoints above its routes; only what two or
more areas use lives here.
"""

from __future__ import annotations

import re
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from workflow_app.clock import isoformat
from workflow_app.i18n import N_

Text = lambda n=2000, **kw: fields.Str(validate=validate.Length(max=n), **kw)  # noqa: E731
Name = lambda **kw: fields.Str(validate=validate.Length(min=1, max=200), **kw)  # noqa: E731
Id = lambda **kw: fields.Int(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kw)  # noqa: E731

ASCII_DIGITS = re.compile(r"[0-9]+")
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2100, 12, 31)


class QueryInt(fields.Int):
    """An integer written in a query string: ASCII digits ``0``-``9`` only.

    ``int()`` also takes ``"１２"`` (full-width), ``"١٢"`` (Arabic-Indic), ``" 12"``, ``"+12"``
    and ``"1_2"``; none of them is a number here (422).
    """

    def _validated(self, value):
        if isinstance(value, str) and not ASCII_DIGITS.fullmatch(value):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


# Query strings carry text: their ids are parsed from it (``strict`` would refuse every value).
QueryId = lambda **kw: QueryInt(validate=validate.Range(min=1, max=2**31 - 1), **kw)  # noqa: E731


class StrictBool(fields.Bool):
    """A JSON boolean: ``true`` or ``false`` only (not ``0``, ``1``, ``"true"`` or ``"yes"``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


class QueryBool(fields.Bool):
    """A boolean in a query string: exactly ``true`` or ``false``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value in ("true", "false"):
            return value == "true"
        raise self.make_error("invalid", input=value)


class Day(fields.Date):
    """A calendar date within 1990–2100: the service's deadlines and working days stay finite.

    OpenAPI 3.0 has no bounds for dates: the spec says them in ``x-minimum``/``x-maximum``
    (apispec writes them from the Range) and in the description.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=FIRST_DAY, max=LAST_DAY))
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("description", f"A date from {FIRST_DAY} to {LAST_DAY} (inclusive).")
        super().__init__(**kwargs)


class UTCDateTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat(value)


class In(Schema):
    class Meta:
        unknown = RAISE


class Patch(In):
    """A partial update: every field is optional, but an empty body changes nothing (422)."""

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError(N_("Send at least one field to change."), "_schema")


# --- pagination: one query, one envelope -------------------------------------------------------


class PageQuery(In):
    """``page`` and ``per_page`` of every paginated list; list queries extend it."""

    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = QueryInt(load_default=50, validate=validate.Range(min=1, max=200))


class PageOut(Schema):
    page = fields.Int()
    per_page = fields.Int()
    total = fields.Int()


def page_schema(item_schema: type[Schema], name: str | None = None, **extra: fields.Field) -> type[PageOut]:
    """The envelope ``{items, page, per_page, total, **extra}`` of a page of ``item_schema``."""
    name = name or item_schema.__name__.removesuffix("Out") + "Page"
    return type(name, (PageOut,), {"items": fields.List(fields.Nested(item_schema)), **extra})


def take_page(query: dict) -> tuple[int, int]:
    """Remove ``page`` and ``per_page`` from a loaded ``PageQuery``: what is left are the filters."""
    return query.pop("page"), query.pop("per_page")


def page_body(items, total: int, page: int, per_page: int, **extra) -> dict:
    """The body of a ``page_schema`` envelope."""
    return {"items": items, "page": page, "per_page": per_page, "total": total, **extra}
