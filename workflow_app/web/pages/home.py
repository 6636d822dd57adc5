"""My inbox (``/``) with bulk approve and return (``/bulk``), and my notifications (``/notifications``).

The inbox is the read model's (``services.views.inbox_with_deadlines``): what waits on the
signed-in person, overdue (oldest due) first, with the events they may fire on each row. The
bulk form offers only the events that every selectable row allows (their ``allowed_events``),
and the service decides per item; each item's result is shown, applied or not, with its reason.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from marshmallow import fields, validate

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.i18n import N_
from workflow_app.notifications import inbox as notification_inbox
from workflow_app.schemas.base import In, PageQuery, QueryBool, QueryId, Text, take_page
from workflow_app.services import appraisals, delegations, views, workflow
from workflow_app.uow import read_only, unit_of_work
from workflow_app.web.common import FormErrors, attempt, form_errors, is_htmx, load, safe_next
from workflow_app.web.i18n import event_label, label, state_label
from workflow_app.web.session import current_account, current_actor

bp = Blueprint("web_home", __name__)

# The events the inbox offers in bulk (the issue: approve or return plans). Which of them a
# person sees comes from the rows' allowed_events, never from their roles.
BULK_EVENTS = ("approve_plan", "return_plan")


class InboxQuery(In):
    """The inbox's filters (a GET form): one state, one unit, overdue only."""

    state = fields.Str(validate=validate.OneOf(list(APPRAISAL.states)))
    unit = QueryId()
    overdue = QueryBool()


class BulkForm(In):
    """The bulk form: an event, the ticked appraisals and a comment (form values are text)."""

    event = fields.Str(required=True, validate=validate.OneOf(BULK_EVENTS))
    ids = fields.List(
        QueryId(),
        required=True,
        validate=validate.Length(min=1, max=500),
        error_messages={"required": N_("Select at least one appraisal.")},
    )
    comment = Text()


class NotificationQuery(PageQuery):
    unread = QueryBool()


FILTERS = ("state", "unit", "overdue")


# --- the inbox -------------------------------------------------------------------------------


def _filters(source) -> tuple[dict, FormErrors | None]:
    """The inbox filters from a query string or a form; empty values mean "any"."""
    data = {k: source.get(k) for k in FILTERS if source.get(k)}
    try:
        return load(InboxQuery(), data), None
    except problems.Problem as problem:
        return {}, form_errors(problem)


def _apply(rows: list[dict], filters: dict) -> list[dict]:
    """The rows the filters keep (the read model already says each row's state, unit, overdue)."""
    if filters.get("state"):
        rows = [r for r in rows if r["state"] == filters["state"]]
    if filters.get("unit") is not None:
        rows = [r for r in rows if r["unit"]["id"] == filters["unit"]]
    if filters.get("overdue"):
        rows = [r for r in rows if r["overdue"]]
    return rows


def _bulk_offer(rows: list[dict]) -> tuple[list[dict], set[int]]:
    """The bulk events every selectable row allows, and the ids of the selectable rows.

    A row is selectable when it allows one of the bulk events; the events offered are those
    all selectable rows allow (the intersection of their ``allowed_events``).
    """
    selectable = [r for r in rows if set(r["allowed_events"]) & set(BULK_EVENTS)]
    if not selectable:
        return [], set()
    common = set(BULK_EVENTS)
    for r in selectable:
        common &= set(r["allowed_events"])
    offered = [
        {
            "event": event,
            "label": APPRAISAL.transitions[event].label,
            "needs_comment": "comment" in APPRAISAL.transitions[event].required,
        }
        for event in BULK_EVENTS
        if event in common
    ]
    return offered, ({r["id"] for r in selectable} if offered else set())


