"""The employee's plan (/appraisals/<id>/plan) and progress entry (/appraisals/<id>/progress)."""

from __future__ import annotations

import re

import pytest

from tests.test_transition_matrix import staff_appraisal
from tests.web.conftest import text_of
from tests.web.test_appraisal_page import appraisal_in, english_people, field_error, row, snapshot, summary_of
from workflow_app.models import BERAKHLAK

ITEM_FIELDS = ("kind", "leader_rhk", "rhk", "aspect", "indicator", "target_value", "target_unit")


def item(n: int, **overrides) -> dict:
    values = {
        "kind": "utama" if n == 1 else "tambahan",
        "leader_rhk": "Meningkatnya kualitas layanan",
        "rhk": f"Tersusunnya laporan {n}",
        "aspect": "kuantitas",
        "indicator": "Jumlah laporan tepat waktu",
        "target_value": "12",
        "target_unit": "laporan",
    }
    return values | overrides


def plan_form(version, items: list[dict], behaviours: dict | None = None, action: str = "save") -> list:
    pairs = [("version", str(version)), ("action", action)]
    for i, values in enumerate(items):
        pairs += [(f"items-{i}-{name}", values.get(name, "")) for name in ITEM_FIELDS]
    if behaviours is None:
        behaviours = {v: f"Ekspektasi {v}" for v in BERAKHLAK}
    pairs += [(f"behaviours-{v}", behaviours.get(v, "")) for v in BERAKHLAK]
    return pairs


def shown_rhks(html: str) -> list[str]:
    return re.findall(r'<textarea [^>]*name="items-\d+-rhk"[^>]*>([^<]*)</textarea>', html)


def saved_rhks(appraisal_id: int) -> list[str]:
    return [i.rhk for i in row(appraisal_id).plan_items]


@pytest.fixture
def people(org, client, web):
    return english_people(org, client, web)


@pytest.fixture
def drafted(people):
    return staff_appraisal(people).id


# --- the page ------------------------------------------------------------------------------------


def test_an_empty_plan_shows_one_blank_item_and_the_seven_values(web, people, drafted):
    web.login(people.u_staff)
    r = web.get(f"/appraisals/{drafted}/plan")
    assert r.status_code == 200
    html = text_of(r)
    assert html.count("<h1") == 1
    assert shown_rhks(html) == [""]
    for value in BERAKHLAK:
        assert f'name="behaviours-{value}"' in html
    # Enter in a field presses the first submit button: it saves, never removes or moves.
    form = html[html.index(f'action="/appraisals/{drafted}/plan"') :]
    assert re.search(r"<button [^>]*>", form).group(0).count('value="save"') == 1


def test_add_reorder_remove_round_trip(web, people, drafted):
    web.login(people.u_staff)
    version = row(drafted).version

    # "Add item" shows another row and saves nothing.
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(version, [item(1)], action="add"))
    assert r.status_code == 200
    assert shown_rhks(text_of(r)) == ["Tersusunnya laporan 1", ""]
    assert "Not saved yet" in text_of(r)
    assert saved_rhks(drafted) == []

    # Save three items; the empty row is left out.
    items = [item(1), item(2), item(3), {"kind": "utama", "aspect": "kuantitas"}]
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(version, items))
    assert r.status_code == 303, summary_of(text_of(r))
    assert r.headers["Location"] == f"/appraisals/{drafted}#plan"
    assert saved_rhks(drafted) == ["Tersusunnya laporan 1", "Tersusunnya laporan 2", "Tersusunnya laporan 3"]
    a = row(drafted)
    assert {b.value: b.expectation for b in a.behaviours} == {v: f"Ekspektasi {v}" for v in BERAKHLAK}
    assert a.plan_items[0].leader_rhk == "Meningkatnya kualitas layanan"

    # The page shows what was saved; move item 3 up, then save.
    html = text_of(web.get(f"/appraisals/{drafted}/plan"))
    assert shown_rhks(html) == saved_rhks(drafted)
    version = row(drafted).version
    items = [item(1), item(2), item(3)]
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(version, items, action="up-2"))
    assert shown_rhks(text_of(r)) == [
        "Tersusunnya laporan 1",
        "Tersusunnya laporan 3",
        "Tersusunnya laporan 2",
    ]
    r = web.post(
        f"/appraisals/{drafted}/plan", plan_form(version, [item(1), item(2), item(3)], action="down-0")
    )
    assert shown_rhks(text_of(r)) == [
        "Tersusunnya laporan 2",
        "Tersusunnya laporan 1",
        "Tersusunnya laporan 3",
    ]
    assert saved_rhks(drafted) == ["Tersusunnya laporan 1", "Tersusunnya laporan 2", "Tersusunnya laporan 3"]
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(version, [item(1), item(3), item(2)]))
    assert r.status_code == 303
    assert saved_rhks(drafted) == ["Tersusunnya laporan 1", "Tersusunnya laporan 3", "Tersusunnya laporan 2"]
    assert [i.position for i in row(drafted).plan_items] == [1, 2, 3]

    # Remove the middle one, then save.
    version = row(drafted).version
    r = web.post(
        f"/appraisals/{drafted}/plan", plan_form(version, [item(1), item(3), item(2)], action="remove-1")
    )
    assert shown_rhks(text_of(r)) == ["Tersusunnya laporan 1", "Tersusunnya laporan 2"]
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(version, [item(1), item(2)]))
    assert r.status_code == 303
    assert saved_rhks(drafted) == ["Tersusunnya laporan 1", "Tersusunnya laporan 2"]

    # The saved plan can be submitted from the appraisal page.
    html = text_of(web.get(f"/appraisals/{drafted}"))
    assert "Tersusunnya laporan 2" in html and f'action="/appraisals/{drafted}/events/submit_plan"' in html


