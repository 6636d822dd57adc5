"""The appraisal page: where an appraisal is, who holds it, what comes next, and its forms.

``/appraisals/<id>`` shows the read model (``services.views.appraisal_overview``) with one form per
event the viewer may fire (``allowed_events``), each carrying exactly the fields the definition
names for that event. The plan editor (``/plan``) and progress entry (``/progress``) post the same
shared schemas as the API. Every POST runs one use case in ``attempt()``: success redirects back
to the page (PRG); a refusal re-renders it with the message at the top and by the field, and the
status of the refusal (409/422), nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from state_machines import APPRAISAL
from workflow_app import problems
from workflow_app.models import ASPECTS, BERAKHLAK, PLAN_ITEM_KINDS, RATINGS
from workflow_app.schemas.appraisals import EventIn, PlanIn, ProgressIn, TrainingUpdateIn
from workflow_app.scoring import scheme
from workflow_app.services import appraisals, views
from workflow_app.uow import read_only
from workflow_app.web.common import FormErrors, attempt, form_number, is_htmx, load
from workflow_app.web.i18n import event_label, predikat_label
from workflow_app.web.session import current_actor

bp = Blueprint("web_appraisal", __name__)

# --- labels of the domain's codes (presentation only; the codes come from the models) -----------

RATING_LABELS = {
    "di_bawah": _l("Below expectation"),
    "sesuai": _l("Meets expectation"),
    "di_atas": _l("Above expectation"),
}
# The matrix's column and row headings (its caption says "expectation").
RATING_SHORT = {"di_bawah": _l("Below"), "sesuai": _l("Meets"), "di_atas": _l("Above")}
KIND_LABELS = {"utama": _l("Main (utama)"), "tambahan": _l("Additional (tambahan)")}
ASPECT_LABELS = {
    "kuantitas": _l("Quantity"),
    "kualitas": _l("Quality"),
    "waktu": _l("Time"),
    "biaya": _l("Cost"),
}
BERAKHLAK_LABELS = {
    "berorientasi_pelayanan": _l("Service-oriented (Berorientasi Pelayanan)"),
    "akuntabel": _l("Accountable (Akuntabel)"),
    "kompeten": _l("Competent (Kompeten)"),
    "harmonis": _l("Harmonious (Harmonis)"),
    "loyal": _l("Loyal (Loyal)"),
    "adaptif": _l("Adaptive (Adaptif)"),
    "kolaboratif": _l("Collaborative (Kolaboratif)"),
}
ROLE_LABELS = {
    "employee": _l("Employee"),
    "assessor": _l("Assessor"),
    "superior": _l("Assessor's superior"),
    "hr": _l("HR (performance management)"),
    "system": _l("System (scheduled)"),
    "admin": _l("Administrator"),
}
DECISION_LABELS = {
    "upheld": _l("Upheld: the result stands"),
    "amended": _l("Amended: new ratings"),
}
TRAINING_STATUS_LABELS = {
    "assigned": _l("Assigned"),
    "completed": _l("Completed"),
    "recorded": _l("Recorded by HR"),
}
# Steps of the log that are not events of the definition.
EDIT_LABELS = {
    "plan_updated": _l("Plan updated"),
    "progress_recorded": _l("Progress recorded"),
    "training_updated": _l("Training updated"),
    "reassign": _l("Reassigned"),
    "delegate": _l("Delegated to an acting official"),
    "end_delegation": _l("Delegation ended"),
}
# Text fields of events, by size: the long ones get a larger text area.
LONG_FIELDS = frozenset({"feedback", "reasoning"})
FIELD_LABELS = {
    "comment": _l("Comment"),
    "reason": _l("Reason"),
    "feedback": _l("Feedback"),
    "reasoning": _l("Reasoning"),
    "justification": _l("Justification"),
    "decision": _l("Decision"),
    "rating_hasil_kerja": _l("Rating of work results (hasil kerja)"),
    "rating_perilaku": _l("Rating of work behaviour (perilaku kerja)"),
    "due_date": _l("New due date"),
    "trainings": _l("Trainings"),
}
TRAINING_FIELDS = ("competency", "hours_jp", "due_date")
PLAN_TEXT_FIELDS = ("leader_rhk", "rhk", "indicator", "target_value", "target_unit")
PLAN_FIELDS = ("kind", "aspect", *PLAN_TEXT_FIELDS)
MIN_TRAINING_ROWS = 3
MAX_ROWS = 100  # rows read from one form; the schemas refuse more than they allow

ROW = re.compile(r"(?P<group>[a-z_]+)-(?P<index>[0-9]{1,4})-(?P<field>[a-z_]+)")
ACTION = re.compile(r"(?P<verb>remove|up|down)-(?P<index>[0-9]{1,4})")


def role_label(role: str | None) -> str:
    return str(ROLE_LABELS.get(role, role or "—"))


def step_label(event: str) -> str:
    if event in APPRAISAL.transitions:
        return event_label(event)
    return str(EDIT_LABELS.get(event, event.replace("_", " ").capitalize()))


@bp.app_context_processor
def _labels() -> dict:
    return {
        "predikat_label": predikat_label,
        "role_label": role_label,
        "step_label": step_label,
        "RATING_LABELS": RATING_LABELS,
        "RATING_SHORT": RATING_SHORT,
        "KIND_LABELS": KIND_LABELS,
        "ASPECT_LABELS": ASPECT_LABELS,
        "BERAKHLAK_LABELS": BERAKHLAK_LABELS,
        "DECISION_LABELS": DECISION_LABELS,
        "TRAINING_STATUS_LABELS": TRAINING_STATUS_LABELS,
        "FIELD_LABELS": FIELD_LABELS,
    }


# --- reading forms ----------------------------------------------------------------------------


def _text(form, name: str) -> str:
    return (form.get(name) or "").strip()


def form_rows(form, group: str, fields: Iterable[str]) -> list[dict[str, str]]:
    """Rows ``<group>-<i>-<field>`` of a form, in the order of their index (missing fields "")."""
    fields = tuple(fields)
    indexed: dict[int, dict[str, str]] = {}
    for key in form.keys():
        match = ROW.fullmatch(key)
        if match and match["group"] == group and match["field"] in fields:
            index = int(match["index"])
            if index in indexed or len(indexed) < MAX_ROWS:
                indexed.setdefault(index, {})[match["field"]] = form.get(key, "")
    return [{f: indexed[i].get(f, "") for f in fields} for i in sorted(indexed)]


def _blank(row: dict[str, str], fields: Iterable[str]) -> bool:
    return not any((row.get(f) or "").strip() for f in fields)


def parse_event(event: str, form) -> tuple[dict, dict]:
    """The event's form as the API's JSON body (``EventIn``), and the values to show again.

    Only the fields the definition names for the event are read; an empty field is left out
    (a required one is then refused by the service, by name). Blank training rows are dropped.
    """
    transition = APPRAISAL.transitions[event]
    data: dict = {"version": form_number(form.get("version", ""))}
    shown: dict = {}
    for name in transition.accepted_fields:
        if name == "trainings":
            rows = [
                r for r in form_rows(form, "trainings", TRAINING_FIELDS) if not _blank(r, TRAINING_FIELDS)
            ]
            shown["trainings"] = rows
            if rows:
                data["trainings"] = [
                    {
                        key: (form_number(value) if key == "hours_jp" else value.strip())
                        for key, value in row.items()
                        if value.strip()
                    }
                    for row in rows
                ]
            continue
        value = _text(form, name)
        shown[name] = value
        if value:
            data[name] = value
    return data, shown


def scoped(errors: FormErrors | None, prefix: str, inputs: Iterable[str]) -> FormErrors | None:
    """Errors of one form among several on a page: fields the form has are renamed
    ``<prefix>-<name>`` (their ids are ``f-<prefix>-<name>``); the others join the summary."""
    if errors is None:
        return None
    inputs = set(inputs)
    summary = list(errors.summary)
    fields: dict[str, list[str]] = {}
    for name, messages in errors.fields.items():
        if name.split("-", 1)[0] in inputs:
            fields[f"{prefix}-{name}"] = messages
            summary = [m for m in summary if m not in messages]
        else:
            summary += [m for m in messages if m not in summary]
    if not summary:
        summary = [gettext("Correct the fields marked below.")]
    return FormErrors(errors.status, summary, fields)


# --- the page ---------------------------------------------------------------------------------


def _matrix(scheme_name: str) -> list[dict]:
    """The predikat of every pair of ratings, by the appraisal's own scoring scheme."""
    rules = scheme(scheme_name)
    return [
        {"hasil_kerja": hk, "cells": [{"perilaku": p, "predikat": rules.predikat(hk, p)} for p in RATINGS]}
        for hk in RATINGS
    ]


