"""After-commit fast path: hand the outbox rows the unit of work wrote to the workers at once.

The session noted the new rows' ids as it flushed them (``uow``); the kick enqueues exactly
those, batched into one job per queue, in one Redis round trip. It reads nothing from the
database. If Redis is down the transition has already committed; the scheduler's periodic
relay delivers the outbox rows later, so nothing is lost. After a failure the fast path is
skipped for ``KICK_BACKOFF_SECONDS`` so that requests do not each wait for Redis's connect
timeout.
"""

from __future__ import annotations

import logging
import time

from flask import current_app

from workflow_app.jobs.outbox import enqueue_outbox
from workflow_app.uow import take_committed_outbox

log = logging.getLogger(__name__)
KICK_BACKOFF_SECONDS = 15.0
_skip_until = 0.0


def kick() -> None:
    global _skip_until
    rows = take_committed_outbox()
    if not rows:
        return
    if not current_app.config.get("REDIS_URL") or current_app.config.get("OUTBOX_KICK") is False:
        return
    if time.monotonic() < _skip_until:
        return
    try:
        enqueue_outbox(rows)
    except Exception as exc:  # noqa: BLE001 - Redis trouble must not fail a committed request
        _skip_until = time.monotonic() + KICK_BACKOFF_SECONDS
        log.warning("outbox kick failed (%s); the periodic relay will deliver", exc)
