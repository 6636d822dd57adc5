"""After-commit fast path: hand the new outbox rows to RQ right away.

If Redis is down the transition has already committed; the scheduler's periodic relay
delivers the outbox rows later, so nothing is lost. After a failure the fast path is skipped
for ``KICK_BACKOFF_SECONDS`` so that requests do not each wait for Redis's connect timeout.
"""

from __future__ import annotations

import logging
import time

from flask import current_app

from workflow_app.extensions import db
from workflow_app.jobs.outbox import relay

log = logging.getLogger(__name__)
KICK_BACKOFF_SECONDS = 15.0
_skip_until = 0.0


def kick() -> None:
    global _skip_until
    if not current_app.config.get("REDIS_URL") or current_app.config.get("OUTBOX_KICK") is False:
        return
    if time.monotonic() < _skip_until:
        return
    try:
        # Only the outbox: emails are enqueued by the worker that delivers, and swept by the
        # scheduler's relay; scanning them here would cost every write request a join.
        relay(limit=50, emails=False)
    except Exception as exc:  # noqa: BLE001 - Redis trouble must not fail a committed request
        db.session.rollback()
        _skip_until = time.monotonic() + KICK_BACKOFF_SECONDS
        log.warning("outbox kick failed (%s); the periodic relay will deliver", exc)
