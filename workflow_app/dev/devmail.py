"""/dev/mail: read the local mail sink's messages (development profile only)."""

from __future__ import annotations

import os

from flask import Blueprint, abort, current_app, render_template_string

from workflow_app.dev.mailsink import read_messages

bp = Blueprint("devmail", __name__)

PAGE = """<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8"><title>Kotak surat lokal — Kinerja</title>
<style>body{font-family:Arial,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.4rem;text-align:left}
pre{white-space:pre-wrap;background:#f5f5f5;padding:.5rem}</style></head><body>
<h1>Kotak surat lokal (mail sink)</h1>
<p>{{ messages|length }} pesan, terbaru di atas. Folder: <code>{{ folder }}</code></p>
{% for m in messages %}
<details><summary><strong>{{ m.subject }}</strong> — kepada {{ m.to }} — {{ m.date }}</summary>
<pre>{{ m.text }}</pre></details>
{% else %}<p>Belum ada pesan.</p>{% endfor %}
</body></html>"""


def mail_dir() -> str:
    return os.environ.get("MAIL_SINK_DIR") or current_app.config.get("MAIL_SINK_DIR") or ""


@bp.route("/dev/mail")
def inbox():
    folder = mail_dir()
    if not folder:
        abort(404)
    return render_template_string(PAGE, messages=read_messages(folder), folder=folder)
