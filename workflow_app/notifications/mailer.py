"""Send email over SMTP (plain, STARTTLS or implicit TLS), configured by SMTP_* settings.

``Connection`` sends many messages over one SMTP session (one connect, one login): the batch
sender's. A message the server refuses fails alone and the session goes on; a dropped session
is opened again for the next message; a server that cannot be reached fails the rest of the
batch at once rather than making each message wait for the connect timeout.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


def build_message(to: str, subject: str, text: str, html: str, dedupe_key: str) -> EmailMessage:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["SMTP_SENDER"]
    msg["To"] = to
    if cfg.get("SMTP_REPLY_TO"):
        msg["Reply-To"] = cfg["SMTP_REPLY_TO"]
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=dedupe_key.replace(":", ".")[:60], domain="kinerja.local")
    msg["X-Kinerja-Dedupe-Key"] = dedupe_key
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def connect() -> smtplib.SMTP:
    """An open, logged-in SMTP session."""
    cfg = current_app.config
    host, port, mode = cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), (cfg.get("SMTP_TLS") or "none").lower()
    timeout = float(cfg.get("SMTP_TIMEOUT", 15))
    if mode == "ssl":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if mode == "starttls":
            client.starttls(context=ssl.create_default_context())
        if cfg.get("SMTP_USER"):
            client.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
    except BaseException:
        client.close()
        raise
    return client


def send(msg: EmailMessage) -> None:
    """Send one message over a session of its own."""
    with Connection() as connection:
        connection.send(msg)


# The server refused this message (sender, recipient or content); the session itself is fine.
MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class Connection:
    """One SMTP session for many messages, opened at the first ``send``."""

    def __init__(self) -> None:
        self.client: smtplib.SMTP | None = None
        self.unreachable: Exception | None = None
        self.opened = 0

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def send(self, msg: EmailMessage) -> None:
        if self.unreachable is not None:
            raise self.unreachable
        if self.client is None:
            try:
                self.client = connect()
            except Exception as exc:
                self.unreachable = exc
                raise
            self.opened += 1
        try:
            self.client.send_message(msg)
        except MESSAGE_REFUSED:
            try:
                self.client.rset()
            except Exception:  # noqa: BLE001 - the session is gone: the next message reconnects
                self._drop()
            raise
        except Exception:
            self._drop()
            raise

    def _drop(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except Exception:  # noqa: BLE001 - closing a broken session
                pass
            self._drop()
