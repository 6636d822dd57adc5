"""The scheduler process: outbox relay every tick, sweeps every minute, daily digests.

Exactly one scheduler acts at a time: each tick takes a Redis lock with a TTL, so a second
scheduler started by mistake idles until the first stops (or dies and its lock expires).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time

from workflow_app.clock import local_today
from workflow_app.extensions import db
from workflow_app.jobs import outbox, sweeps
from workflow_app.jobs.context import get_app
from workflow_app.jobs.queues import queue
from workflow_app.redis_conn import get_redis

log = logging.getLogger("kinerja.scheduler")
LOCK_KEY = "kinerja:scheduler:leader"


class Scheduler:
    def __init__(self, app, interval: float = 10.0, sweep_every: float = 60.0):
        self.app = app
        self.interval = interval
        self.sweep_every = sweep_every
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = False
        self.last_sweep = 0.0

    def is_leader(self, redis) -> bool:
        ttl_ms = int(self.interval * 3 * 1000)
        if redis.set(LOCK_KEY, self.identity, nx=True, px=ttl_ms):
            return True
        if (redis.get(LOCK_KEY) or b"").decode() == self.identity:
            redis.pexpire(LOCK_KEY, ttl_ms)
            return True
        return False

    def tick(self, force_sweep: bool = False) -> dict:

        with self.app.app_context():
            try:
                redis = get_redis()
                if not self.is_leader(redis):
                    return {"leader": False}
                result: dict = {"leader": True}
                if force_sweep or time.monotonic() - self.last_sweep >= self.sweep_every:
                    self.last_sweep = time.monotonic()
                    result["sweeps"] = sweeps.run_all()
                    result["digests"] = self.digests(redis)
                result["relayed"] = outbox.relay()
                return result
            finally:
                db.session.remove()

    def digests(self, redis) -> int:
        """Once a day (after 07:00 WIB) enqueue one digest per daily-digest user."""

        users = sweeps.digest_sweep()
        day = local_today("WIB").isoformat()
        sent = 0
        for user_id in users:
            if redis.set(f"kinerja:digest:{day}:{user_id}", "1", nx=True, ex=2 * 86400):
                queue("notifications").enqueue(
                    outbox.send_digest_job, user_id, job_id=f"digest-{day}-{user_id}"
                )
                sent += 1
        return sent

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        log.info(
            "scheduler %s started (relay every %ss, sweeps every %ss)",
            self.identity,
            self.interval,
            self.sweep_every,
        )
        while not self.stopping:
            try:
                result = self.tick()
                if any(result.get(k) for k in ("sweeps", "digests")) or any(
                    (result.get("relayed") or {}).values()
                ):
                    log.info("tick: %s", result)
            except Exception:  # noqa: BLE001 - a failed tick is logged and retried next tick
                log.exception("scheduler tick failed")
            deadline = time.monotonic() + self.interval
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.2)


def main() -> None:
    interval = float(os.environ.get("SCHEDULER_INTERVAL", "10"))
    sweep_every = float(os.environ.get("SWEEP_INTERVAL", "60"))
    Scheduler(get_app(), interval, sweep_every).run()


if __name__ == "__main__":
    main()
