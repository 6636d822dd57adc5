"""Run job functions inside an application context, one per job (created once per process)."""

from __future__ import annotations

import functools

_app = None


def get_app():
    global _app
    if _app is None:
        from workflow_app import create_app

        _app = create_app()
    return _app


def with_app(fn):
    """Decorate a job: run it in an app context and end its session whatever happens."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from flask import has_app_context

        if has_app_context():
            return fn(*args, **kwargs)
        from workflow_app.extensions import db

        with get_app().app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper
