"""The Redis connection, created lazily from REDIS_URL (never at import time)."""

from __future__ import annotations

from flask import current_app
from redis import Redis

_clients: dict[str, Redis] = {}


def redis_url() -> str:
    return current_app.config.get("REDIS_URL") or ""


def get_redis(url: str | None = None) -> Redis | None:
    url = url or redis_url()
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        _clients[url] = client
    return client
