"""The harness itself: the guard catches what it must, seed reaches every state it offers."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import APPRAISEES, STATES, LiveServer


def test_guard_reports_a_resource_from_another_host(page, guard):
    page.goto("/login")
    with page.expect_event("requestfailed") as failed:
        page.evaluate(
            """() => { const img = document.createElement("img");
                       img.alt = ""; img.src = "https://cdn.example.com/pixel.png";
                       document.body.append(img); }"""
        )
    assert failed.value.url == "https://cdn.example.com/pixel.png"  # never fetched
    assert guard.external == ["image https://cdn.example.com/pixel.png"]
    page.wait_for_timeout(50)
    assert any("violates the following Content Security Policy" in p for p in guard.problems)
    guard.external.clear()
    guard.problems.clear()


def test_guard_aborts_a_navigation_to_another_host(page, guard):
    """The CSP stops a page's own requests; the guard also stops what the CSP does not cover."""
    with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_CLIENT"):
        page.goto("https://example.com/")
    assert guard.external == ["document https://example.com/"]
    guard.external.clear()


def test_guard_reports_a_csp_violation_and_console_errors(page, guard):
    page.goto("/login")
    page.evaluate("() => document.body.setAttribute('style', 'color: red')")  # no style="" allowed
    page.evaluate("() => console.error('something broke')")
    page.evaluate("() => { setTimeout(() => { throw new Error('boom'); }, 0); }")
    page.wait_for_timeout(100)
    assert any("Content Security Policy" in p for p in guard.problems), guard.problems
    assert any("something broke" in p for p in guard.problems), guard.problems
    assert any("uncaught error" in p and "boom" in p for p in guard.problems), guard.problems
    guard.problems.clear()


def test_guard_lets_error_pages_through(page, live_server):
    """A 404 page the person navigated to is the app's answer, not a broken page."""
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert page.locator("html").get_attribute("lang") == "id"


def test_seed_reaches_every_state_it_offers(seed, live_server):
    for start in range(0, len(STATES), len(APPRAISEES)):
        wanted = dict(zip(APPRAISEES, STATES[start : start + len(APPRAISEES)], strict=False))
        world = seed(wanted, overdue={APPRAISEES[0]: 12}, deliver=True)
        assert {who: world.states[who] for who in wanted} == wanted
        assert {who: live_server.state_of(world.appraisal(who)) for who in wanted} == wanted
        assert len(set(world.appraisals.values())) == len(APPRAISEES) + 2  # kadis, hr_emp
        stuck = stuck_ids(live_server, world)
        assert world.appraisal(APPRAISEES[0]) in stuck  # made overdue
        on_time = {who for who, state in wanted.items() if state in ON_TIME and who != APPRAISEES[0]}
        assert not {world.appraisal(who) for who in on_time} & set(stuck)
        live_server.reset()  # the next seed uses the same usernames


# With the default cycle (today in its scoring window) these states are within their deadlines;
# the earlier ones are past theirs (the plan was due months ago), as they would be in real life.
ON_TIME = {"final_review", "scored", "feedback_given", "training_assigned", "objection_filed"}


def stuck_ids(live_server, world) -> list[int]:
    """What HR's monitoring lists as stuck: the overdue one only (the rest are fresh)."""
    from workflow_app.extensions import db
    from workflow_app.models import User
    from workflow_app.services import monitoring
    from workflow_app.services.access import Actor

    def query():
        hr = Actor.from_user(db.session.get(User, world.login("hr").user_id))
        rows, _, _ = monitoring.stuck(hr, {}, 1, 50)
        return [a.id for a in rows]

    return live_server.run(query)


def test_seed_without_a_cycle(seed):
    world = seed(cycle=False)
    assert world.cycle_id is None and world.appraisals == {}
    assert world.login("admin").employee_id is None
    assert world.login("employee").username == "staf"


def test_live_server_records_what_went_wrong_on_the_server():
    """A 5xx answer and the error the app logged both reach the guard's list."""
    import urllib.error
    import urllib.request

    from flask import Flask

    app = Flask("broken")

    @app.route("/boom")
    def boom():
        raise RuntimeError("the view failed")

    server = LiveServer(app)
    server.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"{server.url}/boom", timeout=10)
        assert answer.value.code == 500
        server.wait_idle()
    finally:
        server.stop()
    assert "server answered 500 INTERNAL SERVER ERROR to GET /boom" in server.problems
    assert any("the view failed" in p for p in server.problems), server.problems
