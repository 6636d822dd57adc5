"""RQ queues, named by purpose."""

from __future__ import annotations

from rq import Queue

from workflow_app.redis_conn import get_redis

QUEUES = ("notifications", "escalations", "default")


_queues: dict[tuple[int, str], Queue] = {}


def queue(name: str = "default") -> Queue:
    """The named queue on this app's Redis; kept per connection, so that RQ asks the server
    for its version once per process rather than at every enqueue (a round trip each)."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    connection = get_redis()
    if connection is None:
        raise RuntimeError("REDIS_URL is not configured")
    key = (id(connection), name)
    q = _queues.get(key)
    if q is None or q.connection is not connection:
        q = _queues[key] = Queue(name, connection=connection)
    return q
