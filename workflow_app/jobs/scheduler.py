"""The scheduler process: periodic outbox relay (and, later, sweeps).

Exactly one scheduler acts at a time: each tick takes a Redis lock with a TTL, so a second
scheduler started by mistake idles until the first stops.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time

from workflow_app.jobs.context import get_app

log = logging.getLogger("kinerja.scheduler")
LOCK_KEY = "kinerja:scheduler:leader"


class Scheduler:
    def __init__(self, app, interval: float = 10.0):
        self.app = app
        self.interval = interval
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = False

    def is_leader(self, redis) -> bool:
        ttl_ms = int(self.interval * 3 * 1000)
        if redis.set(LOCK_KEY, self.identity, nx=True, px=ttl_ms):
            return True
        if (redis.get(LOCK_KEY) or b"").decode() == self.identity:
            redis.pexpire(LOCK_KEY, ttl_ms)
            return True
        return False

    def tick(self) -> dict:
        from workflow_app.extensions import db
        from workflow_app.jobs import outbox
        from workflow_app.redis_conn import get_redis

        with self.app.app_context():
            try:
                redis = get_redis()
                if not self.is_leader(redis):
                    return {"leader": False}
                return {"leader": True, "relayed": outbox.relay()}
            finally:
                db.session.remove()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        log.info("scheduler %s started (every %ss)", self.identity, self.interval)
        while not self.stopping:
            try:
                result = self.tick()
                if result.get("relayed"):
                    log.info("tick: %s", result)
            except Exception:  # noqa: BLE001 - a failed tick is logged and retried next tick
                log.exception("scheduler tick failed")
            deadline = time.monotonic() + self.interval
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.2)


def main() -> None:
    interval = float(os.environ.get("SCHEDULER_INTERVAL", "10"))
    Scheduler(get_app(), interval).run()


if __name__ == "__main__":
    main()
