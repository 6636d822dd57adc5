"""Sign in, sign out and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from workflow_app import problems
from workflow_app.notifications import inbox as notification_inbox
from workflow_app.ratelimit import login_throttled
from workflow_app.services import auth
from workflow_app.uow import unit_of_work
from workflow_app.web.common import safe_next
from workflow_app.web.forms import LanguageForm, LoginForm
from workflow_app.web.i18n import localize
from workflow_app.web.session import SessionUser

bp = Blueprint("web_auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@login_throttled
def login():
    """The sign-in form; a wrong password answers 401 (counted by the API's login throttle)."""
    form = LoginForm()
    target = safe_next(request.values.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(target)
    error = None
    if form.validate_on_submit():
        try:
            with unit_of_work():
                user = auth.check_credentials(form.username.data, form.password.data)
                key = auth.open_session(user)
        except problems.Problem as problem:
            if problem.status != 401:
                raise
            error = localize(problem.detail)
        else:
            lang = session.get("lang")
            session.clear()  # nothing of an earlier visitor's session carries over…
            if lang:
                session["lang"] = lang  # …but the language just chosen on this page
            session.permanent = True
            login_user(SessionUser(user, key))
            return redirect(target)
    status = 401 if error else (422 if form.errors else 200)
    form.next.data = target
    return render_template("web/login.html", form=form, error=error), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """GET asks (a link cannot sign anyone out); POST, with its CSRF token, signs out."""
    if request.method == "POST":
        if current_user.is_authenticated:
            with unit_of_work():
                auth.close_session(current_user.key)
        logout_user()
        session.clear()
        return redirect(url_for("web_auth.login"))
    if not current_user.is_authenticated:
        return redirect(url_for("web_auth.login"))
    return render_template("web/logout.html")


@bp.route("/language", methods=["POST"])
def language():
    """Switch the language: for this browser, and in the account's preferences when signed in."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            with unit_of_work():
                notification_inbox.set_preferences(current_user.actor, {"locale": form.lang.data})
    return redirect(safe_next(form.next.data or request.referrer and _path_of(request.referrer)))


def _path_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