def _inbox_context(filters: dict, filter_errors: FormErrors | None = None, **extra) -> dict:
    actor = current_actor()
    with read_only():
        everything = views.inbox_with_deadlines(actor)
        mine = [views.delegation_view(d) for d in delegations.my_delegations(actor)]
    rows = _apply(everything, filters)
    offered, selectable = _bulk_offer(rows)
    needs_comment = [label(o["label"]) for o in offered if o["needs_comment"]]
    comment_help = (
        gettext("Required for: %(events)s.", events=", ".join(needs_comment))
        if needs_comment
        else gettext("Optional; recorded with each step.")
    )
    units = {r["unit"]["id"]: r["unit"]["name"] for r in everything}
    states = [s for s in APPRAISAL.states if any(r["state"] == s for r in everything)]
    return {
        "rows": rows,
        "total": len(everything),
        "overdue": sum(1 for r in everything if r["overdue"]),
        "filters": filters,
        "filter_errors": filter_errors,
        "state_options": [(s, state_label(s)) for s in states],
        "unit_options": sorted(units.items(), key=lambda item: item[1]),
        "offered": offered,
        "selectable": selectable,
        "comment_help": comment_help,
        "delegations": mine,
        "me": current_actor().employee_id,
        "has_employee": current_account().employee_id is not None,
        "results": None,
        "bulk_event": None,
        "bulk_errors": None,
        "comment": "",
        "ticked": set(),
        **extra,
    }


@bp.route("/")
@login_required
def inbox():
    """What waits on me, overdue first; filters by state, unit and overdue."""
    filters, errors = _filters(request.args)
    context = _inbox_context(filters, errors)
    if is_htmx() and request.headers.get("HX-Target") == "inbox":
        return render_template("web/home/_inbox.html", **context), 422 if errors else 200
    return render_template("web/home/inbox.html", **context), 422 if errors else 200


def _item_problem(problem: dict) -> str:
    """A failed bulk item's reason, in the reader's language."""
    status = problem.get("status")
    if status == 404:
        return gettext("This appraisal does not exist or is not visible to you.")
    if status == 403:
        return gettext("You may not take this step on this appraisal.")
    slug = str(problem.get("type", "")).rsplit("/", 1)[-1]
    extra = {k: v for k, v in problem.items() if k not in ("type", "title", "status", "detail")}
    errors = form_errors(
        problems.Problem(status or 400, slug, problem.get("title"), problem.get("detail"), **extra)
    )
    if slug == "invalid-transition" and problem.get("state") in APPRAISAL.states:
        return gettext(
            "This step is no longer possible: the appraisal is now at “%(state)s”.",
            state=state_label(problem["state"]),
        )
    if errors.fields:
        return " ".join(m for messages in errors.fields.values() for m in messages)
    return " ".join(errors.summary)


def _by_field(errors: FormErrors) -> FormErrors:
    """Errors of a list's items (``ids-0``) shown at the list's own field (``ids``)."""
    fields_: dict[str, list[str]] = {}
    for name, messages in errors.fields.items():
        for message in messages:
            if message not in fields_.setdefault(name.split("-")[0], []):
                fields_[name.split("-")[0]].append(message)
    return FormErrors(errors.status, errors.summary, fields_)


def _required_in_words(errors: FormErrors, event: str) -> FormErrors:
    """A field the event requires, left empty, says so in the reader's language."""
    required = APPRAISAL.transitions[event].required
    for name in errors.fields:
        if name in required:
            errors.fields[name] = [gettext("Required for “%(event)s”.", event=event_label(event))]
    return errors


def _bulk(actor, event: str, ids: list[int], fields_: dict):
    """The event's own field check (a missing comment is the form's error), then every item."""
    workflow.check_fields(workflow.transition_of(appraisals.FLOW, event), fields_)
    return appraisals.bulk_event(actor, event, ids, fields_, dry_run=False)


@bp.route("/bulk")
def bulk_page():
    """The bulk result's own address (e.g. after switching language there): the inbox."""
    return redirect(url_for("web_home.inbox"))


