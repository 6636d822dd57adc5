"""After-commit fast path: hand the new outbox rows to RQ right away.

If Redis is down the transition has already committed; the scheduler's periodic relay
delivers the outbox rows later, so nothing is lost.
"""

from __future__ import annotations

import logging

from flask import current_app

log = logging.getLogger(__name__)


def kick() -> None:
    if not current_app.config.get("REDIS_URL") or current_app.config.get("OUTBOX_KICK") is False:
        return
    try:
        from workflow_app.jobs.outbox import relay

        relay(limit=50)
    except Exception as exc:  # noqa: BLE001 - Redis trouble must not fail a committed request
        from workflow_app.extensions import db

        db.session.rollback()
        log.warning("outbox kick failed (%s); the periodic relay will deliver", exc)
