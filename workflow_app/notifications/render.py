"""Render a notification for its recipient's language: subject, plain text and HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from jinja2 import Environment, PackageLoader, select_autoescape

from state_machines import APPRAISAL
from workflow_app.notifications.catalog import KINDS
from workflow_app.scoring import PREDIKAT_LABELS

_env_html = Environment(
    loader=PackageLoader("workflow_app", "templates"), autoescape=select_autoescape(["html"])
)
_env_text = Environment(loader=PackageLoader("workflow_app", "templates"), autoescape=False)

MONTHS_ID = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]
WORDS = {
    "id": {
        "greeting": "Yth. {name},",
        "open": "Buka di Kinerja",
        "footer": "Pesan ini dikirim otomatis oleh Kinerja. Ubah bahasa atau ringkasan harian di profil Anda.",
        "upheld": "dikuatkan",
        "amended": "diubah",
        "plt": "Plt.",
        "plh": "Plh.",
        "nobody": "-",
    },
    "en": {
        "greeting": "Dear {name},",
        "open": "Open in Kinerja",
        "footer": "This message was sent automatically by Kinerja. Change language or daily digest in your profile.",
        "upheld": "upheld",
        "amended": "amended",
        "plt": "acting official (Plt)",
        "plh": "daily acting official (Plh)",
        "nobody": "-",
    },
}


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    lang: str


def format_date(value, lang: str) -> str:
    if not value:
        return WORDS[lang]["nobody"]
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if lang == "id":
        return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"
    return day.strftime("%d %B %Y").lstrip("0")


class _Safe(dict):
    def __missing__(self, key):
        return "-"


def fields_for(context: dict, lang: str) -> dict:
    words = WORDS[lang]
    values = _Safe({k: v for k, v in context.items() if v is not None})
    values["due"] = format_date(context.get("due"), lang)
    for key in ("start", "end"):
        if context.get(key):
            values[key] = format_date(context[key], lang)
    if context.get("predikat"):
        values["predikat"] = PREDIKAT_LABELS[context["predikat"]][lang]
    if context.get("decision"):
        values["decision"] = words[context["decision"]]
    if context.get("state"):
        values["task"] = APPRAISAL.states[context["state"]].label[lang]
    if context.get("delegation_kind"):
        values["delegation_kind"] = words[context["delegation_kind"]]
    values.setdefault("comment", "-")
    return values


def link_for(context: dict) -> str | None:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if context.get("appraisal_id"):
        return f"{base}/appraisals/{context['appraisal_id']}"
    if context.get("cycle_id"):
        return f"{base}/cycles/{context['cycle_id']}"
    return f"{base}/"


def subject_and_body(kind: str, context: dict, lang: str) -> tuple[str, str]:
    k = KINDS[kind]
    values = fields_for(context, lang)
    return k.subject[lang].format_map(values), k.body[lang].format_map(values)


def render(kind: str, context: dict, lang: str, name: str, items: list[dict] | None = None) -> Rendered:
    lang = lang if lang in WORDS else "id"
    subject, body = subject_and_body(kind, context, lang)
    words = WORDS[lang]
    data = {
        "lang": lang,
        "subject": subject,
        "greeting": words["greeting"].format(name=name),
        "body": body,
        "link": None if items else link_for(context),
        "open_label": words["open"],
        "footer": words["footer"],
        "profile_link": current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/profile",
        "items": items or [],
    }
    return Rendered(
        subject=subject,
        text=_env_text.get_template("email/message.txt").render(**data),
        html=_env_html.get_template("email/message.html").render(**data),
        lang=lang,
    )
