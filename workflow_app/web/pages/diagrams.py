"""The workflows as diagrams (``/state-machines``): SVG drawn on the server from the definitions.

The same definitions drive the API, the buttons of every page and these diagrams; a table of
transitions beside each diagram is its accessible form.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_login import login_required

from state_machines import APPRAISAL, CYCLE
from workflow_app.web import charts
from workflow_app.web.i18n import event_label, state_label

bp = Blueprint("web_diagrams", __name__)


def _diagram(definition, chart_id: str, title: str) -> dict:
    svg = charts.workflow_diagram(
        definition,
        chart_id,
        title,
        lambda s: state_label(s, definition),
        lambda e: event_label(e, definition),
        any_open_text=_("Any open state"),
        desc=_("States as boxes, events as arrows; the table below lists every transition."),
    )
    open_states = set(definition.open_states)
    transitions = [
        {
            "event": t.event,
            "sources": ["*"] if len(t.source) > 2 and set(t.source) == open_states else list(t.source),
            "dest": t.dest,
            "reflexive": t.reflexive,
            "roles": list(t.roles),
            "required": list(t.required),
        }
        for t in definition.transitions.values()
    ]
    return {
        "id": chart_id,
        "title": title,
        "svg": svg,
        "definition": definition,
        "transitions": transitions,
        "version": definition.version,
    }


@bp.route("/state-machines")
@login_required
def index():
    """Both workflows, as diagrams and as tables of transitions."""
    diagrams = [
        _diagram(APPRAISAL, "diagram-appraisal", _("The appraisal")),
        _diagram(CYCLE, "diagram-cycle", _("The appraisal cycle")),
    ]
    return render_template("web/diagrams/index.html", diagrams=diagrams)
