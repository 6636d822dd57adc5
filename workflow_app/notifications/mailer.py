"""Send email over SMTP (plain, STARTTLS or implicit TLS), configured by SMTP_* settings.

``Connection`` sends many messages over one SMTP session (one connect, one login): the batch
sender's. A message the server refuses fails alone and the session goes on; a dropped session
is opened again for the next message; a server that cannot be reached fails the rest of the
batch at once rather than making each message wait for the connect timeout.
"""

from __future__ import annotations

import smtplib
import ssl
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, getaddresses, make_msgid, parseaddr

from flask import current_app


def _header(value: str) -> str | Header:
    """A header value, RFC 2047-encoded when it is not plain ASCII."""
    return value if value.isascii() else Header(value, "utf-8")


def _address(value: str) -> str | Header:
    """An address header: the display name encoded when needed, the address as is."""
    if value.isascii():
        return value
    name, addr = parseaddr(value)
    return f"{Header(name, 'utf-8').encode()} <{addr}>" if addr else Header(value, "utf-8")


def build_message(to: str, subject: str, text: str, html: str, dedupe_key: str) -> Message:
    """A text + HTML message (the classic ``email.mime`` API: about five times cheaper to build
    and flatten than ``EmailMessage`` with the default policy, which counts at batch rates)."""
    cfg = current_app.config
    msg = MIMEMultipart("alternative")
    msg["From"] = _address(cfg["SMTP_SENDER"])
    msg["To"] = _address(to)
    if cfg.get("SMTP_REPLY_TO"):
        msg["Reply-To"] = _address(cfg["SMTP_REPLY_TO"])
    msg["Subject"] = _header(subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=dedupe_key.replace(":", ".")[:60], domain="kinerja.local")
    msg["X-Kinerja-Dedupe-Key"] = dedupe_key
    msg.attach(MIMEText(text, "plain", "utf-8"))
    msg.attach(MIMEText(html, "html", "utf-8"))
    return msg


def envelope(msg: Message) -> tuple[str, list[str]]:
    """The envelope sender and recipients of a message built by ``build_message``."""
    sender = parseaddr(str(msg["From"]))[1]
    recipients = [addr for _, addr in getaddresses([str(v) for v in msg.get_all("To", [])]) if addr]
    return sender, recipients


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


def send(msg: Message) -> None:
    """Send one message over a session of its own."""
    with Connection() as connection:
        connection.send(msg)


# Lines end in CRLF on the wire (smtplib sends bytes as they are).
_SMTP_POLICY = compat32.clone(linesep="\r\n")
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

    def send(self, msg: Message) -> None:
        if self.unreachable is not None:
            raise self.unreachable
        if self.client is None:
            try:
                self.client = connect()
            except Exception as exc:
                self.unreachable = exc
                raise
            self.opened += 1
        sender, recipients = envelope(msg)
        try:
            self.client.sendmail(sender, recipients, msg.as_bytes(policy=_SMTP_POLICY))
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
