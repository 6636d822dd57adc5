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