def test_structural_buttons_answer_htmx_with_the_editor_alone(web, people, drafted):
    web.login(people.u_staff)
    version = row(drafted).version
    r = web.post(
        f"/appraisals/{drafted}/plan",
        plan_form(version, [item(1)], action="add"),
        headers={"HX-Request": "true", "Accept": "text/html"},
    )
    assert r.status_code == 200
    html = text_of(r)
    assert html.lstrip().startswith('<div id="plan-editor"') and "<html" not in html
    assert shown_rhks(html) == ["Tersusunnya laporan 1", ""]
    # The page's buttons carry the htmx attributes (the save button does not).
    page = text_of(web.get(f"/appraisals/{drafted}/plan"))
    assert f'value="add" hx-post="/appraisals/{drafted}/plan" hx-target="#plan-editor"' in page
    assert not re.search(r'value="save" hx-post', page)


def test_field_errors_name_the_item(web, people, drafted):
    web.login(people.u_staff)
    before = snapshot(drafted)
    items = [item(1), item(2, rhk="", indicator="Tanpa RHK"), item(3, target_value="9" * 61)]
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(before[1], items, {"akuntabel": "x" * 2001}))
    assert r.status_code == 422
    html = text_of(r)
    assert field_error(html, "items-1-rhk")
    assert "Longer than maximum length" in field_error(html, "items-2-target_value")
    assert field_error(html, "behaviours-akuntabel")
    summary = summary_of(html)
    for name in ("items-1-rhk", "items-2-target_value", "behaviours-akuntabel"):
        assert f'href="#f-{name}"' in summary
    assert shown_rhks(html) == ["Tersusunnya laporan 1", "", "Tersusunnya laporan 3"]
    assert snapshot(drafted) == before
    assert saved_rhks(drafted) == []


def test_bad_choices_are_refused(web, people, drafted):
    web.login(people.u_staff)
    before = snapshot(drafted)
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(before[1], [item(1, kind="wajib", aspect="mutu")]))
    assert r.status_code == 422
    assert field_error(text_of(r), "items-0-kind") and field_error(text_of(r), "items-0-aspect")
    assert snapshot(drafted) == before


def test_stale_version_is_409(web, people, drafted):
    web.login(people.u_staff)
    before = snapshot(drafted)
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(before[1] + 1, [item(1)]))
    assert r.status_code == 409
    assert "Someone else changed this appraisal first" in summary_of(text_of(r))
    assert "Tersusunnya laporan 1" in text_of(r)  # what was typed is kept
    assert snapshot(drafted) == before


def test_no_csrf_token_is_400_and_nothing_changes(web, people, drafted):
    web.login(people.u_staff)
    before = snapshot(drafted)
    r = web.post(f"/appraisals/{drafted}/plan", plan_form(before[1], [item(1)]), csrf=False)
    assert r.status_code == 400
    assert snapshot(drafted) == before and saved_rhks(drafted) == []


