"""Tokens: hashed at rest, expiring, revocable; failed logins throttled."""

from datetime import timedelta

import time_machine
from sqlalchemy import select

from tests import factories
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


def test_failed_logins_are_throttled_per_username(client, org, app, forget_failed_logins):
    saved = app.config["LOGIN_MAX_FAILURES"]
    app.config["LOGIN_MAX_FAILURES"] = 3
    try:
        bad = {"username": "kasi", "password": "salah-sekali"}
        codes = [client.post("/api/v1/auth/tokens", json=bad).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        r = client.post("/api/v1/auth/tokens", json={"username": "kasi", "password": factories.PASSWORD})
        assert r.status_code == 429  # even the right password waits out the window
        assert r.mimetype == "application/problem+json" and int(r.headers["Retry-After"]) > 0
        # Other users are not affected by someone guessing at kasi.
        r = client.post(
            "/api/v1/auth/tokens",
            json={"username": "staf", "password": factories.PASSWORD},
            environ_base={"REMOTE_ADDR": "10.0.0.9"},
        )
        assert r.status_code == 201, r.get_json()
    finally:
        app.config["LOGIN_MAX_FAILURES"] = saved
