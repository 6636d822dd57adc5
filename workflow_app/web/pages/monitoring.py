"""HR's monitoring (``/monitoring``), its interventions and CSV export, and the cycle page
(``/cycles/<id>``).

Who may see what is the services' decision: ``services.monitoring`` refuses anyone but HR and
admins (403 page), ``services.cycles.load`` shows a cycle to whoever the API shows it to (404
otherwise), and every action is one use case in ``attempt()``: nudge and extend
(``services.interventions``), reassign (``services.reassignment``), cancel and reopen (the
appraisal's events), retry an incident, fire a cycle event. Each answers a plain POST with a
redirect (or the page again with its errors, 422/409), and an htmx POST with a fragment.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from state_machines import APPRAISAL, CYCLE
from workflow_app import problems
from workflow_app.schemas.appraisals import EventIn
from workflow_app.schemas.base import QueryBool, QueryId, QueryInt
from workflow_app.schemas.interventions import CycleEventIn, ExtendIn, ReassignIn
from workflow_app.services import appraisals, cycles, incidents, interventions, reassignment, views
from workflow_app.uow import read_only
from workflow_app.web import charts
from workflow_app.web.common import FormErrors, attempt, form_errors, form_number, is_htmx, load, safe_next
from workflow_app.web.i18n import event_label, predikat_names, state_label
from workflow_app.web.session import current_actor

bp = Blueprint("web_monitoring", __name__)

PER_PAGE = 25
ACTIONS = ("nudge", "extend", "reassign", "cancel", "reopen")


class MonitoringArgs(Schema):
    """The page's filters, read from its query string (other arguments are ignored)."""

    class Meta:
        unknown = EXCLUDE

    cycle = QueryId()
    unit = QueryId()
    state = fields.Str(validate=validate.OneOf(list(APPRAISAL.states)))
    overdue = QueryBool()
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=1_000_000))


def _filters() -> tuple[dict, int, FormErrors | None]:
    """The filters of the query string, its page, and what was wrong with it (then ignored)."""
    args = {k: v for k, v in request.args.items() if v != ""}
    if args.get("overdue") == "on":
        args["overdue"] = "true"
    try:
        data = MonitoringArgs().load(args)
    except ValidationError as exc:
        return {}, 1, form_errors(problems.validation_error(exc.messages))
    page = data.pop("page")
    return data, page, None


def _query_args(filters: dict, **extra) -> dict:
    """The filters as query arguments for links (without empty ones)."""
    out = {k: ("true" if v is True else v) for k, v in filters.items() if v not in (None, False, "")}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


# --- the page ----------------------------------------------------------------------------------

AGEING_NAMES = {
    "0-7": _l("0–7 days"),
    "8-14": _l("8–14 days"),
    "15-30": _l("15–30 days"),
    ">30": _l("over 30 days"),
}
# The per-unit charts show this many units; their tables list every one.
CHART_UNITS = 30


def _bar_class(state: str) -> str:
    if state == "cancelled":
        return "kj-bar-stopped"
    if state == "objection_filed":
        return "kj-bar-objection"
    return "kj-bar-done" if state in APPRAISAL.terminal_states else "kj-bar-open"


def _options(data: dict) -> dict:
    """The choices of the filter forms: cycles, units (the way up, then one level down), states."""
    summary = data["summary"]
    units = [(u["id"], u["name"]) for u in summary["trail"]]
    units += [(u["unit_id"], "— " + u["unit"]) for u in summary["by_unit"] if not u["is_focus"]]
    return {
        "cycle": [(c["id"], f"{c['name']} ({c['year']})") for c in data["cycles"]],
        "unit": units,
        "state": [(s, state_label(s)) for s in APPRAISAL.states],
    }


def _charts(summary: dict) -> dict:
    """The page's three SVG charts, labelled in the reader's language."""
    units = summary["by_unit"][:CHART_UNITS]
    names = predikat_names()
    note = _("The table beside the chart gives the same numbers.")
    return {
        "funnel": charts.bar_chart(
            "chart-states",
            _("Appraisals per state"),
            [(state_label(s), summary["states"][s], _bar_class(s)) for s in APPRAISAL.states],
            desc=note,
        ),
        "ageing": charts.stacked_bar_chart(
            "chart-ageing",
            _("Open appraisals per unit, by days in their current state"),
            [(u["unit"], [u["ageing"][b] for b in summary["ageing_buckets"]]) for u in units],
            [(str(AGEING_NAMES[b]), f"kj-age-{i}") for i, b in enumerate(summary["ageing_buckets"])],
            desc=note,
        ),
        "predikat": charts.stacked_bar_chart(
            "chart-predikat",
            _("Predikat per unit"),
            [(u["unit"], [u["predikat"][p] for p in names]) for u in units],
            [(name, f"kj-pred-{p}") for p, name in names.items()],
            desc=note,
        ),
    }


