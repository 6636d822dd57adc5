"""Browser sessions (Flask-Login): a signed cookie carrying the key of a server-side session.

The key is ``"<session id>:<secret>"`` (``services.auth.open_session``). Signing out revokes that
session; a password change, a reset by an admin or a deactivation revokes all of the user's.
"""

from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from workflow_app.models import User
from workflow_app.services import auth
from workflow_app.services.access import Actor

login_manager = LoginManager()


class SessionUser(UserMixin):
    """The signed-in person: the account row and the actor the services authorise."""

    def __init__(self, user: User, key: str):
        self.user = user
        self.key = key
        self.actor = Actor.from_user(user)

    def get_id(self) -> str:
        return self.key

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.user.roles}

    @property
    def is_hr_or_admin(self) -> bool:
        return bool(self.roles & {"hr", "admin"})


@login_manager.user_loader
def _load(key: str) -> SessionUser | None:
    user = auth.resolve_session(key)
    return None if user is None else SessionUser(user, key)


@login_manager.unauthorized_handler
def _to_login():
    """A page that needs a session sends the person to sign in, then back to where they were."""
    return redirect(url_for("web_auth.login", next=request.full_path.rstrip("?")))


def current_actor() -> Actor:
    return current_user.actor


def current_account() -> User:
    return current_user.user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
