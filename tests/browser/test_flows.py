"""The flows issue 8 names, in a real browser: each person does what the emails ask of them.

1. An employee follows an email deep link while signed out, signs in, drafts and submits a plan.
2. The assessor approves it from the inbox.
3. A bulk approval with a result per item.
4. Scoring with the predikat shown live (htmx) as the ratings are chosen.
5. HR finds a stuck appraisal in monitoring and reassigns it.
6. The language switch on a signed-in page.
7. The phone width (390 px): inbox, appraisal page, plan editor, monitoring.

Every page these flows visit is checked with axe (no serious or critical violation) and
photographed into instance/screenshots/; the ``guard`` fixture fails a test on a request to
another host, a console error (a CSP violation is one) or a 5xx answer.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_scroll,
    path_of,
    shot,
    sign_in,
    submit_sign_in,
)
from workflow_app.models import BERAKHLAK

# --- small helpers --------------------------------------------------------------------------------


def html_lang(page) -> str:
    return page.locator("html").get_attribute("lang")


def check(page, name: str) -> None:
    """Every page of a flow: no serious or critical axe violation, and a screenshot."""
    shot(page, name)  # first: the picture of a page axe fails is the one to look at
    assert_accessible(page)


def fire(page, appraisal_id: int, event: str):
    """Press the button of the event's form on the appraisal page (POST → redirect → GET)."""
    form = page.locator(f'form[action="/appraisals/{appraisal_id}/events/{event}"]')
    with page.expect_navigation() as navigation:
        form.locator('button[type="submit"]').click()
    return navigation.value


def open_appraisal_from_inbox(page, appraisal_id: int) -> None:
    link = page.locator(f'#inbox a[href="/appraisals/{appraisal_id}"]')
    expect(link).to_have_count(1)
    link.click()
    page.wait_for_url(f"**/appraisals/{appraisal_id}")


def switch_language(page, code: str):
    form = page.locator('form[action="/language"]')
    form.locator('select[name="lang"]').select_option(code)
    with page.expect_navigation() as navigation:
        form.locator('button[type="submit"]').click()
    return navigation.value


def assessor_of(live_server, appraisal_id: int) -> int | None:
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal

    return live_server.run(lambda: db.session.get(Appraisal, appraisal_id).assessor_id)


def predikat_of(live_server, appraisal_id: int, hasil_kerja: str, perilaku: str) -> str:
    """The predikat the appraisal's own scoring scheme gives two ratings (what the page must show)."""
    from workflow_app.extensions import db
    from workflow_app.models import Appraisal
    from workflow_app.scoring import scheme

    def look():
        name = db.session.get(Appraisal, appraisal_id).scoring_scheme
        return scheme(name).predikat(hasil_kerja, perilaku)

    return live_server.run(look)


def is_predikat_request(response) -> bool:
    return response.request.method == "GET" and "/predikat" in response.url


# --- 1. the employee: email link → sign in → plan → submit --------------------------------------


PLAN_ITEMS = [
    {
        "kind": "utama",
        "aspect": "kuantitas",
        "leader_rhk": "Meningkatnya kualitas layanan rujukan",
        "rhk": "Tersusunnya laporan rujukan pasien bulanan",
        "indicator": "Jumlah laporan rujukan yang disusun tepat waktu",
        "target_value": "12",
        "target_unit": "laporan",
    },
    {
        "kind": "tambahan",
        "aspect": "kualitas",
        "leader_rhk": "",
        "rhk": "Terlaksananya sosialisasi prosedur rujukan",
        "indicator": "Persentase puskesmas yang mengikuti sosialisasi",
        "target_value": "90",
        "target_unit": "persen",
    },
]


def fill_plan_item(page, index: int, item: dict) -> None:
    row = page.locator(f"#item-{index}")
    for name in ("kind", "aspect"):
        row.locator(f"#f-items-{index}-{name}").select_option(item[name])
    for name in ("leader_rhk", "rhk", "indicator", "target_value", "target_unit"):
        row.locator(f"#f-items-{index}-{name}").fill(item[name])


def test_employee_follows_the_email_link_drafts_and_submits_the_plan(page, seed, live_server):
    world = seed()  # every appraisal of the dinas launched, in plan_drafted, without a plan
    aid = world.appraisal("staff")
    target = f"/appraisals/{aid}"

    # The email's deep link, signed out: the sign-in page, which remembers where to go.
    page.goto(target)
    assert path_of(page.url) == "/login"
    assert parse_qs(urlsplit(page.url).query).get("next") == [target]
    check(page, "login-deep-link")
    submit_sign_in(page, world.login("employee").username, world.login("employee").password)
    assert path_of(page.url) == target
    expect(page.locator("h1")).to_contain_text(world.login("employee").name)
    check(page, "appraisal-plan-drafted")

    # Submitting the empty plan: the guard refuses, the message is at the top, nothing changed.
    response = fire(page, aid, "submit_plan")
    assert response.status in (409, 422)
    expect(page.locator(".kj-error-summary").first).to_be_visible()
    assert live_server.state_of(aid) == "plan_drafted"
    check(page, "appraisal-submit-refused")

    # The plan editor.
    page.locator(f'#plan a[href="/appraisals/{aid}/plan"]').click()
    page.wait_for_url(f"**/appraisals/{aid}/plan")
    expect(page.locator("#plan-editor fieldset.kj-plan-item")).to_have_count(1)  # one empty row to start
    fill_plan_item(page, 0, PLAN_ITEMS[0])
    # "Add item" is an htmx partial update: the editor comes back with a second row, the first
    # one's text kept (nothing is saved yet).
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/plan")) as answer:
        page.locator('#plan-editor button[name="action"][value="add"]').click()
    assert answer.value.status == 200
    expect(page.locator("#plan-editor fieldset.kj-plan-item")).to_have_count(2)
    expect(page.locator("#f-items-0-rhk")).to_have_value(PLAN_ITEMS[0]["rhk"])
    expect(page.locator("#plan-editor [role=status]")).to_be_visible()  # "not saved yet"
    assert path_of(page.url) == f"/appraisals/{aid}/plan"
    fill_plan_item(page, 1, PLAN_ITEMS[1])
    for value in BERAKHLAK:
        page.locator(f"#f-behaviours-{value}").fill(
            f"Menunjukkan perilaku {value.replace('_', ' ')} dalam tugas"
        )
    check(page, "plan-editor")

    with page.expect_navigation():
        page.locator('#plan-editor button[name="action"][value="save"]').first.click()
    assert path_of(page.url) == target  # back on the appraisal, at its plan
    expect(page.locator(".kj-flashes")).to_be_visible()
    expect(page.locator(".kj-error-summary")).to_have_count(0)
    plan = page.locator("#plan")
    for item in PLAN_ITEMS:
        expect(plan).to_contain_text(item["rhk"])
    expect(plan.locator(".kj-facts dt")).to_have_count(len(BERAKHLAK))
    assert live_server.state_of(aid) == "plan_drafted"
    check(page, "appraisal-plan-saved")

    # Submit it.
    fire(page, aid, "submit_plan")
    assert path_of(page.url) == target
    expect(page.locator(".kj-error-summary")).to_have_count(0)
    assert live_server.state_of(aid) == "plan_submitted"
    expect(page.locator(f'form[action="/appraisals/{aid}/events/submit_plan"]')).to_have_count(0)
    expect(page.locator("#h-history")).to_be_visible()
    expect(page.locator("#history")).to_contain_text(world.login("employee").name)
    check(page, "appraisal-plan-submitted")


# --- 2. the assessor approves it from the inbox ---------------------------------------------------


