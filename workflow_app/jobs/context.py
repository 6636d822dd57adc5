"""Run job functions inside an application context, one per job (created once per process)."""

from __future__ import annotations

import functools
import importlib

from flask import has_app_context

from workflow_app.extensions import db

_app = None


def get_app():
    global _app
    if _app is None:
        # By name: the package's create_app imports the job modules, so a static import here
        # would make a cycle; a worker started by ``flask worker`` has set the app already.
        _app = importlib.import_module("workflow_app").create_app()
    return _app


def with_app(fn):
    """Decorate a job: run it in an app context and end its session whatever happens."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):

        if has_app_context():
            return fn(*args, **kwargs)

        with get_app().app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper
