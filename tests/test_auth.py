"""Tokens: hashed at rest, expiring, revocable; failed logins throttled."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from tests import factories
from workflow_app import ratelimit
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import ApiToken
from workflow_app.security import token_digest


def test_tokens_are_stored_hashed_and_expire(api, org):
    token = api.token("staf")
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and token_digest(token) in stored
    assert api.get("/api/v1/me", "staf").get_json()["username"] == "staf"
    with time_machine.travel(utcnow() + timedelta(hours=13), tick=False):
        r = api.get("/api/v1/me", "staf")
        assert r.status_code == 401 and r.get_json()["type"].endswith("/invalid-token")


def test_failed_logins_are_throttled_per_username_and_address(client, org, app, forget_failed_logins):
    saved = app.config["LOGIN_MAX_FAILURES"]
    app.config["LOGIN_MAX_FAILURES"] = 3
    try:
        bad = {"username": "kasi", "password": "salah-sekali"}
        codes = [client.post("/api/v1/auth/tokens", json=bad).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        r = client.post("/api/v1/auth/tokens", json={"username": "kasi", "password": factories.PASSWORD})
        assert r.status_code == 429  # from this address even the right password waits out the window
        assert r.get_json()["type"].endswith("/too-many-attempts")
        assert r.mimetype == "application/problem+json" and int(r.headers["Retry-After"]) > 0
        # Other users are not affected by someone guessing at kasi.
        r = client.post(
            "/api/v1/auth/tokens",
            json={"username": "staf", "password": factories.PASSWORD},
            environ_base={"REMOTE_ADDR": "10.0.0.9"},
        )
        assert r.status_code == 201, r.get_json()
        # Nor is kasi from another address: guessing cannot lock the real user out (#6 row 9).
        r = client.post(
            "/api/v1/auth/tokens",
            json={"username": "kasi", "password": factories.PASSWORD},
            environ_base={"REMOTE_ADDR": "10.0.0.10"},
        )
        assert r.status_code == 201, r.get_json()
    finally:
        app.config["LOGIN_MAX_FAILURES"] = saved


def login(client, username, password=factories.PASSWORD, address="127.0.0.1", **kw):
    return client.post(
        "/api/v1/auth/tokens",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        **kw,
    )


@pytest.fixture
def limits(app, forget_failed_logins):
    saved = {k: app.config[k] for k in ("LOGIN_MAX_FAILURES", "LOGIN_MAX_FAILURES_PER_ADDRESS")}
    app.config.update(LOGIN_MAX_FAILURES=10, LOGIN_MAX_FAILURES_PER_ADDRESS=25)
    yield app
    app.config.update(saved)


def test_failures_count_in_redis_when_redis_is_configured(app):
    from limits.storage import RedisStorage

    assert isinstance(app.extensions[ratelimit.EXTENSION]["limiter"].storage, RedisStorage)


def test_wrong_passwords_from_one_address_do_not_lock_out_the_user_elsewhere(client, org, limits):
    attacker, user = "203.0.113.7", "198.51.100.20"
    codes = [login(client, "kasi", "salah-sekali", attacker).status_code for _ in range(10)]
    assert codes == [401] * 10
    r = login(client, "kasi", address=user)
    assert r.status_code == 201, r.get_json()
    # From the attacker's address the (username, address) limit holds, right password or not.
    r = login(client, "kasi", address=attacker)
    assert r.status_code == 429
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["type"].endswith("/too-many-attempts") and body["status"] == 429
    assert 0 < int(r.headers["Retry-After"]) <= app_window(limits)
    assert body["retry_after"] == int(r.headers["Retry-After"])
    # Successful logins do not count: the real user keeps logging in.
    assert all(login(client, "kasi", address=user).status_code == 201 for _ in range(12))


def app_window(app) -> int:
    return app.config["LOGIN_FAILURE_WINDOW_SECONDS"]


def test_failures_per_address_are_limited_across_usernames(client, org, limits):
    address = "203.0.113.8"
    names = [f"tebakan{i}" for i in range(25)]
    assert {login(client, n, "salah-sekali", address).status_code for n in names} == {401}
    r = login(client, "nama-baru", "salah-sekali", address)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert login(client, "kasi", address=address).status_code == 429  # the address waits
    assert login(client, "kasi", address="198.51.100.21").status_code == 201  # others do not


def test_spoofed_forwarded_for_is_ignored_without_trusted_proxies(client, org, limits):
    assert limits.config["TRUSTED_PROXIES"] == 0
    for i in range(10):
        r = login(client, "kasi", "salah-sekali", "203.0.113.9", headers={"X-Forwarded-For": f"10.9.9.{i}"})
        assert r.status_code == 401
    r = login(client, "kasi", address="203.0.113.9", headers={"X-Forwarded-For": "10.9.9.99"})
    assert r.status_code == 429  # the header did not give the guesser a fresh address


def test_behind_a_trusted_proxy_the_forwarded_address_counts(app, org, limits, database_url, redis_url):
    from werkzeug.middleware.proxy_fix import ProxyFix

    from workflow_app import create_app

    proxied = create_app(
        "test",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "OUTBOX_KICK": False,
            "TRUSTED_PROXIES": 1,
            "LOGIN_MAX_FAILURES": 10,
        },
    )
    assert isinstance(proxied.wsgi_app, ProxyFix)
    client = proxied.test_client()
    proxy = "10.0.0.1"  # every request reaches the app from the proxy's address
    try:
        for _ in range(10):
            r = login(client, "kasi", "salah-sekali", proxy, headers={"X-Forwarded-For": "203.0.113.10"})
            assert r.status_code == 401
        r = login(client, "kasi", address=proxy, headers={"X-Forwarded-For": "203.0.113.10"})
        assert r.status_code == 429
        # The real user behind the same proxy, from their own address, is not locked out.
        r = login(client, "kasi", address=proxy, headers={"X-Forwarded-For": "198.51.100.22"})
        assert r.status_code == 201, r.get_json()
        # Only the proxy's own entry is believed: a client-supplied first entry changes nothing.
        r = login(client, "kasi", address=proxy, headers={"X-Forwarded-For": "198.51.100.22, 203.0.113.10"})
        assert r.status_code == 429
    finally:
        ratelimit.reset(proxied)