def test_assessor_approves_the_plan_from_the_inbox(page, seed, live_server):
    world = seed({"staff": "plan_submitted"})
    aid = world.appraisal("staff")

    sign_in(page, world.login("assessor"))
    assert path_of(page.url) == "/"
    row = page.locator("#inbox tr", has=page.locator(f'a[href="/appraisals/{aid}"]'))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(world.login("employee").name)
    check(page, "inbox")

    open_appraisal_from_inbox(page, aid)
    expect(page.locator(f'form[action="/appraisals/{aid}/events/approve_plan"]')).to_have_count(1)
    expect(page.locator(f'form[action="/appraisals/{aid}/events/return_plan"]')).to_have_count(1)
    check(page, "appraisal")

    form = page.locator(f'form[action="/appraisals/{aid}/events/approve_plan"]')
    form.locator('textarea[name="comment"]').fill("Rencana kinerja sudah sesuai, disetujui.")
    fire(page, aid, "approve_plan")
    assert path_of(page.url) == f"/appraisals/{aid}"
    expect(page.locator(".kj-error-summary")).to_have_count(0)
    assert live_server.state_of(aid) == "plan_approved"
    expect(page.locator("#history")).to_contain_text("Rencana kinerja sudah sesuai, disetujui.")
    check(page, "appraisal-plan-approved")

    # Done: the inbox no longer lists it.
    page.locator('.kj-nav a[href="/"]').click()
    page.wait_for_url(lambda url: path_of(url) == "/")
    expect(page.locator(f'#inbox a[href="/appraisals/{aid}"]')).to_have_count(0)
    check(page, "inbox-empty")


# --- 3. bulk approval ---------------------------------------------------------------------------


def test_bulk_approval_shows_a_result_per_item(page, seed, live_server):
    world = seed({"staff": "plan_submitted", "peer": "plan_submitted"})
    ids = [world.appraisal("staff"), world.appraisal("peer")]

    sign_in(page, world.login("assessor"))
    for aid in ids:
        page.locator(f"#pick-{aid}").check()
    page.locator("#inbox #f-comment").fill("Disetujui bersama")
    check(page, "inbox-bulk-ticked")

    # htmx posts the form and swaps the inbox region in place (no navigation).
    with page.expect_response(lambda r: r.request.method == "POST" and path_of(r.url) == "/bulk") as answer:
        page.locator('#inbox button[name="event"][value="approve_plan"]').click()
    assert answer.value.status == 200
    result = page.locator("#bulk-result")
    expect(result).to_be_visible()
    expect(result.locator("tbody tr")).to_have_count(2)
    expect(result.locator("tbody tr.kj-result-ok")).to_have_count(2)
    expect(result.locator("tbody tr.kj-result-failed")).to_have_count(0)
    for aid in ids:
        expect(result.locator(f'a[href="/appraisals/{aid}"]')).to_have_count(1)
    assert [live_server.state_of(aid) for aid in ids] == ["plan_approved", "plan_approved"]
    # Neither waits on the assessor any more.
    for aid in ids:
        expect(page.locator(f"#pick-{aid}")).to_have_count(0)
    check(page, "inbox-bulk-result")


def test_bulk_without_a_tick_is_refused_by_the_field(page, seed, live_server):
    world = seed({"staff": "plan_submitted"})
    aid = world.appraisal("staff")
    sign_in(page, world.login("assessor"))
    with page.expect_response(lambda r: r.request.method == "POST" and path_of(r.url) == "/bulk") as answer:
        page.locator('#inbox button[name="event"][value="approve_plan"]').click()
    assert answer.value.status == 422
    expect(page.locator("#inbox .kj-error-summary")).to_be_visible()
    assert live_server.state_of(aid) == "plan_submitted"
    check(page, "inbox-bulk-refused")


# --- 4. scoring, the predikat shown live --------------------------------------------------------


def test_scoring_shows_the_predikat_live_and_asks_for_a_justification(page, seed, live_server):
    world = seed({"staff": "final_review"})
    aid = world.appraisal("staff")
    sign_in(page, world.login("assessor"), next=f"/appraisals/{aid}")
    assert path_of(page.url) == f"/appraisals/{aid}"

    form = page.locator("#event-score")
    output = form.locator("output#predikat-score")
    expect(output).to_have_attribute("aria-live", "polite")
    expect(output.locator("strong.kj-predikat")).to_have_count(0)  # nothing chosen yet
    check(page, "scoring")

    hasil_kerja = form.locator("#f-score-rating_hasil_kerja")
    perilaku = form.locator("#f-score-rating_perilaku")
    with page.expect_response(is_predikat_request):
        hasil_kerja.select_option("sesuai")
    expect(output.locator("strong.kj-predikat")).to_have_count(0)  # one rating is not enough
    with page.expect_response(is_predikat_request):
        perilaku.select_option("sesuai")
    meets = predikat_of(live_server, aid, "sesuai", "sesuai")
    expect(output.locator(f"strong.kj-predikat-{meets}")).to_have_count(1)
    text_meets = output.inner_text()

    with page.expect_response(is_predikat_request):
        hasil_kerja.select_option("di_atas")
    with page.expect_response(is_predikat_request):
        perilaku.select_option("di_atas")
    above = predikat_of(live_server, aid, "di_atas", "di_atas")
    assert above != meets
    expect(output.locator(f"strong.kj-predikat-{above}")).to_have_count(1)
    assert output.inner_text() != text_meets
    assert live_server.state_of(aid) == "final_review"  # choosing is not submitting
    check(page, "scoring-predikat")

    # Above expectation needs a justification: refused by the field, nothing changed.
    response = fire(page, aid, "score")
    assert response.status == 422
    summary = page.locator(".kj-error-summary").first
    expect(summary).to_be_visible()
    expect(page.locator("#f-score-justification.is-invalid")).to_have_count(1)
    # The chosen ratings and their predikat are shown again.
    expect(page.locator("#f-score-rating_hasil_kerja")).to_have_value("di_atas")
    expect(page.locator(f"#predikat-score strong.kj-predikat-{above}")).to_have_count(1)
    assert live_server.state_of(aid) == "final_review"
    check(page, "scoring-justification-missing")

    page.locator("#f-score-justification").fill(
        "Seluruh target terlampaui dan menjadi rujukan bagi seksi lain; perilaku kerja menjadi teladan."
    )
    response = fire(page, aid, "score")
    assert response.status == 200
    expect(page.locator(".kj-error-summary")).to_have_count(0)
    assert live_server.state_of(aid) == "scored"
    expect(page.locator(f"#ratings strong.kj-predikat-{above}")).to_be_visible()
    expect(page.locator("#ratings")).to_contain_text("Seluruh target terlampaui")
    check(page, "appraisal-scored")


# --- 5. HR: the stuck list, reassign --------------------------------------------------------------


def test_hr_finds_a_stuck_appraisal_and_reassigns_it(page, seed, live_server):
    world = seed({"staff": "plan_submitted"}, overdue={"staff": 12}, escalation={"staff": 2})
    aid = world.appraisal("staff")
    kasi, kabid = world.employees["kasi"], world.employees["kabid"]
    assert assessor_of(live_server, aid) == kasi

    sign_in(page, world.login("hr"))
    page.locator('.kj-nav a[href="/monitoring"]').click()
    page.wait_for_url("**/monitoring")
    stuck = page.locator("#stuck")
    row = stuck.locator(f"#row-{aid}")
    expect(row).to_be_visible()
    expect(row).to_contain_text(world.login("employee").name)
    expect(row.locator(".kj-level")).to_be_visible()  # escalation level 2
    check(page, "monitoring")

    row.locator(f'a[href^="/monitoring/appraisals/{aid}"]').click()
    page.wait_for_url(lambda url: path_of(url) == f"/monitoring/appraisals/{aid}")
    facts = page.locator("#act-panel .kj-facts")
    expect(facts).to_contain_text("Kepala Seksi")
    check(page, "monitoring-act")

    form = page.locator(f'form[action="/monitoring/appraisals/{aid}/reassign"]')
    form.locator("#f-reassign-assessor_id").fill(str(kabid))
    form.locator("#f-reassign-reason").fill("Kepala seksi sedang cuti besar")
    # htmx swaps the action panel in place.
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/reassign")) as answer:
        form.locator('button[type="submit"]').click()
    assert answer.value.status == 200
    panel = page.locator("#act-panel")
    expect(panel.locator(".alert-success")).to_be_visible()
    expect(panel.locator(".kj-error-summary")).to_have_count(0)
    expect(panel.locator(".kj-facts")).to_contain_text("Kepala Bidang")
    assert assessor_of(live_server, aid) == kabid
    check(page, "monitoring-reassigned")

    # The appraisal page says so too: the new assessor, and the step in its history.
    page.locator(f'#act-panel a[href="/appraisals/{aid}"]').first.click()
    page.wait_for_url(f"**/appraisals/{aid}")
    who = page.locator("#who")
    expect(who).to_contain_text("Kepala Bidang")
    expect(page.locator("#history")).to_contain_text("Kepala seksi sedang cuti besar")
    check(page, "appraisal-reassigned")


