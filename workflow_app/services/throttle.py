"""Failed-login throttling: too many wrong passwords for a username or from an address → 429."""

from __future__ import annotations

import logging

from flask import current_app

from workflow_app import problems
from workflow_app.redis_conn import get_redis

log = logging.getLogger(__name__)


def _keys(username: str, address: str) -> list[str]:
    return [f"kinerja:login-fail:user:{username.lower()}", f"kinerja:login-fail:ip:{address}"]


def check(username: str, address: str) -> None:
    """Refuse the attempt while the username or the address is over its limit."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    try:
        redis = get_redis()
        if redis is None:
            return
        counts = redis.mget(_keys(username, address))
        over = [int(c) for c in counts if c is not None and int(c) >= limit]
        if over:
            ttl = max(redis.ttl(k) for k in _keys(username, address))
            raise problems.Problem(
                429,
                "too-many-attempts",
                detail="Too many failed logins; wait before trying again.",
                retry_after=max(int(ttl), 1),
            )
    except problems.Problem:
        raise
    except Exception as exc:  # noqa: BLE001 - without Redis, logins are not throttled
        log.warning("login throttle unavailable: %s", exc)


def failed(username: str, address: str) -> None:
    window = current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"]
    try:
        redis = get_redis()
        if redis is None:
            return
        pipe = redis.pipeline()
        for key in _keys(username, address):
            pipe.incr(key)
            pipe.expire(key, window)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001
        log.warning("login throttle unavailable: %s", exc)


def succeeded(username: str) -> None:
    try:
        redis = get_redis()
        if redis is not None:
            redis.delete(_keys(username, "")[0])
    except Exception as exc:  # noqa: BLE001
        log.warning("login throttle unavailable: %s", exc)
