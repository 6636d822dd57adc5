"""My profile (``/profile``): language and email preferences, password change.

Every email's footer sends people here. A password change ends the person's other browser
sessions and every API token (``services.auth.change_password`` draws a new session nonce);
this browser is signed in again with the new session key, so only the others end.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext
from flask_login import login_required, login_user

from workflow_app import ratelimit
from workflow_app.notifications import inbox as notification_inbox
from workflow_app.services import auth
from workflow_app.uow import read_only
from workflow_app.web.common import FormErrors, attempt
from workflow_app.web.forms import PasswordForm, PreferencesForm
from workflow_app.web.session import SessionUser, current_account, current_actor

bp = Blueprint("web_profile", __name__)


def _wtf_errors(form) -> FormErrors | None:
    """A refused WTForms form as the page's form errors (CSRF is checked before any view)."""
    fields = {
        name: [str(m) for m in messages] for name, messages in form.errors.items() if name != "csrf_token"
    }
    if not fields:
        return None
    return FormErrors(422, [gettext("Correct the fields marked below.")], fields)


def _page(
    preferences_form=None, password_form=None, preferences_errors=None, password_errors=None, status=200
):
    actor = current_actor()
    with read_only():
        prefs = notification_inbox.preferences(actor)
    if preferences_form is None:
        preferences_form = PreferencesForm(formdata=None, data=prefs)
    if password_form is None:
        password_form = PasswordForm(formdata=None)
    user = current_account()
    body = render_template(
        "web/profile/profile.html",
        account=user,
        employee=user.employee,
        roles=sorted({(r.role, r.unit.name) for r in user.roles}),
        preferences_form=preferences_form,
        password_form=password_form,
        preferences_errors=preferences_errors,
        password_errors=password_errors,
    )
    return body, status


@bp.route("/profile")
@login_required
def profile():
    return _page()


@bp.route("/profile/preferences")
@bp.route("/profile/password")
def form_address():
    """Where a refused form was shown (e.g. after switching language there): the profile."""
    return redirect(url_for("web_profile.profile"))


@bp.route("/profile/preferences", methods=["POST"])
@login_required
def preferences():
    """Language and email: each email at once, or one daily digest (urgent ones still at once)."""
    form = PreferencesForm()
    if not form.validate():
        return _page(preferences_form=form, preferences_errors=_wtf_errors(form), status=422)
    data = {"locale": form.locale.data, "email_digest": form.email_digest.data}
    _, errors = attempt(lambda: notification_inbox.set_preferences(current_actor(), data))
    if errors:
        return _page(preferences_form=form, preferences_errors=errors, status=errors.status)
    session["lang"] = data["locale"]
    flash(gettext("Your preferences are saved."))
    return redirect(url_for("web_profile.profile"))


@bp.route("/profile/password", methods=["POST"])
@login_required
def password():
    """Change my password: my other sessions and all my API tokens end; this browser stays in."""
    form = PasswordForm()
    user = current_account()
    if not ratelimit.password_change_allowed(user.username):
        raise ratelimit.too_many_passwords()
    if not form.validate():
        return _page(password_form=form, password_errors=_wtf_errors(form), status=422)

    def change() -> str:
        auth.change_password(user, form.current_password.data, form.new_password.data)
        return auth.open_session(user)

    key, errors = attempt(change)
    if errors:
        if errors.of("current_password"):
            ratelimit.note_password_failure(user.username)
        return _page(password_form=form, password_errors=errors, status=errors.status)
    login_user(SessionUser(user, key))  # this browser gets a new session; every other one ended
    flash(
        gettext(
            "Your password is changed. You were signed out everywhere else, and your API tokens were revoked."
        )
    )
    return redirect(url_for("web_profile.profile"))
