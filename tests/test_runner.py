"""`make run`: the runner migrates, seeds, serves, works the outbox, stops cleanly, keeps data."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "admin-uji-runner-77"

pytestmark = [pytest.mark.timeout(150), pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runner:
    def __init__(self, instance: Path, port: int, extra_env: dict | None = None):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "DATABASE_URL", "KINERJA_ADMIN_PASSWORD")
        }
        env.update(
            KINERJA_ENV="development",
            KINERJA_INSTANCE_DIR=str(instance),
            PORT=str(port),
            REDIS_PORT=str(free_port()),
            SMTP_PORT=str(free_port()),
            SCHEDULER_INTERVAL="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra_env or {})
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = instance.parent / f"runner-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workflow_app.dev.runner"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(self, method: str, path: str, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for path in ("/healthz", "/readyz"):
            while True:
                assert self.proc.poll() is None, f"runner exited early:\n{self.output()[-4000:]}"
                assert time.monotonic() < deadline, f"{path} not ready:\n{self.output()[-4000:]}"
                try:
                    if self.request("GET", path)[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.3)

    def token(self, username: str, password: str) -> str:
        status, body = self.request(
            "POST", "/api/v1/auth/tokens", {"username": username, "password": password}
        )
        assert status == 201, body
        return body["token"]

    def stop(self) -> list[psutil.Process]:
        """SIGINT the runner (as Ctrl-C would); return the processes it had started."""
        started = psutil.Process(self.proc.pid).children(recursive=True)
        assert started, "the runner started no processes"
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=40)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.log.close()
        return started

    def kill(self) -> None:
        if self.proc.poll() is None:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(predicate, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, message()
        time.sleep(0.2)


def test_runner_serves_works_stops_and_keeps_data(tmp_path):
    instance = tmp_path / "instance"
    db_path = instance / "kinerja.db"
    port = free_port()

    first = Runner(instance, port, {"KINERJA_ADMIN_PASSWORD": ADMIN_PASSWORD})
    try:
        first.wait_ready()
        assert "loading the demo data" in first.output()
        hr = first.token("hr", "kinerja-demo")
        assert first.token("admin", ADMIN_PASSWORD)

        status, page = first.request("GET", "/api/v1/appraisals?state=plan_drafted&per_page=1", token=hr)
        assert status == 200, page
        item = (page["items"] if isinstance(page, dict) else page)[0]
        status, detail = first.request("GET", f"/api/v1/appraisals/{item['id']}", token=hr)
        status, body = first.request(
            "POST",
            f"/api/v1/appraisals/{item['id']}/events/cancel",
            {"version": detail["version"], "reason": "Uji runner: pegawai pensiun"},
            token=hr,
        )
        assert status == 200, body

        def outbox_status():
            with sqlite3.connect(db_path, timeout=30) as conn:
                row = conn.execute(
                    "SELECT status FROM outbox WHERE dedupe_key LIKE ? ORDER BY id DESC LIMIT 1",
                    (f"appraisal:{item['id']}:%",),
                ).fetchone()
            return row[0] if row else None

        wait_until(
            lambda: outbox_status() == "done",
            40,
            lambda: f"outbox row still {outbox_status()!r}:\n{first.output()[-4000:]}",
        )
        started = first.stop()
    except BaseException:
        first.kill()
        raise

    assert first.proc.returncode in (0, 130), first.output()[-4000:]
    names = " ".join(" ".join(p.cmdline()) if not gone(p) else "" for p in started)
    wait_until(lambda: all(gone(p) for p in started), 10, lambda: f"still running: {names}")
    log = first.output()
    for name in ("web", "worker", "scheduler"):
        assert f"stopping {name}" in log

    with sqlite3.connect(db_path) as conn:
        users = conn.execute("SELECT count(*) FROM users").fetchone()[0]

    second = Runner(instance, port)
    try:
        second.wait_ready()
        assert "loading the demo data" not in second.output()
        hr = second.token("hr", "kinerja-demo")
        assert second.token("admin", ADMIN_PASSWORD)  # kept from the first start
        status, detail = second.request("GET", f"/api/v1/appraisals/{item['id']}", token=hr)
        assert (status, detail["state"]) == (200, "cancelled")
        second.stop()
    except BaseException:
        second.kill()
        raise
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == users


@pytest.mark.parametrize("variable", ["PORT", "REDIS_PORT", "SMTP_PORT"])
def test_a_busy_port_is_reported_with_its_variable(tmp_path, variable):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SMTP_HOST", "DATABASE_URL")}
    env.update(
        KINERJA_ENV="development",
        KINERJA_INSTANCE_DIR=str(tmp_path / "instance"),
        PORT=str(free_port()),
        REDIS_PORT=str(free_port()),
        SMTP_PORT=str(free_port()),
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env[variable] = str(port)
        result = subprocess.run(
            [sys.executable, "-m", "workflow_app.dev.runner"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "in use" in line]
    assert len(lines) == 1 and f"port {port} " in lines[0] and f"({variable})" in lines[0], result.stdout
    assert not (tmp_path / "instance" / "kinerja.db").exists()  # nothing was started