@bp.route("/bulk", methods=["POST"])
@login_required
def bulk():
    """Approve or return the ticked plans; each item applies whole or not at all."""
    actor = current_actor()
    filters, filter_errors = _filters(request.form)
    data = {"event": request.form.get("event"), "ids": request.form.getlist("ids")}
    comment = (request.form.get("comment") or "").strip()
    if comment:
        data["comment"] = comment
    data = {k: v for k, v in data.items() if v not in (None, "", [])}
    try:
        parsed = load(BulkForm(), data)
    except problems.Problem as problem:
        results, errors = None, _by_field(form_errors(problem))
    else:
        with read_only():
            names = {r["id"]: r["employee"]["name"] for r in views.inbox(actor)}
        fields_ = {"comment": parsed["comment"]} if parsed.get("comment") else {}
        outcome, errors = attempt(lambda: _bulk(actor, parsed["event"], parsed["ids"], fields_))
        if errors:
            errors = _required_in_words(errors, parsed["event"])
        results = None
        if outcome is not None:
            results = [
                {
                    "id": r.id,
                    "name": names.get(r.id),
                    "ok": r.ok,
                    "found": r.ok or (r.problem or {}).get("status") != 404,
                    "state": r.state,
                    "message": None if r.ok else _item_problem(r.problem or {}),
                }
                for r in outcome
            ]
    context = _inbox_context(
        filters,
        filter_errors,
        results=results,
        bulk_event=data.get("event"),
        bulk_errors=errors,
        comment=comment if errors else "",
        ticked={str(i) for i in request.form.getlist("ids")} if errors else set(),
    )
    status = errors.status if errors else 200
    template = "web/home/_inbox.html" if is_htmx() else "web/home/inbox.html"
    return render_template(template, **context), status


# --- notifications ---------------------------------------------------------------------------


def _site_path(link: str | None) -> str | None:
    """An email's absolute link (``PUBLIC_BASE_URL`` + path) as a path of this site."""
    if not link:
        return None
    parts = urlsplit(link)
    path = parts.path or "/"
    return safe_next(path, "/")


def _zone() -> str:
    employee = current_account().employee
    return employee.unit.timezone if employee is not None else "WIB"


def _present(n) -> dict:
    return {
        "id": n.id,
        "subject": n.subject,
        "body": n.body,
        "path": _site_path(n.link),
        "urgent": n.urgent,
        "created_at": n.created_at,
        "read": n.read_at is not None,
    }


@bp.route("/notifications")
@login_required
def notifications():
    """My notifications, newest first, a page at a time; unread ones say so in words."""
    args = {k: v for k, v in request.args.items() if v}
    try:
        query = load(NotificationQuery(), args)
    except problems.Problem as problem:
        errors = form_errors(problem)
        query = load(NotificationQuery(), {})
    else:
        errors = None
    page, per_page = take_page(query)
    unread_only = bool(query.get("unread"))
    with read_only():
        listing = notification_inbox.list_notifications(current_actor(), unread_only, page, per_page)
    context = {
        "items": [_present(n) for n in listing["items"]],
        "total": listing["total"],
        "unread": listing["unread"],
        "unread_only": unread_only,
        "page": page,
        "per_page": per_page,
        "args": {
            k: v for k, v in {"unread": "true" if unread_only else None, "per_page": per_page}.items() if v
        },
        "zone": _zone(),
        "errors": errors,
    }
    return render_template("web/home/notifications.html", **context), 422 if errors else 200


def _back_to_notifications():
    return redirect(safe_next(request.form.get("next"), url_for("web_home.notifications")))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int):
    """Mark one notification read (someone else's is the same 404 as a missing one)."""
    actor = current_actor()
    with unit_of_work():
        n = notification_inbox.mark_read(actor, notification_id)
    if is_htmx():
        with read_only():
            unread = notification_inbox.unread_count(actor)
        return render_template("web/home/_notification_read.html", n=_present(n), unread=unread, zone=_zone())
    return _back_to_notifications()


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read():
    with unit_of_work():
        notification_inbox.mark_all_read(current_actor())
    return _back_to_notifications()