@bp.route("/monitoring")
@login_required
def index():
    """Counts per state, ageing and predikat per unit, the stuck list with actions, incidents."""
    return _render_index()


def _render_index(errors: FormErrors | None = None, status: int = 200, incident_errors=None):
    actor = current_actor()
    filters, page, filter_errors = _filters()
    with read_only():
        try:
            data = views.monitoring_overview(actor, filters, page, PER_PAGE)
        except problems.Problem as problem:
            if problem.status != 422:
                raise
            filter_errors = form_errors(problem)
            data = views.monitoring_overview(actor, {}, 1, PER_PAGE)
    if filter_errors and status == 200:
        status = 422
    return (
        render_template(
            "web/monitoring/index.html",
            data=data,
            charts=_charts(data["summary"]),
            options=_options(data),
            cycle_machine=CYCLE,
            filters=data["filters"],
            role_names=ROLE_NAMES,
            ageing_names=AGEING_NAMES,
            predikat_names=predikat_names(),
            filter_errors=filter_errors,
            errors=errors,
            incident_errors=incident_errors,
            query_args=_query_args,
            # where the list's forms come back to (not the URL of a refused POST)
            here=request.full_path.rstrip("?") if request.method == "GET" else url_for(".index"),
        ),
        status,
    )


@bp.route("/monitoring/stuck.csv")
@login_required
def stuck_csv():
    """The list shown on the page, with the same filters, as CSV (every page, up to the limit)."""
    actor = current_actor()
    filters, _page, filter_errors = _filters()
    if filter_errors:
        raise problems.validation_error({k: v for k, v in filter_errors.fields.items()})
    with read_only():
        rows = views.attention_export(actor, filters)
    return _csv_response(rows)


