"""My profile (/profile): language and email preferences, password change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories
from tests.web.conftest import Web, text_of
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import ApiToken, User
from workflow_app.security import verify_password


def user(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def main_of(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def test_anonymous_is_sent_to_sign_in(web, org):
    for method, path in (("get", "/profile"),):
        r = getattr(web, method)(path)
        assert r.status_code == 302 and r.headers["Location"] == "/login?next=/profile"


def test_anonymous_posts_change_nothing(web, org):
    r = web.post("/profile/preferences", {"locale": "en", "email_digest": "daily"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    r = web.post(
        "/profile/password", {"current_password": "x", "new_password": "y" * 10, "confirm": "y" * 10}
    )
    assert r.status_code == 302
    assert user("staf").locale == "id"


@pytest.mark.parametrize("who", ["u_staff", "u_kasi", "u_hr", "u_hr_other", "u_admin"])
def test_every_role_sees_its_profile(web, org, who):
    account = getattr(org, who)
    web.login(account)
    r = web.get("/profile")
    assert r.status_code == 200
    main = main_of(text_of(r))
    assert account.username in main
    assert 'action="/profile/preferences"' in main and 'action="/profile/password"' in main
    assert '<label class="form-label" for="f-current_password">' in main
    assert 'id="f-locale"' in main and 'id="f-email_digest-daily"' in main
    if account.employee is not None:
        assert account.employee.nip in main
    if who in ("u_hr", "u_hr_other"):
        assert "HR for" in main
    if who == "u_admin":
        assert "Administrator of" in main


def test_preferences_are_saved_and_the_page_speaks_the_chosen_language(web, org):
    web.lang = None  # the account's preference (Indonesian) decides, not a choice on the sign-in page
    web.login(org.u_staff)
    page = text_of(web.get("/profile"))
    assert '<html lang="id">' in page
    assert 'value="immediate" checked' in page
    r = web.post("/profile/preferences", {"locale": "en", "email_digest": "daily"})
    assert r.status_code == 302 and r.headers["Location"] == "/profile"
    account = user("staf")
    assert (account.locale, account.email_digest) == ("en", "daily")
    page = text_of(web.get("/profile"))
    assert '<html lang="en">' in page
    assert "Your preferences are saved." in page
    assert 'value="daily" checked' in page and '<option value="en" selected' in page


@pytest.mark.parametrize(
    "data, field",
    [
        ({"locale": "xx", "email_digest": "daily"}, "locale"),
        ({"locale": "en", "email_digest": "weekly"}, "email_digest"),
        ({"locale": "en"}, "email_digest"),
    ],
)
def test_bad_preferences_are_a_422_with_the_field_error(web, org, data, field):
    web.login(org.u_staff)
    r = web.post("/profile/preferences", data)
    assert r.status_code == 422
    main = main_of(text_of(r))
    assert 'id="preferences-errors"' in main and f'href="#f-{field}"' in main
    assert f'id="f-{field}-error"' in main
    account = user("staf")
    assert (account.locale, account.email_digest) == ("id", "immediate")


def test_preferences_without_csrf_are_refused(web, org):
    web.login(org.u_staff)
    r = web.post("/profile/preferences", {"locale": "en", "email_digest": "daily"}, csrf=False)
    assert r.status_code == 400
    assert user("staf").locale == "id"


NEW = "kata-sandi-baru-456"


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"current_password": "salah", "new_password": NEW, "confirm": NEW}, "current_password", "current password is wrong"),
        ({"current_password": factories.PASSWORD, "new_password": NEW, "confirm": NEW + "x"}, "confirm", "The two passwords differ."),
        ({"current_password": factories.PASSWORD, "new_password": "pendek", "confirm": "pendek"}, "new_password", None),
        ({"current_password": factories.PASSWORD, "new_password": factories.PASSWORD, "confirm": factories.PASSWORD}, "new_password", "not used here"),
        ({"new_password": NEW, "confirm": NEW}, "current_password", None),
    ],
)  # fmt: skip
def test_a_refused_password_change_is_a_422_with_the_field_error(web, org, data, field, message):
    web.login(org.u_staff)
    before = live_sessions(org.u_staff)
    r = web.post("/profile/password", data)
    assert r.status_code == 422
    main = main_of(text_of(r))
    assert 'id="password-errors"' in main and f'href="#f-{field}"' in main
    assert f'id="f-{field}-error"' in main
    if message:
        assert message in main
    assert NEW not in main and factories.PASSWORD not in main  # passwords are never echoed
    account = user("staf")
    assert verify_password(account.password_hash, factories.PASSWORD)
    assert live_sessions(org.u_staff) == before
    assert web.get("/").status_code == 200  # still signed in


def test_password_change_without_csrf_is_refused(web, org):
    web.login(org.u_staff)
    r = web.post(
        "/profile/password",
        {"current_password": factories.PASSWORD, "new_password": NEW, "confirm": NEW},
        csrf=False,
    )
    assert r.status_code == 400
    assert verify_password(user("staf").password_hash, factories.PASSWORD)


def test_password_change_ends_other_sessions_and_tokens_but_not_this_one(web, org, app, api):
    other = Web(app.test_client())
    other.login(org.u_staff)
    assert other.get("/").status_code == 200
    token = api.token("staf")
    assert api.get("/api/v1/me", "staf").status_code == 200

    web.login(org.u_staff)
    r = web.post(
        "/profile/password", {"current_password": factories.PASSWORD, "new_password": NEW, "confirm": NEW}
    )
    assert r.status_code == 302 and r.headers["Location"] == "/profile"
    page = web.get("/profile")
    assert page.status_code == 200 and "Your password is changed." in text_of(page)
    assert web.post("/profile/preferences", {"locale": "id", "email_digest": "daily"}).status_code == 302

    # The other browser is signed out; the API token is revoked.
    r = other.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    r = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert (
        db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == org.u_staff.id)) is not None
    )

    # The new password signs in; the old one does not.
    third = Web(app.test_client())
    assert third.login(org.u_staff).status_code == 401
    assert third.login(org.u_staff, password=NEW).status_code == 302


@pytest.mark.parametrize("path", ["/profile/preferences", "/profile/password"])
def test_the_forms_addresses_lead_back_to_the_profile(web, org, path):
    """A refused form is shown at its POST address; switching language there comes back by GET."""
    web.login(org.u_staff)
    r = web.get(path)
    assert r.status_code == 302 and r.headers["Location"] == "/profile"


def live_sessions(account) -> int:
    from sqlalchemy import func, select

    from workflow_app.models import WebSession

    return db.session.scalar(
        select(func.count())
        .select_from(WebSession)
        .where(WebSession.user_id == account.id, WebSession.revoked_at.is_(None))
    )


def test_signing_out_ends_the_session_on_the_server_a_copied_cookie_is_worthless(web, org, app):
    web.login(org.u_staff)
    assert web.get("/").status_code == 200
    cookie = web.client.get_cookie("kinerja_session").value
    thief = app.test_client()
    thief.set_cookie("kinerja_session", cookie)
    assert thief.get("/", headers={"Accept": "text/html"}).status_code == 200
    r = web.post("/logout", {})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    r = thief.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert live_sessions(org.u_staff) == 0


def test_an_expired_session_signs_in_again(web, org):
    from sqlalchemy import update

    from workflow_app.models import WebSession

    web.login(org.u_staff)
    db.session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    r = web.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_wrong_current_passwords_are_throttled(web, org, app, forget_failed_logins):
    saved = app.config["LOGIN_MAX_FAILURES"]
    app.config["LOGIN_MAX_FAILURES"] = 3
    try:
        web.login(org.u_staff)
        for _ in range(3):
            r = web.post(
                "/profile/password", {"current_password": "salah", "new_password": NEW, "confirm": NEW}
            )
            assert r.status_code == 422
        r = web.post(
            "/profile/password",
            {"current_password": factories.PASSWORD, "new_password": NEW, "confirm": NEW},
        )
        assert r.status_code == 429 and r.headers["Retry-After"]
        assert verify_password(user("staf").password_hash, factories.PASSWORD)  # unchanged
    finally:
        app.config["LOGIN_MAX_FAILURES"] = saved
