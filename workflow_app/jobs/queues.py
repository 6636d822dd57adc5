"""RQ queues, named by purpose."""

from __future__ import annotations

from rq import Queue

from workflow_app.redis_conn import get_redis

QUEUES = ("notifications", "escalations", "default")


def queue(name: str = "default") -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    connection = get_redis()
    if connection is None:
        raise RuntimeError("REDIS_URL is not configured")
    return Queue(name, connection=connection)