def _preview(scheme_name: str, values: dict) -> str | None:
    """The predikat of ratings chosen in a form shown again (None until both are valid)."""
    hasil_kerja, perilaku = values.get("rating_hasil_kerja"), values.get("rating_perilaku")
    if hasil_kerja in RATINGS and perilaku in RATINGS:
        return scheme(scheme_name).predikat(hasil_kerja, perilaku)
    return None


def _training_rows(rows: list[dict] | None) -> list[dict]:
    rows = list(rows or [])
    blanks = max(MIN_TRAINING_ROWS - len(rows), 1)
    return rows + [dict.fromkeys(TRAINING_FIELDS, "") for _ in range(blanks)]


def render_page(appraisal_id: int, *, form: str | None = None, values=None, errors=None, status=200):
    """The appraisal page; after a refused POST, ``form`` names the form shown with ``values``
    and ``errors`` (already scoped to that form)."""
    actor = current_actor()
    with read_only():
        a = views.appraisal_overview(actor, appraisal_id, with_history=True)
        history = a["history"]
        forms = []
        order = list(APPRAISAL.states)
        for event in a["allowed_events"]:
            transition = APPRAISAL.transitions[event]
            target = transition.target(a["state"])
            mine = form == f"event-{event}"
            shown = values if mine and values is not None else {}
            forms.append(
                {
                    "event": event,
                    "label": event_label(event),
                    # A step back in the definition's order of states (return, revise, reopen)
                    # or out of it (cancel) is shown after, and quieter than, the steps forward.
                    "back": target == "cancelled" or order.index(target) < order.index(a["state"]),
                    # required fields first, the optional comment last
                    "fields": sorted(
                        transition.accepted_fields,
                        key=lambda f: (f == "comment", f not in transition.required),
                    ),
                    "required": set(transition.required),
                    "values": shown,
                    "trainings": _training_rows(shown.get("trainings")),
                    "errors": errors if mine else None,
                    "preview": _preview(a["scoring_scheme"], shown),
                }
            )
        forms.sort(key=lambda f: f["back"])  # stable: the definition's order within each group
        training_errors = errors if form and form.startswith("training-") else None
        body = render_template(
            "web/appraisal/detail.html",
            a=a,
            history=history,
            forms=forms,
            matrix=_matrix(a["scoring_scheme"]),
            ratings=RATINGS,
            training_form=form,
            training_values=values if training_errors else {},
            training_errors=training_errors,
            page_errors=errors,
        )
    return make_response(body, status)


