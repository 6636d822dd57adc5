"""A local SMTP sink for development: every message is kept as an .eml file.

``python -m workflow_app.dev.mailsink --dir instance/mail --port 1025`` runs it; ``make run``
starts it and points SMTP_HOST/SMTP_PORT at it. The development profile serves the messages at
``/dev/mail`` so a new user can read what the service sent.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller


class _Store:
    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        with self.lock:
            name = f"{time.time_ns()}.eml"
            (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start(directory: str | os.PathLike, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    controller = Controller(_Store(Path(directory)), hostname=host, port=port)
    controller.start()
    return controller


def read_messages(directory: str | os.PathLike, limit: int = 200) -> list[dict]:
    folder = Path(directory)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        out.append(
            {
                "id": path.stem,
                "to": msg["To"],
                "subject": msg["Subject"],
                "date": msg["Date"],
                "text": text.get_content() if text else "",
                "html": html.get_content() if html else "",
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Local SMTP sink (development)")
    parser.add_argument("--dir", default="instance/mail")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args()
    controller = start(args.dir, args.host, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"mail sink on {args.host}:{args.port}, writing to {args.dir}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
