"""Flask-WTF forms of the pages that are not state-machine events (sign-in, profile).

Event, plan and progress forms are checked by the shared marshmallow input schemas instead
(``workflow_app.schemas``), so the API and the UI accept exactly the same input.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from workflow_app.i18n import LOCALES

LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LOCALES])
    next = HiddenField()


class PreferencesForm(FlaskForm):
    locale = SelectField(
        _l("Language"), choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LOCALES]
    )
    email_digest = RadioField(
        _l("Email"),
        choices=[
            SelectChoice("immediate", _l("Send each email at once")),
            SelectChoice("daily", _l("One daily digest (urgent items still at once)")),
        ],
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )
