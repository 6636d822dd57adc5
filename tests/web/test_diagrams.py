"""The workflow diagrams (``/state-machines``) and the server-drawn SVG charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from state_machines import APPRAISAL, CYCLE
from tests.web.conftest import text_of
from workflow_app.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_diagrams_need_a_session(web):
    r = web.get("/state-machines")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/state-machines")


@pytest.mark.parametrize("who", ["u_staff", "u_kasi", "u_kabid", "u_hr", "u_admin", "u_outsider"])
def test_every_signed_in_user_sees_both_diagrams(web, org, who):
    web.login(getattr(org, who))
    r = web.get("/state-machines")
    assert r.status_code == 200
    body = text_of(r)
    assert body.count("<h1>") == 1
    for chart in ("diagram-appraisal", "diagram-cycle"):
        assert f'role="img" aria-labelledby="{chart}-title {chart}-desc"' in body
        assert f'<title id="{chart}-title">' in body
    # nothing inline: the Content-Security-Policy allows neither scripts nor style attributes
    assert "style=" not in body and "<script>" not in body and "mermaid" not in body.lower()


def test_every_state_and_transition_is_drawn_and_tabled(web, org):
    web.login(org.u_hr)
    body = text_of(web.get("/state-machines"))
    svgs = re.findall(r'<svg class="kj-chart.*?</svg>', body, re.S)
    assert len(svgs) == 2
    for svg, definition in zip(svgs, (APPRAISAL, CYCLE), strict=True):
        root = ET.fromstring(svg)  # well-formed SVG
        texts = [t.text for t in root.iter(f"{SVG}text")]
        for name, state in definition.states.items():
            assert state.label["en"] in texts and name in texts
        for event, t in definition.transitions.items():
            label = t.label["en"]
            assert label in texts or f"↻ {label}" in texts, event
        arrows = [p for p in root.iter(f"{SVG}path") if "kj-edge" in (p.get("class") or "")]
        assert arrows and all(p.get("marker-end") for p in arrows)
    # the accessible form: one table row per transition, with who may fire it
    rows = re.findall(r"<code>(\w+)</code></th>", body)
    assert rows == list(APPRAISAL.transitions) + list(CYCLE.transitions)
    assert "Assessor&#39;s superior" in body or "Assessor's superior" in body
    assert "Any open state" in body


def test_the_layout_keeps_boxes_apart():
    svg = charts.workflow_diagram(APPRAISAL, "t", "t", lambda s: s, lambda e: e)
    root = ET.fromstring(str(svg))
    boxes = [
        (float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")))
        for r in root.iter(f"{SVG}rect")
        if "kj-node" in (r.get("class") or "")
    ]
    assert len(boxes) == len(APPRAISAL.states) + 1  # and the "any open state" box
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
            assert apart, (a, b)
    width = float(root.get("width"))
    assert all(x >= 0 and x + w <= width for x, _, w, _ in boxes)


# --- charts ------------------------------------------------------------------------------------


def test_bar_chart_scales_to_the_largest_value_and_escapes_labels():
    svg = str(
        charts.bar_chart("c", "Title <b>", [("<script>", 10, "kj-bar-open"), ("B & C", 5, "kj-bar-done")])
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "B &amp; C" in svg
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Title <b>"
    bars = [float(r.get("width")) for r in root.iter(f"{SVG}rect") if "kj-bar" in r.get("class")]
    assert bars[0] == pytest.approx(2 * bars[1])
    assert "style" not in svg


def test_stacked_chart_splits_each_row_into_its_series():
    series = [("One", "kj-age-0"), ("Two", "kj-age-1")]
    svg = str(charts.stacked_bar_chart("s", "T", [("Unit A", [3, 1]), ("Unit B", [0, 4])], series))
    root = ET.fromstring(svg)
    bars = [r for r in root.iter(f"{SVG}rect") if "kj-bar" in (r.get("class") or "")]
    # zero-sized segments are left out; both rows have the same total, so the same length
    assert len(bars) == 3
    a = sum(float(r.get("width")) for r in bars[:2])
    assert a == pytest.approx(float(bars[2].get("width")))
    assert [t.text for t in root.iter(f"{SVG}title")][1:] == [
        "Unit A, One: 3",
        "Unit A, Two: 1",
        "Unit B, Two: 4",
    ]


def test_empty_charts_still_draw():
    assert "<svg" in str(charts.bar_chart("e", "Empty", []))
    assert "<svg" in str(charts.stacked_bar_chart("e2", "Empty", [], [("One", "kj-age-0")]))