def test_reassign_with_a_bad_id_is_refused_by_the_field(page, seed, live_server):
    world = seed({"staff": "plan_submitted"}, overdue={"staff": 12})
    aid = world.appraisal("staff")
    sign_in(page, world.login("hr"), next=f"/monitoring/appraisals/{aid}")
    form = page.locator(f'form[action="/monitoring/appraisals/{aid}/reassign"]')
    form.locator("#f-reassign-assessor_id").fill(str(world.employees["staff"]))  # themself
    form.locator("#f-reassign-reason").fill("Uji")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/reassign")):
        form.locator('button[type="submit"]').click()
    expect(page.locator("#act-panel .kj-error-summary")).to_be_visible()
    expect(page.locator("#f-reassign-assessor_id.is-invalid")).to_have_count(1)
    assert assessor_of(live_server, aid) == world.employees["kasi"]
    check(page, "monitoring-reassign-refused")


# --- 6. the language switch ---------------------------------------------------------------------


def test_language_switch_on_a_signed_in_page(page, seed):
    world = seed({"staff": "plan_submitted"})
    aid = world.appraisal("staff")
    sign_in(page, world.login("assessor"))
    inbox_link = page.locator('.kj-nav a[href="/"]')
    assert html_lang(page) == "id"
    indonesian = {"nav": inbox_link.inner_text(), "h1": page.locator("h1").inner_text()}

    switch_language(page, "en")
    assert path_of(page.url) == "/"  # the same page
    assert html_lang(page) == "en"
    expect(inbox_link).to_have_text("My inbox")
    expect(page.locator("h1")).to_have_text("My inbox")
    assert inbox_link.inner_text() != indonesian["nav"]
    check(page, "inbox-english")

    # The choice stays for the session: the appraisal page is English too.
    page.locator(f'#inbox a[href="/appraisals/{aid}"]').click()
    page.wait_for_url(f"**/appraisals/{aid}")
    assert html_lang(page) == "en"
    expect(
        page.locator(f'form[action="/appraisals/{aid}/events/approve_plan"] button[type="submit"]')
    ).to_have_text("Approve plan")
    check(page, "appraisal-english")

    switch_language(page, "id")
    assert path_of(page.url) == f"/appraisals/{aid}"
    assert html_lang(page) == "id"
    expect(
        page.locator(f'form[action="/appraisals/{aid}/events/approve_plan"] button[type="submit"]')
    ).to_have_text("Setujui SKP")
    page.goto("/")
    expect(inbox_link).to_have_text(indonesian["nav"])
    expect(page.locator("h1")).to_have_text(indonesian["h1"])


# --- 7. a phone's width ---------------------------------------------------------------------------


# On a phone a ``.kj-stack`` cell is a flex row: its label (``::before``) and its content. Content
# of more than one piece (text and a <div>, two <span>s) becomes extra columns squeezed beside each
# other, so a cell holds one piece: wrap several in one element.
_SPLIT_CELLS = """() => {
  const out = [];
  for (const td of document.querySelectorAll(".kj-stack td")) {
    if (getComputedStyle(td).display !== "flex") continue;
    const pieces = Array.from(td.childNodes).filter(
      (n) => n.nodeType === Node.ELEMENT_NODE
        ? getComputedStyle(n).display !== "none" && !["absolute", "fixed"].includes(getComputedStyle(n).position)
        : n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== "");
    if (pieces.length > 1) out.push(td.dataset.label + ": " + td.textContent.trim().slice(0, 60));
  }
  return out;
}"""