def test_who_may_edit_the_plan(web, people):
    aid = appraisal_in(people, "plan_submitted")
    # The plan is not editable once submitted: the page says so, a POST is refused (409).
    web.login(people.u_staff)
    html = text_of(web.get(f"/appraisals/{aid}/plan"))
    assert "It cannot be changed now." in html and 'name="action"' not in html
    before = snapshot(aid)
    r = web.post(f"/appraisals/{aid}/plan", plan_form(before[1], [item(1)]))
    assert r.status_code == 409
    assert "plan_drafted" in summary_of(text_of(r))
    assert snapshot(aid) == before
    # HR sees the appraisal but does not edit plans (403); an outsider gets 404.
    aid = appraisal_in(people, "plan_drafted")
    before = snapshot(aid)
    web.login(people.u_hr)
    assert "It cannot be changed now." in text_of(web.get(f"/appraisals/{aid}/plan"))
    assert web.post(f"/appraisals/{aid}/plan", plan_form(before[1], [item(1)])).status_code == 403
    web.login(people.u_outsider)
    assert web.get(f"/appraisals/{aid}/plan").status_code == 404
    assert web.post(f"/appraisals/{aid}/plan", plan_form(before[1], [item(1)])).status_code == 404
    assert snapshot(aid) == before


# --- progress and evidence -------------------------------------------------------------------------


def progress_form(version, rows: list[tuple[int, str, str]]) -> list:
    pairs = [("version", str(version))]
    for i, (item_id, realisation, evidence) in enumerate(rows):
        pairs += [
            (f"items-{i}-item_id", str(item_id)),
            (f"items-{i}-realisation", realisation),
            (f"items-{i}-evidence", evidence),
        ]
    return pairs


def test_progress_with_evidence_links(web, people):
    aid = appraisal_in(people, "final_review")
    ids = [i.id for i in row(aid).plan_items]
    web.login(people.u_staff)
    html = text_of(web.get(f"/appraisals/{aid}/progress"))
    assert "Final realisation" in html and 'name="items-1-evidence"' in html
    rows = [
        (ids[0], "12 laporan", "https://arsip.example.go.id/1\n\nhttps://arsip.example.go.id/2"),
        (ids[1], "", ""),  # left as it was
    ]
    r = web.post(f"/appraisals/{aid}/progress", progress_form(row(aid).version, rows))
    assert r.status_code == 303, summary_of(text_of(r))
    items = row(aid).plan_items
    assert items[0].evidence == ["https://arsip.example.go.id/1", "https://arsip.example.go.id/2"]
    assert items[1].final_realisation == "12 laporan"  # unchanged from before
    page = text_of(web.get(f"/appraisals/{aid}"))
    assert '<a href="https://arsip.example.go.id/2" rel="noopener noreferrer"' in page


def test_progress_bad_link_is_shown_by_its_item(web, people):
    aid = appraisal_in(people, "midyear_review")
    ids = [i.id for i in row(aid).plan_items]
    web.login(people.u_staff)
    before = snapshot(aid)
    rows = [(ids[0], "", ""), (ids[1], "5 laporan", "https://ok.example.go.id/1\nbukan tautan")]
    r = web.post(f"/appraisals/{aid}/progress", progress_form(before[1], rows))
    assert r.status_code == 422
    html = text_of(r)
    assert field_error(html, "items-1-evidence") == "Link 2: Not a valid URL."
    assert 'href="#f-items-1-evidence"' in summary_of(html)
    assert snapshot(aid) == before


def test_progress_outside_the_reviews_is_refused(web, people, drafted):
    web.login(people.u_staff)
    assert "It cannot be recorded now." in text_of(web.get(f"/appraisals/{drafted}/progress"))
    before = snapshot(drafted)
    r = web.post(f"/appraisals/{drafted}/progress", progress_form(before[1], [(1, "x", "")]))
    assert r.status_code == 409
    assert snapshot(drafted) == before


def test_progress_without_csrf_is_400(web, people):
    aid = appraisal_in(people, "midyear_review")
    ids = [i.id for i in row(aid).plan_items]
    web.login(people.u_staff)
    before = snapshot(aid)
    r = web.post(f"/appraisals/{aid}/progress", progress_form(before[1], [(ids[0], "7", "")]), csrf=False)
    assert r.status_code == 400
    assert snapshot(aid) == before
