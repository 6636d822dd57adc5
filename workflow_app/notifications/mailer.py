"""Send email over SMTP (plain, STARTTLS or implicit TLS), configured by SMTP_* settings.

``Connection`` sends many messages over one SMTP session (one connect, one login): the batch
sender's. A message the server refuses fails alone and the session goes on; a dropped session
is opened again for the next message; a server that cannot be reached fails the rest of the
batch at once rather than making each message wait for the connect timeout.
"""

from __future__ import annotations

import base64
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from flask import current_app

CRLF = "\r\n"


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the wire: envelope and bytes (CRLF line ends)."""

    sender: str
    recipients: list[str]
    data: bytes


def _clean(value: str) -> str:
    """One line: a CR or LF in a value (a name, a subject) never starts a header of its own."""
    return " ".join(value.splitlines())


def _header(value: str) -> str:
    """A header value, RFC 2047-encoded (and folded) when it is not plain ASCII."""
    value = _clean(value)
    return value if value.isascii() else Header(value, "utf-8").encode(linesep=CRLF)


def _address(value: str) -> tuple[str, str]:
    """(header value, bare address) of ``Name <address>`` or ``address``."""
    name, addr = parseaddr(_clean(value))
    if not addr:
        return _header(value), value
    return formataddr((name, addr), charset="utf-8"), addr


def _part(content_type: str, body: str) -> str:
    encoded = base64.encodebytes(body.encode("utf-8")).decode("ascii").replace("\n", CRLF)
    return (
        f'Content-Type: {content_type}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{encoded}"
    )


def build_message(to: str, subject: str, text: str, html: str, dedupe_key: str) -> Outgoing:
    """A text + HTML message (multipart/alternative, UTF-8, base64 parts).

    Written out directly: the ``email`` package's generators cost milliseconds a message
    (header folding, boundary checks), which is most of a batch sender's time.
    """
    cfg = current_app.config
    sender_header, sender = _address(cfg["SMTP_SENDER"])
    to_header, recipient = _address(to)
    boundary = f"=_kinerja_{secrets.token_hex(12)}"
    key = _clean(dedupe_key)
    headers = [
        f"From: {sender_header}",
        f"To: {to_header}",
        *([f"Reply-To: {_address(cfg['SMTP_REPLY_TO'])[0]}"] if cfg.get("SMTP_REPLY_TO") else []),
        f"Subject: {_header(subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {make_msgid(idstring=key.replace(':', '.')[:60], domain='kinerja.local')}",
        f"X-Kinerja-Dedupe-Key: {key}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    data = (
        CRLF.join(headers)
        + CRLF
        + CRLF
        + f"--{boundary}{CRLF}{_part('text/plain', text)}"
        + f"--{boundary}{CRLF}{_part('text/html', html)}"
        + f"--{boundary}--{CRLF}"
    )
    return Outgoing(sender, [recipient], data.encode("ascii"))


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


def send(msg: Outgoing) -> None:
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

    def send(self, msg: Outgoing) -> None:
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
            self.client.sendmail(msg.sender, msg.recipients, msg.data)
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
