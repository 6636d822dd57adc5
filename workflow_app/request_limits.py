"""Oversized request lines and headers answered as problems (414, 431), below gunicorn's limits.

gunicorn refuses a request line or header over its limits with a plain-text error before the
app sees it. Its limits are set in ``gunicorn.conf.py`` from the numbers here, and this WSGI
middleware refuses a little less, so a client always gets ``application/problem+json``.
"""

from __future__ import annotations

from urllib.parse import quote

from workflow_app import problems
from workflow_app.i18n import N_

# gunicorn (gunicorn.conf.py): 8190 is the largest request line gunicorn accepts.
GUNICORN_LIMIT_REQUEST_LINE = 8190
GUNICORN_LIMIT_REQUEST_FIELD_SIZE = 8190
GUNICORN_LIMIT_REQUEST_FIELDS = 100

# The app: a request line is "<METHOD> <URL> HTTP/1.1", so the URL stays well under the line.
MAX_URL_LENGTH = 8000
MAX_HEADER_FIELD_SIZE = 8000  # "Name: value" of one header
MAX_HEADER_FIELDS = 90


def _url_length(environ) -> int:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/;:@&=+$,%")
    query = environ.get("QUERY_STRING", "")
    return len(path) + (len(query) + 1 if query else 0)


def _headers(environ):
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:], value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key, value


def oversize(environ) -> problems.Problem | None:
    """The 414 or 431 problem for a request over the limits, else None."""
    if _url_length(environ) > MAX_URL_LENGTH:
        return problems.Problem(
            414, detail=N_("The URL exceeds the limit of {limit} characters.", limit=MAX_URL_LENGTH)
        )
    headers = list(_headers(environ))
    if len(headers) > MAX_HEADER_FIELDS:
        return problems.Problem(
            431, detail=N_("The request has more than {limit} header fields.", limit=MAX_HEADER_FIELDS)
        )
    for name, value in headers:
        if len(name) + 2 + len(value) > MAX_HEADER_FIELD_SIZE:
            header = name.replace("_", "-").title()
            return problems.Problem(
                431,
                detail=N_(
                    "The header {header} exceeds the limit of {limit} bytes.",
                    header=header,
                    limit=MAX_HEADER_FIELD_SIZE,
                ),
            )
    return None


class RequestLimits:
    """WSGI middleware: answer oversized URLs and headers before routing."""

    def __init__(self, app, wsgi_app):
        self.app = app  # the Flask app, for the problem's type URI
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        problem = oversize(environ)
        if problem is None:
            return self.wsgi_app(environ, start_response)
        # A bare request context: the oversized URL or header is never routed or parsed.
        with self.app.test_request_context("/", environ_base={"REMOTE_ADDR": environ.get("REMOTE_ADDR")}):
            response = problems.problem_response(problem)
        return response(environ, start_response)
