"""The RQ worker process: ``python -m workflow_app.jobs.worker`` (or ``flask --app wsgi worker``).

Listens on the notifications, escalations and default queues, with RQ's scheduler enabled so
that retries with a delay are re-enqueued. Jobs run in the worker process itself (RQ's
``SimpleWorker``): no fork per job, so a job costs its own work and not a process; each job
delivers a batch (``jobs.outbox``), and the database pool and the app are kept from one job to
the next. Run more worker processes to use more cores. Anything that forks anyway (RQ's
scheduler) drops the database connections it inherited (``dispose(close=False)``), so a pooled
connection is never shared between two processes.
"""

from __future__ import annotations

import logging
import os

from rq import Queue, SimpleWorker

from workflow_app.extensions import db
from workflow_app.jobs import context
from workflow_app.jobs.queues import QUEUES
from workflow_app.redis_conn import get_redis

log = logging.getLogger("kinerja.worker")
_fork_hook_app = None


def _after_fork_in_child() -> None:
    app = _fork_hook_app
    if app is None:
        return

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def install_fork_hook(app) -> None:
    """Make every forked child (the work horses) start with an empty connection pool."""
    global _fork_hook_app
    if _fork_hook_app is None:
        os.register_at_fork(after_in_child=_after_fork_in_child)
    _fork_hook_app = app


def build_worker(app, queue_names=None):

    with app.app_context():
        connection = get_redis()
    if connection is None:
        raise RuntimeError("REDIS_URL is not set: the worker needs Redis")
    queues = [Queue(name, connection=connection) for name in (queue_names or QUEUES)]
    return SimpleWorker(queues, connection=connection)


def run(app=None, burst: bool = False, with_scheduler: bool = True) -> bool:
    """Run the worker until SIGTERM/SIGINT (warm shutdown) or, with ``burst``, until idle."""

    if app is None:
        app = context.get_app()
    # Jobs decorated with ``with_app`` reuse this app instead of building one per horse.
    context._app = app
    install_fork_hook(app)
    worker = build_worker(app)
    log.info("worker %s listening on %s", worker.name, ", ".join(q.name for q in worker.queues))
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")


def main() -> None:
    run()


if __name__ == "__main__":
    main()
