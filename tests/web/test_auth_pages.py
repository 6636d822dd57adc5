"""Signing in and out of the web UI: safe returns, the API's login throttle, cookies, CSRF."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import unquote

import pytest

from tests import factories
from tests.web.conftest import Web, text_of
from workflow_app import create_app
from workflow_app.extensions import db


def sign_in(web: Web, username: str, password: str = factories.PASSWORD, next_: str | None = None, **kw):
    data = {"username": username, "password": password, "csrf_token": web.token()}
    if next_ is not None:
        data["next"] = next_
    web._token = None
    return web.client.post("/login", data=data, **kw)


def session_cookie(response) -> SimpleCookie:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("kinerja_session="):
            cookie = SimpleCookie()
            cookie.load(header)
            return cookie
    raise AssertionError("no session cookie was set")


# --- the form ----------------------------------------------------------------------------------


def test_sign_in_page_renders_with_labelled_fields(web, org):
    r = web.get("/login")
    assert r.status_code == 200
    html = text_of(r)
    assert '<label class="form-label" for="username">' in html
    assert '<label class="form-label" for="password">' in html
    assert 'type="password"' in html and 'name="csrf_token"' in html


def test_sign_in_then_the_inbox(web, org):
    r = sign_in(web, "staf")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert web.get("/").status_code == 200
    # Signed in, the sign-in page sends the person on.
    r = web.get("/login?next=/profile")
    assert r.status_code == 302 and r.headers["Location"] == "/profile"


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/profile", "/profile"),
        ("/notifications?unread=true", "/notifications?unread=true"),
        ("//evil.com", "/"),
        ("//evil.com/profile", "/"),
        ("https://evil.com", "/"),
        ("https://evil.com/profile", "/"),
        ("http:/evil.com", "/"),
        ("/\\evil.com", "/"),
        ("\\\\evil.com", "/"),
        ("/\t/evil.com", "/"),
        ("javascript:alert(1)", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("evil.com", "/"),
        ("", "/"),
    ],
)
def test_next_returns_only_to_paths_of_this_site(web, org, target, expected):
    r = sign_in(web, "staf", next_=target)
    assert r.status_code == 302
    assert r.headers["Location"] == expected


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com"])
def test_the_form_never_carries_a_foreign_next(web, org, target):
    html = text_of(web.get("/login", query_string={"next": target}))
    form = html[html.index('action="/login"') :]
    form = form[: form.index("</form>")]
    assert "evil" not in form and '<input id="next" name="next" type="hidden" value="/">' in form
    # Signed in, a foreign next is ignored too.
    sign_in(web, "staf")
    r = web.get("/login", query_string={"next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize("path", ["/", "/profile", "/notifications", "/notifications?unread=true&page=1"])
def test_pages_that_need_a_session_redirect_to_sign_in_and_back(web, org, path):
    r = web.get(path)
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith("/login?next=")
    target = unquote(location.removeprefix("/login?next="))
    assert target == path
    r = sign_in(web, "staf", next_=target)
    assert r.status_code == 302 and r.headers["Location"] == path
    assert web.get(path).status_code == 200


@pytest.mark.parametrize(
    "username, password",
    [("staf", "salah-sekali"), ("nobody", factories.PASSWORD), ("STAF", factories.PASSWORD)],
)
def test_wrong_credentials_are_a_401_page_with_a_message(web, org, forget_failed_logins, username, password):
    r = sign_in(web, username, password)
    assert r.status_code == 401
    html = text_of(r)
    assert "Unknown username or wrong password." in html
    assert 'id="error-summary"' in html
    assert f'value="{username}"' in html  # the username is kept, the password is not
    assert password not in html.replace(f'value="{username}"', "")
    assert web.get("/").status_code == 302  # not signed in


def test_an_inactive_account_cannot_sign_in(web, org, forget_failed_logins):
    org.u_staff.active = False
    db.session.commit()
    assert sign_in(web, "staf").status_code == 401


def test_a_missing_field_is_a_422_with_the_field_error(web, org):
    r = sign_in(web, "")
    assert r.status_code == 422
    html = text_of(r)
    assert 'href="#username"' in html and 'id="username-error"' in html


def test_sign_in_without_csrf_is_refused(web, org):
    r = web.client.post("/login", data={"username": "staf", "password": factories.PASSWORD})
    assert r.status_code == 400
    assert web.get("/").status_code == 302


def test_the_login_throttle_of_the_api_applies_to_the_form(web, org, app, forget_failed_logins):
    saved = app.config["LOGIN_MAX_FAILURES"]
    app.config["LOGIN_MAX_FAILURES"] = 3
    try:
        codes = [sign_in(web, "kasi", "salah-sekali").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        r = sign_in(web, "kasi")
        assert r.status_code == 429  # from this address even the right password waits
        assert int(r.headers["Retry-After"]) > 0
        assert "Too many failed logins" in text_of(r) and "<html" in text_of(r)
        # Another person from this address, and the same person elsewhere, are not locked out.
        assert sign_in(web, "staf").status_code == 302
        other = Web(app.test_client())
        r = sign_in(other, "kasi", environ_base={"REMOTE_ADDR": "10.0.0.7"})
        assert r.status_code == 302
    finally:
        app.config["LOGIN_MAX_FAILURES"] = saved


@pytest.mark.parametrize("first", ["api", "form"])
def test_failures_at_either_door_count_for_both(web, org, app, forget_failed_logins, first):
    saved = app.config["LOGIN_MAX_FAILURES"]
    app.config["LOGIN_MAX_FAILURES"] = 2
    try:
        for _ in range(2):
            if first == "api":
                r = web.client.post("/api/v1/auth/tokens", json={"username": "kasi", "password": "salah"})
            else:
                r = sign_in(web, "kasi", "salah")
            assert r.status_code == 401
        if first == "api":
            assert sign_in(web, "kasi").status_code == 429
        else:
            r = web.client.post(
                "/api/v1/auth/tokens", json={"username": "kasi", "password": factories.PASSWORD}
            )
            assert r.status_code == 429
    finally:
        app.config["LOGIN_MAX_FAILURES"] = saved


# --- the session cookie ------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_and_samesite_lax(web, org):
    cookie = session_cookie(sign_in(web, "staf"))["kinerja_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # the test profile speaks plain http


def test_the_session_cookie_is_secure_in_production(monkeypatch, database_url, redis_url):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("AUDIT_KEY", "a" * 48)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    prod = create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    r = prod.test_client().get("/login", base_url="https://kinerja.example")
    assert r.status_code == 200
    cookie = session_cookie(r)["kinerja_session"]
    assert cookie["secure"] is True and cookie["httponly"] is True and cookie["samesite"] == "Lax"
    assert "max-age=" in r.headers["Strict-Transport-Security"]


def test_signing_in_starts_a_new_session(web, org):
    web.client.post("/language", data={"lang": "en", "csrf_token": web.token()})
    before = web.client.get_cookie("kinerja_session").value
    sign_in(web, "staf")
    after = web.client.get_cookie("kinerja_session").value
    assert before != after


# --- signing out -------------------------------------------------------------------------------


def test_sign_out_asks_on_get_and_needs_a_post_with_csrf(web, org):
    sign_in(web, "staf")
    r = web.get("/logout")
    assert r.status_code == 200 and 'action="/logout"' in text_of(r)
    assert web.get("/").status_code == 200  # a GET (a link, an image) signs nobody out
    r = web.post("/logout", csrf=False)
    assert r.status_code == 400
    assert web.get("/").status_code == 200  # still signed in
    r = web.post("/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    r = web.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_sign_out_when_signed_out_goes_to_sign_in(web, org):
    r = web.get("/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/login"


def test_a_password_change_ends_a_copied_session_cookie(web, org, app):
    sign_in(web, "staf")
    replay = app.test_client()
    replay.set_cookie("kinerja_session", web.client.get_cookie("kinerja_session").value)
    assert replay.get("/").status_code == 200
    new = "kata-sandi-baru-789"
    r = web.post(
        "/profile/password", {"current_password": factories.PASSWORD, "new_password": new, "confirm": new}
    )
    assert r.status_code == 302
    assert replay.get("/").status_code == 302
    assert web.get("/").status_code == 200