@bp.route("/appraisals/<int:appraisal_id>")
@login_required
def detail(appraisal_id: int):
    return render_page(appraisal_id)


@bp.route("/appraisals/<int:appraisal_id>/events/<string:event>", methods=["POST"])
@login_required
def fire(appraisal_id: int, event: str):
    """Fire one event with the form's fields; the service authorises and checks everything."""
    if event not in APPRAISAL.transitions:
        raise problems.unknown_event(event)
    actor = current_actor()
    data, shown = parse_event(event, request.form)
    _, errors = attempt(lambda: appraisals.fire_event(actor, appraisal_id, event, load(EventIn(), data)))
    if errors:
        inputs = APPRAISAL.transitions[event].accepted_fields
        return render_page(
            appraisal_id,
            form=f"event-{event}",
            values=shown,
            errors=scoped(errors, event, inputs),
            status=errors.status,
        )
    flash(gettext("Done: %(event)s.", event=event_label(event)))
    return redirect(url_for(".detail", appraisal_id=appraisal_id), 303)


@bp.route("/appraisals/<int:appraisal_id>/trainings/<int:training_id>", methods=["POST"])
@login_required
def training(appraisal_id: int, training_id: int):
    """The employee marks a training completed, or HR records it (``update_training``)."""
    actor = current_actor()
    data = {"version": form_number(request.form.get("version", "")), "status": _text(request.form, "status")}
    evidence = _text(request.form, "evidence")
    if evidence:
        data["evidence"] = evidence
    _, errors = attempt(
        lambda: appraisals.update_training(actor, appraisal_id, training_id, load(TrainingUpdateIn(), data))
    )
    if errors:
        return render_page(
            appraisal_id,
            form=f"training-{training_id}",
            values={"evidence": evidence, "status": data["status"]},
            errors=scoped(errors, f"training-{training_id}", ("evidence", "status")),
            status=errors.status,
        )
    flash(gettext("The training was updated."))
    return redirect(url_for(".detail", appraisal_id=appraisal_id, _anchor="trainings"), 303)


