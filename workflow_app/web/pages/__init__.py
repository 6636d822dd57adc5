"""The page blueprints (each named ``web_*``: errors, headers and CSRF key on that prefix)."""

from __future__ import annotations

from flask import g
from flask_login import current_user

from workflow_app.notifications import inbox as notification_inbox
from workflow_app.web.forms import LanguageForm
from workflow_app.web.pages import appraisal, auth, diagrams, home, monitoring, profile

BLUEPRINTS = [
    auth.bp,
    home.bp,
    appraisal.bp,
    monitoring.bp,
    diagrams.bp,
    profile.bp,
]


def chrome() -> dict:
    """What the layout of every page shows: the navigation, the bell, the language switch."""
    if "chrome" not in g:
        chrome = {"language_form": LanguageForm(formdata=None), "unread": 0, "nav": []}
        if current_user.is_authenticated:
            chrome["unread"] = notification_inbox.unread_count(current_user.actor)
        g.chrome = chrome
    return g.chrome
