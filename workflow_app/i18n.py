"""Translatable messages: the English text the API answers with, and what a page translates.

A service or guard that speaks to a person writes ``N_("… {name} …", name=value)``. The result
*is* the English string (so the API's problem+json and the logs are unchanged), and it keeps
its template and parameters, so the web UI can translate the template through the message
catalogues and fill in the same parameters. ``pybabel extract`` finds every ``N_`` call
(``babel.cfg``); the catalogues live in ``workflow_app/translations``.
"""

from __future__ import annotations

LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"


class Message(str):
    """An English message that remembers its template and parameters."""

    template: str
    params: dict

    def __new__(cls, template: str, **params) -> Message:
        text = template.format(**params) if params else template
        self = super().__new__(cls, text)
        self.template = template
        self.params = params
        return self


def N_(template: str, **params) -> Message:  # noqa: N802 - the gettext convention for a marker
    """Mark ``template`` for translation; the value is its English text with ``params`` filled in."""
    return Message(template, **params)