def fits_phone(page, name: str) -> None:
    assert page.viewport_size["width"] == 390
    shot(page, name)
    assert_no_horizontal_scroll(page)
    split = page.evaluate(_SPLIT_CELLS)
    assert not split, f"{page.url}: stacked cells in several columns: {split}"
    assert_accessible(page)


def test_assessor_pages_fit_a_phone(phone, seed, live_server):
    world = seed(
        {"staff": "final_review", "peer": "plan_submitted"}, overdue={"peer": 3}, escalation={"peer": 1}
    )
    sign_in(phone, world.login("assessor"))
    assert path_of(phone.url) == "/"
    fits_phone(phone, "inbox-phone")

    # The bulk result table, stacked.
    phone.locator(f"#pick-{world.appraisal('peer')}").check()
    with phone.expect_response(lambda r: r.request.method == "POST" and path_of(r.url) == "/bulk"):
        phone.locator('#inbox button[name="event"][value="approve_plan"]').click()
    expect(phone.locator("#bulk-result tbody tr.kj-result-ok")).to_have_count(1)
    fits_phone(phone, "inbox-bulk-result-phone")

    # The appraisal page with the score form, its live predikat and the matrix.
    aid = world.appraisal("staff")
    open_appraisal_from_inbox(phone, aid)
    with phone.expect_response(is_predikat_request):
        phone.locator("#f-score-rating_hasil_kerja").select_option("sesuai")
    with phone.expect_response(is_predikat_request):
        phone.locator("#f-score-rating_perilaku").select_option("sesuai")
    expect(phone.locator("#predikat-score strong.kj-predikat")).to_have_count(1)
    fits_phone(phone, "appraisal-phone")


def test_employee_pages_fit_a_phone(phone, seed):
    world = seed()
    aid = world.appraisal("staff")
    sign_in(phone, world.login("employee"), next=f"/appraisals/{aid}")
    assert path_of(phone.url) == f"/appraisals/{aid}"
    fits_phone(phone, "appraisal-drafted-phone")

    phone.goto(f"/appraisals/{aid}/plan")
    fill_plan_item(phone, 0, PLAN_ITEMS[0])
    with phone.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/plan")):
        phone.locator('#plan-editor button[name="action"][value="add"]').click()
    expect(phone.locator("#plan-editor fieldset.kj-plan-item")).to_have_count(2)
    fits_phone(phone, "plan-editor-phone")

    # A refused save (the second item has no RHK but has text): the errors fit too.
    phone.locator("#f-items-1-indicator").fill("Indikator tanpa RHK")
    with phone.expect_navigation():
        phone.locator('#plan-editor button[name="action"][value="save"]').first.click()
    expect(phone.locator("#plan-editor .kj-error-summary")).to_be_visible()
    fits_phone(phone, "plan-editor-errors-phone")


def test_monitoring_fits_a_phone(phone, seed):
    world = seed(
        {"staff": "plan_submitted", "peer": "scored", "kasi": "midyear_review"},
        overdue={"staff": 12},
        escalation={"staff": 2},
    )
    aid = world.appraisal("staff")
    sign_in(phone, world.login("hr"), next="/monitoring")
    assert path_of(phone.url) == "/monitoring"
    expect(phone.locator(f"#row-{aid}")).to_be_visible()
    fits_phone(phone, "monitoring-phone")

    phone.locator(f'#row-{aid} a[href^="/monitoring/appraisals/{aid}"]').click()
    phone.wait_for_url(lambda url: path_of(url) == f"/monitoring/appraisals/{aid}")
    fits_phone(phone, "monitoring-act-phone")