ROLE_NAMES = {
    "employee": _l("Employee"),
    "assessor": _l("Assessor"),
    "superior": _l("Assessor's superior"),
    "hr": _l("HR"),
    "system": _l("System"),
}
# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str | int:
    """A value as a CSV cell that no spreadsheet evaluates: text that starts like a formula gets
    a leading apostrophe — and so does text where a formula would start after a semicolon, which
    a spreadsheet set to Indonesian (list separator ";") may split the cell at."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return value
    text = str(value)
    parts = [text] + [p.lstrip() for p in text.split(";")[1:]]
    return "'" + text if any(p.startswith(FORMULA_START) for p in parts) else text


def _csv_response(rows: list[dict]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            _("Appraisal"),
            _("Employee"),
            _("NIP"),
            _("Unit"),
            _("State"),
            _("State code"),
            _("Held by"),
            _("Holder's role"),
            _("Due (UTC)"),
            _("Overdue"),
            _("Escalation level"),
            _("Days in this state"),
            _("Link"),
        ]
    )
    root = request.url_root.rstrip("/")
    for r in rows:
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    r["id"],
                    r["employee"]["name"],
                    r["employee"]["nip"],
                    r["unit"]["name"],
                    state_label(r["state"]),
                    r["state"],
                    r["held_by"]["name"],
                    str(ROLE_NAMES[r["held_by"]["role"]]) if r["held_by"]["role"] else None,
                    r["due_at"].isoformat() + "Z" if r["due_at"] else None,
                    r["overdue"],
                    r["escalation_level"],
                    r["idle_days"],
                    f"{root}/appraisals/{r['id']}",
                )
            ]
        )
    # A byte order mark, so that spreadsheets read the names' accents as UTF-8.
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="kinerja-stuck.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- interventions on one appraisal --------------------------------------------------------------


@bp.route("/monitoring/appraisals/<int:appraisal_id>")
@login_required
def act(appraisal_id):
    """One appraisal with every action HR may take on it."""
    return _render_act(appraisal_id)


def _render_act(appraisal_id, action=None, errors=None, form=None, status=200, message=None, fragment=False):
    with read_only():
        item = views.intervention_view(current_actor(), appraisal_id)
    template = "web/monitoring/_act_panel.html" if fragment else "web/monitoring/act.html"
    return (
        render_template(
            template,
            item=item,
            role_names=ROLE_NAMES,
            action=action,
            errors=errors,
            form=form or {},
            message=message,
            next_url=safe_next(request.values.get("next"), url_for(".act", appraisal_id=appraisal_id)),
        ),
        status,
    )


def _form_dict(names, ints=()) -> dict:
    """The named fields of the posted form, without empty ones; ``ints`` read as numbers."""
    data = {}
    for name in names:
        value = request.form.get(name, "")
        if value.strip() == "":
            continue
        data[name] = form_number(value) if name in ints else value
    return data


SUCCESS = {
    "nudge": _l("The holder was reminded."),
    "extend": _l("The deadline was changed."),
    "reassign": _l("The appraisal was reassigned."),
    "cancel": _l("The appraisal was cancelled."),
    "reopen": _l("The appraisal was reopened."),
}


def _use_case(action: str, appraisal_id: int):
    actor = current_actor()
    if action == "nudge":
        return lambda: interventions.nudge(actor, appraisal_id)
    if action == "extend":

        def extend():
            data = load(ExtendIn(), _form_dict(("version", "due_date", "reason"), ints=("version",)))
            return interventions.extend_deadline(
                actor, appraisal_id, data["version"], data["due_date"], data["reason"]
            )

        return extend
    if action == "reassign":

        def reassign():
            data = load(
                ReassignIn(),
                _form_dict(
                    ("version", "assessor_id", "superior_id", "reason"),
                    ints=("version", "assessor_id", "superior_id"),
                ),
            )
            return reassignment.reassign_one(actor, appraisal_id, data)

        return reassign
    # cancel and reopen: the event's own fields, as the definition names them
    names = ("version", *APPRAISAL.transitions[action].accepted_fields)

    def fire():
        data = load(EventIn(), _form_dict(names, ints=("version",)))
        return appraisals.fire_event(actor, appraisal_id, action, data)

    return fire


@bp.route("/monitoring/appraisals/<int:appraisal_id>/<action>", methods=["POST"])
@login_required
def intervene(appraisal_id, action):
    """Nudge, extend, reassign, cancel or reopen one appraisal (HR in scope)."""
    if action not in ACTIONS:
        raise problems.not_found("action")
    result, errors = attempt(_use_case(action, appraisal_id))
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    in_row = request.form.get("fragment") == "row"
    if errors:
        if is_htmx() and in_row:
            # htmx swaps 2xx answers only: the refusal is the fragment's message.
            return render_template("web/monitoring/_row_status.html", ok=False, errors=errors)
        return _render_act(
            appraisal_id, action, errors, form, status=200 if is_htmx() else errors.status, fragment=is_htmx()
        )
    message = str(SUCCESS[action])
    if is_htmx():
        if in_row:
            return render_template("web/monitoring/_row_status.html", ok=True, message=message)
        return _render_act(appraisal_id, message=message, fragment=True)
    flash(message, "success")
    return redirect(safe_next(request.form.get("next"), url_for(".act", appraisal_id=appraisal_id)))


@bp.route("/monitoring/incidents/<int:incident_id>/retry", methods=["POST"])
@login_required
def retry_incident(incident_id):
    """Put a failed delivery back in the queue."""
    actor = current_actor()
    _result, errors = attempt(lambda: incidents.retry(actor, incident_id))
    if errors:
        if is_htmx():
            return render_template("web/monitoring/_row_status.html", ok=False, errors=errors)
        return _render_index(incident_errors=errors, status=errors.status)
    message = _("The delivery was queued again.")
    if is_htmx():
        return render_template("web/monitoring/_row_status.html", ok=True, message=message)
    flash(message, "success")
    return redirect(safe_next(request.form.get("next"), url_for(".index")))


# --- the cycle page ------------------------------------------------------------------------------


@bp.route("/cycles/<int:cycle_id>")
@login_required
def cycle(cycle_id):
    """A cycle: phases, state, history, and the events HR may fire."""
    return _render_cycle(cycle_id)


def _render_cycle(cycle_id, event=None, errors=None, form=None, status=200):
    with read_only():
        data = views.cycle_page(current_actor(), cycle_id)
    return (
        render_template(
            "web/monitoring/cycle.html",
            cycle=data,
            cycle_machine=CYCLE,
            event=event,
            errors=errors,
            form=form or {},
        ),
        status,
    )


@bp.route("/cycles/<int:cycle_id>/events/<event>", methods=["POST"])
@login_required
def cycle_event(cycle_id, event):
    """Fire a cycle event (launch, open mid-year, open scoring, close) at the cycle's version."""
    actor = current_actor()

    def fire():
        data = _form_dict(("version", "comment", "reason"), ints=("version",))
        if request.form.get("force") in ("true", "on", "1"):
            data["force"] = True
        data = load(CycleEventIn(), data)
        return cycles.fire_cycle_event(actor, cycle_id, event, data)

    _result, errors = attempt(fire)
    if errors:
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        return _render_cycle(cycle_id, event, errors, form, status=errors.status)
    flash(_("Done: %(event)s.", event=event_label(event, CYCLE)), "success")
    return redirect(url_for(".cycle", cycle_id=cycle_id))
