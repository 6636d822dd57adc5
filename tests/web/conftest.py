"""Web UI fixtures: a signed-in test client that sends forms with their CSRF token."""

from __future__ import annotations

import re

import pytest

from tests import factories

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Web:
    """A browser-like test client: sign in, GET pages, POST forms with the page's CSRF token.

    It picks ``lang`` with the language switch before its first form (English by default, so
    that tests read the source strings; ``Web(client, lang=None)`` keeps the default, Indonesian).
    """

    def __init__(self, client, lang: str | None = "en"):
        self.client = client
        self.lang = lang
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            self._token = self.csrf_of(
                self.client.get("/login", follow_redirects=True).get_data(as_text=True)
            )
            if self.lang:
                self.client.post("/language", data={"lang": self.lang, "csrf_token": self._token})
                self.lang = None  # chosen for this browser's session, which sign-in keeps
        return self._token

    @staticmethod
    def csrf_of(html: str) -> str:
        match = CSRF.search(html)
        assert match, "the page has no CSRF token"
        return match.group(1)

    def login(self, user, password: str = factories.PASSWORD, follow: bool = False):
        username = user if isinstance(user, str) else user.username
        r = self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": self.token()},
            follow_redirects=follow,
        )
        self._token = None  # the session was renewed: take a fresh token from the next page
        return r

    def get(self, path: str, **kw):
        kw.setdefault("headers", {}).setdefault("Accept", "text/html")
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | list | None = None, csrf: bool = True, **kw):
        """POST a form (a dict, or a list of pairs for repeated names) with the CSRF token."""
        pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            pairs.append(("csrf_token", self.token()))
        from werkzeug.datastructures import MultiDict

        kw.setdefault("headers", {}).setdefault("Accept", "text/html")
        return self.client.post(path, data=MultiDict(pairs), **kw)


@pytest.fixture(autouse=True)
def fresh_g_per_request(app, monkeypatch):
    """Each request of a test client gets a fresh ``flask.g``.

    The ``app`` fixture keeps one application context for the whole test, and Flask reuses it
    for every request, so ``g`` (Flask-WTF's CSRF token, Flask-Login's user, the page chrome)
    would leak from one request into the next: after signing in, every form's token would be
    the one of the signed-out session, and a second client would see the first one's user.
    """
    from flask import g
    from flask.testing import FlaskClient

    original = FlaskClient.open

    def open_with_fresh_g(self, *args, **kwargs):
        for name in list(vars(g)):
            delattr(g, name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_with_fresh_g)


@pytest.fixture
def web(client):
    return Web(client)


def text_of(response) -> str:
    return response.get_data(as_text=True)
