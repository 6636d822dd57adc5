"""Languages of the UI: Bahasa Indonesia by default, English on request.

Every string of a page goes through the message catalogues (``workflow_app/translations``,
``make translations``). Messages from services (``workflow_app.i18n.Message``) and marshmallow's
validation messages are translated here, with their parameters kept.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask import Flask, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale, gettext, pgettext
from flask_login import current_user
from markupsafe import Markup

from state_machines import APPRAISAL
from workflow_app.clock import ZONE_OFFSETS
from workflow_app.i18n import DEFAULT_LOCALE, LOCALES, N_, Message
from workflow_app.scoring import PREDIKAT_LABELS, PREDIKATS

babel = Babel()

# marshmallow's own messages (formatted by the time they reach us): their templates, so that
# the catalogue's translation can be filled with the same values.
_MARSHMALLOW = [
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Unknown field."),
    N_("Not a valid string."),
    N_("Not a valid integer."),
    N_("Not a valid date."),
    N_("Not a valid URL."),
    N_("Not a valid boolean."),
    N_("Not a valid list."),
    N_("Invalid input type."),
    N_("Length must be between {min} and {max}."),
    N_("Shorter than minimum length {min}."),
    N_("Longer than maximum length {max}."),
    N_("Length must be {equal}."),
    N_("Must be one of: {choices}."),
    N_("Must be greater than or equal to {min} and less than or equal to {max}."),
    N_("Must be greater than or equal to {min}."),
    N_("Must be less than or equal to {max}."),
]


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(regex + r"\Z")


_BETWEEN = "Length must be between {min} and {max}."
_REQUIRED_UP_TO = N_("Required, at most {max} characters.")
_PATTERNS = [(t.template, _pattern(t.template)) for t in _MARSHMALLOW]


def localize(message) -> str:
    """``message`` in the page's language (a service Message, a marshmallow message or text)."""
    if isinstance(message, Message):
        return _fill(message.template, message.params)
    text = str(message)
    for template, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            values = match.groupdict()
            if template == _BETWEEN and values.get("min") == "1":  # an empty required text field
                return _fill(_REQUIRED_UP_TO.template, {"max": values["max"]})
            return _fill(template, values)
    return gettext(text) if text else text


def _fill(template: str, params: dict) -> str:
    """The translation of a ``{name}`` template, filled in (the English text if untranslated).

    A ``state`` or ``event`` value that names one of the appraisal's is shown as its label."""
    translated = gettext(template)
    if not params:
        return translated
    params = dict(params)
    if params.get("state") in APPRAISAL.states:
        params["state"] = state_label(params["state"])
    if params.get("event") in APPRAISAL.transitions:
        params["event"] = event_label(params["event"])
    try:
        return translated.format(**params)
    except (KeyError, IndexError, ValueError):  # a broken translation: the English still reads
        return template.format(**params)


def label(definition_label: dict, workflow: str = "appraisal") -> str:
    """A state's or event's label from a definition: its English text through the catalogue, in
    the workflow's context (a closed appraisal and a closed cycle read differently)."""
    english = definition_label["en"]
    return pgettext(workflow, english)


def predikat_label(code: str | None) -> str:
    """A predikat's name (``scoring.PREDIKAT_LABELS``, extracted in the context "scoring")."""
    return label(PREDIKAT_LABELS[code], "scoring") if code in PREDIKAT_LABELS else "—"


def predikat_names() -> dict[str, str]:
    """Every predikat, best first, with its name in the reader's language."""
    return {code: predikat_label(code) for code in PREDIKATS}


def state_label(state: str, workflow=APPRAISAL) -> str:
    return label(workflow.states[state].label, workflow.name)


def event_label(event: str, workflow=APPRAISAL) -> str:
    return label(workflow.transitions[event].label, workflow.name)


def select_locale() -> str:
    """This browser's explicit choice, else the account's preference, else the browser's languages."""
    chosen = session.get("lang")
    if chosen in LOCALES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.user.locale in LOCALES:
        return current_user.user.locale
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def _local(value: datetime, zone: str | None) -> datetime:
    return value + timedelta(hours=ZONE_OFFSETS.get(zone or "WIB", 7))


# Day, month and time to the minute (seconds are noise on a deadline): "15 Des 2026 23.59" in
# Indonesian (the time with a dot, as written there), "15 Dec 2026 23:59" in English.
WHEN_FORMATS = {"id": "d MMM y HH.mm", "en": "d MMM y HH:mm"}


def when(value: datetime | None, zone: str | None = None, fmt: str | None = None) -> str:
    """A stored (naive UTC) time, shown in the unit's zone (WIB by default) with the zone's name."""
    if value is None:
        return "—"
    fmt = fmt or WHEN_FORMATS.get(str(get_locale()), WHEN_FORMATS["en"])
    return f"{format_datetime(_local(value, zone), fmt, rebase=False)} {zone or 'WIB'}"


def day(value: date | datetime | None, zone: str | None = None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = _local(value, zone).date()
    return format_date(value, fmt)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    app.jinja_env.globals.update(
        localize=localize,
        state_label=state_label,
        predikat_label=predikat_label,
        event_label=event_label,
        label=label,
        when=when,
        day=day,
        current_locale=lambda: str(get_locale() or DEFAULT_LOCALE),
        LOCALES=LOCALES,
        Markup=Markup,
    )