@bp.route("/appraisals/<int:appraisal_id>/predikat")
@login_required
def predikat(appraisal_id: int):
    """The predikat the appraisal's scoring scheme gives two ratings: a fragment for htmx."""
    actor = current_actor()
    with read_only():
        scheme_name = appraisals.load(actor, appraisal_id).scoring_scheme  # 404 if not visible
    hasil_kerja = request.args.get("rating_hasil_kerja", "")
    perilaku = request.args.get("rating_perilaku", "")
    invalid = any(value and value not in RATINGS for value in (hasil_kerja, perilaku))
    code = None
    if not invalid and hasil_kerja and perilaku:
        code = scheme(scheme_name).predikat(hasil_kerja, perilaku)
    body = render_template("web/appraisal/_predikat.html", code=code, invalid=invalid)
    return make_response(body, 422 if invalid else 200)


# --- the plan (SKP) editor --------------------------------------------------------------------


def _plan_rows_of(a: dict) -> list[dict]:
    return [{f: getattr(item, f) or "" for f in PLAN_FIELDS} for item in a["plan_items"]]


def _plan_body(rows: list[dict], behaviours: dict, version) -> dict:
    items = []
    for row in rows:
        item = {f: (row.get(f) or "").strip() or None for f in PLAN_TEXT_FIELDS}
        item["rhk"] = item["rhk"] or ""  # required: an empty one is refused by name
        for f in ("kind", "aspect"):
            if (row.get(f) or "").strip():
                item[f] = row[f].strip()
        items.append(item)
    return {
        "version": version,
        "items": items,
        "behaviours": {k: v.strip() for k, v in behaviours.items() if (v or "").strip()},
    }


def _rearrange(rows: list[dict], action: str) -> list[dict]:
    """Add, remove or move a row (the plan form's buttons); nothing is saved."""
    rows = list(rows)
    if action == "add":
        rows.append({f: "" for f in PLAN_FIELDS} | {"kind": "utama", "aspect": "kuantitas"})
        return rows
    match = ACTION.fullmatch(action)
    if not match:
        return rows
    i = int(match["index"])
    if not 0 <= i < len(rows):
        return rows
    if match["verb"] == "remove":
        del rows[i]
    elif match["verb"] == "up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif match["verb"] == "down" and i < len(rows) - 1:
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    return rows


def render_plan(
    appraisal_id: int, *, rows=None, behaviours=None, version=None, errors=None, status=200, notice=None
):
    actor = current_actor()
    with read_only():
        a = views.appraisal_overview(actor, appraisal_id)
        if rows is None:
            rows = _plan_rows_of(a)
            behaviours = dict(a["behaviours"])
            version = a["version"]
            if not rows:
                rows = _rearrange([], "add")
        context = dict(
            a=a,
            rows=rows,
            behaviours=behaviours or {},
            version=version,
            errors=errors,
            notice=notice,
            kinds=PLAN_ITEM_KINDS,
            aspects=ASPECTS,
            values=BERAKHLAK,
        )
        template = "web/appraisal/_plan_form.html" if is_htmx() else "web/appraisal/plan.html"
        body = render_template(template, **context)
    return make_response(body, status)


