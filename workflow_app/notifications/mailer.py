"""Send email over SMTP (plain, STARTTLS or implicit TLS), configured by SMTP_* settings."""

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


def send(msg: EmailMessage) -> None:
    cfg = current_app.config
    host, port, mode = cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), (cfg.get("SMTP_TLS") or "none").lower()
    timeout = float(cfg.get("SMTP_TIMEOUT", 15))
    if mode == "ssl":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if mode == "starttls":
            client.starttls(context=ssl.create_default_context())
        if cfg.get("SMTP_USER"):
            client.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        client.send_message(msg)
