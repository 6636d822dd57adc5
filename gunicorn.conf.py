"""gunicorn settings read from the working directory (the image's /app, or the checkout).

Command lines (Dockerfile, docker-compose.yml, the dev runner) choose binding and workers; the
request limits live here, a little above the app's own (workflow_app/request_limits.py), so
that an oversized URL or header is answered by the app as a 414 or 431 problem.
"""

from workflow_app.request_limits import (
    GUNICORN_LIMIT_REQUEST_FIELD_SIZE,
    GUNICORN_LIMIT_REQUEST_FIELDS,
    GUNICORN_LIMIT_REQUEST_LINE,
)

limit_request_line = GUNICORN_LIMIT_REQUEST_LINE
limit_request_field_size = GUNICORN_LIMIT_REQUEST_FIELD_SIZE
limit_request_fields = GUNICORN_LIMIT_REQUEST_FIELDS


def post_fork(server, worker):
    """Before the worker loads the app: its thread count sizes its database pool.

    Each gthread worker serves ``--threads`` requests at once, each with one pooled connection
    (workflow_app.extensions.pool_options); ``DB_POOL_SIZE`` overrides.
    """
    import os

    from workflow_app.extensions import WEB_THREADS_ENV

    os.environ[WEB_THREADS_ENV] = str(max(int(worker.cfg.threads or 1), 1))