@bp.route("/appraisals/<int:appraisal_id>/plan", methods=["GET", "POST"])
@login_required
def plan(appraisal_id: int):
    """Edit the SKP: RHK items (add, edit, reorder, remove) and the 7 BerAKHLAK expectations.

    "Add item", "remove", "up" and "down" re-show the form changed (nothing saved); "save"
    replaces the plan through ``update_plan`` with the shared ``PlanIn`` schema.
    """
    if request.method == "GET":
        return render_plan(appraisal_id)
    form = request.form
    rows = form_rows(form, "items", PLAN_FIELDS)
    behaviours = {v: form.get(f"behaviours-{v}", "") for v in BERAKHLAK}
    version = form_number(form.get("version", ""))
    action = form.get("action") or "save"
    if action != "save":
        notice = gettext("Not saved yet: press “Save plan” to keep your changes.")
        return render_plan(
            appraisal_id, rows=_rearrange(rows, action), behaviours=behaviours, version=version, notice=notice
        )
    rows = [r for r in rows if not _blank(r, PLAN_TEXT_FIELDS)]
    actor = current_actor()
    body = _plan_body(rows, behaviours, version)
    _, errors = attempt(lambda: appraisals.update_plan(actor, appraisal_id, load(PlanIn(), body)))
    if errors:
        return render_plan(
            appraisal_id,
            rows=rows,
            behaviours=behaviours,
            version=version,
            errors=errors,
            status=errors.status,
        )
    flash(gettext("The plan was saved."))
    target = url_for(".detail", appraisal_id=appraisal_id, _anchor="plan")
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


# --- progress and evidence --------------------------------------------------------------------


def _evidence_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _progress_errors(errors: FormErrors, sent: list[int]) -> FormErrors:
    """Errors of the items sent (``items-<k>-…``) put back on the rows of the form they came from;
    a bad evidence link (``items-<k>-evidence-<j>``) is shown by its text area, with its line."""
    fields: dict[str, list[str]] = {}
    for name, messages in errors.fields.items():
        match = re.fullmatch(r"items-([0-9]+)-([a-z_]+)(?:-([0-9]+))?", name)
        if match and int(match[1]) < len(sent):
            row = sent[int(match[1])]
            if match[3] is not None:
                line = int(match[3]) + 1
                messages = [gettext("Link %(n)s: %(message)s", n=line, message=m) for m in messages]
            field = "realisation" if match[2] == "item_id" else match[2]  # the id is a hidden field
            fields.setdefault(f"items-{row}-{field}", []).extend(messages)
        else:
            fields.setdefault(name, []).extend(messages)
    return FormErrors(errors.status, errors.summary, fields)


def render_progress(appraisal_id: int, *, rows=None, version=None, errors=None, status=200):
    actor = current_actor()
    with read_only():
        a = views.appraisal_overview(actor, appraisal_id)
        column = a["progress_column"] or appraisals.PROGRESS_COLUMNS.get(a["state"])
        if rows is None:
            version = a["version"]
            rows = [
                {
                    "item_id": str(item.id),
                    "realisation": (getattr(item, column) if column else None) or "",
                    "evidence": "\n".join(item.evidence or []),
                }
                for item in a["plan_items"]
            ]
        items = {item.id: item for item in a["plan_items"]}
        for row in rows:
            row["item"] = items.get(form_number(row.get("item_id", "")))
        body = render_template(
            "web/appraisal/progress.html", a=a, rows=rows, version=version, errors=errors, column=column
        )
    return make_response(body, status)


@bp.route("/appraisals/<int:appraisal_id>/progress", methods=["GET", "POST"])
@login_required
def progress(appraisal_id: int):
    """Record realisation and evidence links per plan item (``record_progress``, ``ProgressIn``)."""
    if request.method == "GET":
        return render_progress(appraisal_id)
    form = request.form
    rows = form_rows(form, "items", ("item_id", "realisation", "evidence"))
    version = form_number(form.get("version", ""))
    items, sent = [], []
    for index, row in enumerate(rows):
        if _blank(row, ("realisation", "evidence")):
            continue
        sent.append(index)
        items.append(
            {
                "item_id": form_number(row["item_id"]),
                "realisation": row["realisation"].strip(),
                "evidence": _evidence_lines(row["evidence"]),
            }
        )
    actor = current_actor()
    body = {"version": version, "items": items}
    _, errors = attempt(lambda: appraisals.record_progress(actor, appraisal_id, load(ProgressIn(), body)))
    if errors:
        return render_progress(
            appraisal_id,
            rows=rows,
            version=version,
            errors=_progress_errors(errors, sent),
            status=errors.status,
        )
    flash(gettext("Progress was saved."))
    return redirect(url_for(".detail", appraisal_id=appraisal_id, _anchor="progress"), 303)
