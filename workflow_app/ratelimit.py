"""Login throttling with Flask-Limiter: failed logins count per (username, address) and per address.

Only failures (401) are counted (``deduct_when``), so a user who logs in from another address
is never locked out by someone guessing at their username elsewhere. The client address is
``request.remote_addr``; behind ``TRUSTED_PROXIES`` reverse proxies, ProxyFix (installed in
``create_app``) has already replaced it with the address those proxies put in X-Forwarded-For.

Each app gets a Limiter of its own (storage: ``REDIS_URL``, else memory): views are module
singletons shared by every app in the process, so ``login_throttled`` marks a view and the
app's Limiter decorates it in ``init_app``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_qualified_name
from limits import parse

from workflow_app import problems
from workflow_app.extensions import db
from workflow_app.i18n import N_

EXTENSION = "kinerja_login_limits"
KEY_PREFIX = "kinerja-login"
_VIEWS: dict[str, Callable] = {}


def client_address() -> str:
    return request.remote_addr or "unknown"


def username_and_address() -> str:
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        username = body.get("username") if isinstance(body, dict) else None
    else:  # the sign-in form of the web UI
        username = request.form.get("username")
    if not isinstance(username, str):
        username = ""
    return f"{username.casefold()}|{client_address()}"


def _failed(response) -> bool:
    return response.status_code == 401


def _window() -> int:
    return max(int(current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"]), 1)


def _per_user_and_address() -> str:
    return f"{max(int(current_app.config['LOGIN_MAX_FAILURES']), 1)} per {_window()} seconds"


def _per_address() -> str:
    return f"{max(int(current_app.config['LOGIN_MAX_FAILURES_PER_ADDRESS']), 1)} per {_window()} seconds"


def login_throttled(view: Callable) -> Callable:
    """Mark a login view: its failed attempts (401) count against the login limits."""
    name = get_qualified_name(view)
    _VIEWS[name] = view

    @wraps(view)
    def dispatch(*args, **kwargs):
        limited = current_app.extensions[EXTENSION]["views"].get(name, view)
        return limited(*args, **kwargs)

    return dispatch


def init_app(app: Flask) -> Limiter:
    limiter = Limiter(
        key_func=client_address,
        storage_uri=app.config.get("REDIS_URL") or "memory://",
        strategy="fixed-window",
        key_prefix=KEY_PREFIX,
        # Redis down: count in this process's memory rather than fail or stop throttling.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    views = {}
    for name, view in _VIEWS.items():
        # Shared limits: the API's token endpoint and the web's sign-in form count failures in
        # the same buckets, so a guesser does not get the limit once per door.
        per_address = limiter.shared_limit(
            _per_address, key_func=client_address, scope="login-address", deduct_when=_failed
        )
        per_user = limiter.shared_limit(
            _per_user_and_address, key_func=username_and_address, scope="login-user", deduct_when=_failed
        )
        views[name] = per_address(per_user(view))
    app.extensions[EXTENSION] = {"limiter": limiter, "views": views}

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded):

        db.session.rollback()
        return problems.respond(
            problems.Problem(
                429,
                "too-many-attempts",
                detail=N_("Too many failed logins; wait before trying again."),
                retry_after=_retry_after(limiter),
            )
        )

    return limiter


PASSWORD_SCOPE = "password-change"


def _password_limit():
    return parse(_per_user_and_address())


def password_change_allowed(username: str) -> bool:
    """May this user try their current password again (the profile's password change)?

    Wrong current passwords count per user, with the sign-in limit and window: someone at an
    unattended, signed-in browser cannot guess the password without end.
    """
    strategy = current_app.extensions[EXTENSION]["limiter"].limiter
    try:
        return strategy.test(_password_limit(), PASSWORD_SCOPE, username.casefold())
    except Exception:  # noqa: BLE001 - storage gone: do not lock people out of their profile
        return True


def note_password_failure(username: str) -> None:
    strategy = current_app.extensions[EXTENSION]["limiter"].limiter
    try:
        strategy.hit(_password_limit(), PASSWORD_SCOPE, username.casefold())
    except Exception:  # noqa: BLE001 - storage gone: counted nowhere, as for sign-in failures
        pass


def too_many_passwords() -> problems.Problem:
    return problems.Problem(
        429,
        "too-many-attempts",
        detail=N_("Too many wrong passwords; wait before trying again."),
        retry_after=_window(),
    )


def _retry_after(limiter: Limiter) -> int:
    try:
        breached = [lim for lim in limiter.current_limits if lim.breached] or [limiter.current_limit]
        reset_at = max(lim.reset_at for lim in breached if lim is not None)
        return min(max(math.ceil(reset_at - time.time()), 1), _window())
    except Exception:  # noqa: BLE001 - storage gone: the whole window is a safe answer
        return _window()


def reset(app: Flask) -> None:
    """Forget every counted failure (tests)."""
    app.extensions[EXTENSION]["limiter"].reset()
