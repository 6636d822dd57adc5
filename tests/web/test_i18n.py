"""The catalogues: Bahasa Indonesia by default, English on request, nothing left untranslated."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from state_machines import APPRAISAL, CYCLE
from tests.web.conftest import text_of
from workflow_app.i18n import N_, Message

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "workflow_app" / "translations"


def catalogue(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


def extracted(tmp_path) -> set[str]:
    """What `make translations` would collect from the code today."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    with open(pot, "rb") as fh:
        return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fh) if m.id}


def test_every_string_of_the_code_is_translated_into_indonesian(tmp_path):
    ids = extracted(tmp_path)
    po = catalogue("id")
    missing = sorted(i for i in ids if not ((m := po.get(i[1], context=i[0])) and m.string and not m.fuzzy))
    assert missing == [], f"{len(missing)} strings lack an Indonesian translation (make translations)"


def test_placeholders_survive_translation():
    for message in catalogue("id"):
        if not message.id or not message.string or isinstance(message.id, tuple):
            continue
        for style in (r"%\(\w+\)s", r"\{\w+\}"):
            assert sorted(re.findall(style, message.id)) == sorted(re.findall(style, message.string)), (
                message.id
            )


@pytest.mark.parametrize("workflow", [APPRAISAL, CYCLE], ids=["appraisal", "cycle"])
def test_state_machine_labels_in_the_catalogue_agree_with_the_definition(workflow):
    po = catalogue("id")
    labels = [s.label for s in workflow.states.values()] + [t.label for t in workflow.transitions.values()]
    for label in labels:
        entry = po.get(label["en"], context=workflow.name)
        assert entry is not None and entry.string == label["id"], label


def test_predikat_names_in_the_catalogue_agree_with_the_scoring_scheme():
    from workflow_app.scoring import PREDIKAT_LABELS

    po = catalogue("id")
    for label in PREDIKAT_LABELS.values():
        entry = po.get(label["en"], context="scoring")
        assert entry is not None and entry.string == label["id"], label


def test_pages_speak_indonesian_by_default_and_english_on_request(web):
    web.lang = None
    page = text_of(web.get("/login"))
    assert '<html lang="id">' in page and "Masuk" in page
    english = text_of(web.get("/login", headers={"Accept": "text/html", "Accept-Language": "en"}))
    assert '<html lang="en">' in english and "Sign in to Kinerja" in english


def test_the_language_switch_sticks_for_the_browser(web):
    web.lang = None
    r = web.post("/language", {"lang": "en", "next": "/login"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert '<html lang="en">' in text_of(web.get("/login"))
    web.post("/language", {"lang": "id", "next": "/login"})
    assert '<html lang="id">' in text_of(web.get("/login"))


def test_the_language_switch_refuses_other_hosts(web):
    r = web.post("/language", {"lang": "en", "next": "https://evil.example/"})
    assert r.status_code == 302 and "evil" not in r.headers["Location"]


def test_a_service_message_keeps_its_english_and_translates_with_its_values(app):
    from flask_babel import force_locale

    from workflow_app.web.i18n import localize

    message = N_("Use at least 8 characters.")
    assert isinstance(message, Message) and message == "Use at least 8 characters."
    with app.test_request_context("/"), force_locale("id"):
        assert localize(message) == catalogue("id").get("Use at least 8 characters.").string
        # marshmallow's formatted messages are matched to their template and refilled
        assert localize("Longer than maximum length 60.") == catalogue("id").get(
            "Longer than maximum length {max}."
        ).string.format(max="60")


def test_a_state_or_event_named_in_a_message_is_shown_as_its_label(app):
    from flask_babel import force_locale

    from workflow_app.web.i18n import localize

    message = N_("'{event}' cannot be fired from state '{state}'.", event="approve_plan", state="closed")
    with app.test_request_context("/"), force_locale("id"):
        assert localize(message) == "'Setujui SKP' tidak dapat dijalankan dari status 'Selesai'."
    assert str(message) == "'approve_plan' cannot be fired from state 'closed'."  # the API's text


def test_an_empty_required_text_reads_as_required(app):
    from flask_babel import force_locale

    from workflow_app.web.i18n import localize

    with app.test_request_context("/"), force_locale("en"):
        assert localize("Length must be between 1 and 2000.") == "Required, at most 2000 characters."
        assert localize("Length must be between 3 and 20.") == "Length must be between 3 and 20."
