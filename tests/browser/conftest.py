"""Browser tests: the real app on a live server, driven by Debian's chromium through Playwright.

Every test under tests/browser is marked ``browser`` here (``make test-fast`` leaves them out) and
is skipped, saying why, when ``chromium`` is not on PATH (``.ci/run`` installs it with apt).
Run them with ``.venv/bin/python -m pytest tests/browser -q`` (add ``--headed`` on a desktop).

Fixtures
--------
``live_server`` (session)
    The app (``create_app("test")``) served by werkzeug on ``127.0.0.1:<free port>`` in a thread,
    on this worker's database (``tests/conftest.py``'s: a SQLite file in a tmp dir, or
    TEST_DATABASE_URL's per-worker database) and Redis db; under ``make test`` (xdist) each worker
    has its own server, browser and database. Real commits: the tables are emptied and the login
    throttle reset after every test, so each test starts from an empty database and the rollback
    fixtures of the other tests never see browser data (``seed`` once per test, or call
    ``live_server.reset()`` in between). No RQ worker and no outbox kick:
    ``live_server.deliver()`` turns pending outbox rows into notifications (the bell).
    ``.url``, ``.host``, ``.app``, ``.has_page(path)``, ``.state_of(appraisal_id)`` (the state in
    the database, to check what a click did), ``.run(fn)`` (``fn()`` in the app's context).
``seed``
    A function that commits test data and returns a :class:`World`::

        world = seed({"staff": "plan_submitted", "peer": "plan_submitted"})

    It builds ``tests.factories.Org`` (a province, a dinas with a bidang and a seksi, another
    dinas; a login for each person) plus a login for the head of the dinas, creates a cycle
    for the dinas (today inside its scoring window) and launches it as HR, which gives every
    employee of the dinas an appraisal in ``plan_drafted``. Each named appraisal is then driven
    to its state through the real use cases and input schemas, as its employee, assessor and HR
    would (so its timeline has every step): a plan of two items and the seven BerAKHLAK
    expectations, mid-year and final progress with evidence, ``sesuai``/``sesuai`` ratings.
    The appraisees are ``staff`` and ``peer`` (both assessed by ``kasi``, whose superior is
    ``kabid``), ``kasi`` (assessed by ``kabid``) and ``kabid`` (assessed by ``kadis``); the
    appraisals of ``kadis`` and ``hr_emp`` stay in ``plan_drafted``. Reachable states: ``STATES``
    below. The default cycle puts today in its scoring window, so appraisals still in
    ``plan_drafted`` … ``midyear_review`` are already past their due dates, as they would be;
    ``cycle_dates`` moves the windows. Options: ``overdue={"staff": 12}`` (due 12 days ago),
    ``escalation={"staff": 2}``, ``deliver=True`` (notifications in the bell), ``cycle=False``
    (the org alone), ``cycle_dates={...}`` (``factories.cycle``'s dates).
``world`` (what ``seed`` returns)
    ``world.login(role)`` → :class:`Login` (``username``, ``password``, ``name``, ``user_id``,
    ``employee_id``) for ``employee`` (staff), ``peer``, ``assessor`` (kasi), ``superior``
    (kabid), ``head`` (kadis), ``hr`` (HR of the dinas), ``hr_other`` (HR of the other dinas,
    no employee), ``admin`` (admin of the province) and ``outsider`` (of the other dinas);
    ``world.appraisal("staff")`` → id; ``world.cycle_id``; ``world.units`` and
    ``world.employees`` (ids by ``factories.Org`` attribute name).
``page``
    pytest-playwright's page, in a desktop context (1280×900, locale ``id-ID``: the product's
    default language, zone Asia/Jakarta, ``base_url`` = the live server: ``page.goto("/login")``).
``phone``
    A page in a phone-sized context (390×844, mobile, touch), same defaults otherwise.
``new_context``
    pytest-playwright's, with the defaults above and the guard on every context it makes:
    ``new_context(locale="en-US")`` for a second person or another language.
``guard``
    Watches every context of the test and fails the test when it has run (in its call phase,
    listing everything) on: a request to any host but the live server (the request is also
    aborted), a console error — a CSP violation is one —, an uncaught page error, a 5xx answer
    or an error logged by the server. A 4xx answer to a navigation or an htmx/fetch request is
    not an error (the app answers 401/404/409/422 on purpose; assert on it); a 4xx for a
    stylesheet, script or image is. ``guard.allow_console(r"regex")`` lets an expected message
    through. Confirm dialogs (``data-confirm``) are accepted and their text kept in
    ``guard.dialogs``; set ``guard.answer_dialogs = False`` to dismiss them instead (do not add
    your own ``page.on("dialog")``: a dialog can be answered once).

Helpers (``from tests.browser.conftest import sign_in, shot, ...``)
    ``sign_in(page, login, next=None)``: opens ``/login`` and signs in like a person; returns the
    response of the page it lands on. ``submit_sign_in(page, username, password)`` fills the
    sign-in form of the current page. ``shot(page, name)``: a full-page PNG in
    ``instance/screenshots/<name>.png`` (the run's artifacts; instance/ is git-ignored).
    ``assert_accessible(page)``: axe-core, fails on any ``serious`` or ``critical`` violation
    (rule, impact, help, first targets); ``assert_accessible(page, "#main form")`` checks a part.
    ``assert_no_horizontal_scroll(page)``: the document is no wider than the viewport (390 px on
    ``phone``) and no visible element passes its edges (kinerja.css hides horizontal overflow,
    so too-wide content would be cut off rather than scroll); names what sticks out.

A flow test
-----------
::

    from playwright.sync_api import expect

    from tests.browser.conftest import assert_accessible, shot, sign_in

    def test_assessor_approves_a_plan(page, seed, live_server):
        world = seed({"staff": "plan_submitted"})
        aid = world.appraisal("staff")
        sign_in(page, world.login("assessor"))            # lands on the inbox, /
        assert_accessible(page)
        page.locator(f'a[href="/appraisals/{aid}"]').first.click()
        page.wait_for_url(f"**/appraisals/{aid}")
        form = page.locator(f'form[action="/appraisals/{aid}/events/approve_plan"]')
        with page.expect_navigation():                      # POST → redirect → GET
            form.locator('button[type="submit"]').click()
        expect(page.locator(".kj-error-summary")).to_have_count(0)
        assert live_server.state_of(aid) == "plan_approved"
        assert_accessible(page)
        shot(page, "appraisal-plan-approved")

A button that htmx enhances (``hx-post``) does not navigate: wait for its answer instead, with
``with page.expect_response(lambda r: r.request.method == "POST" and "/events/" in r.url):``.
Locate elements by what the contract fixes — paths, form actions, field names and ids
(``f-<name>``), ``data-*`` attributes, roles — rather than by visible text: pages are in
Indonesian by default. Do not use ``app``, ``client`` or ``org`` from tests/conftest.py here:
they hold a rolled-back transaction the browser never sees and would swap the session the live
server uses. The guard's failure comes after the test's own: fix that one first.

Caveat (Playwright's sync API, not this harness): once a worker has driven a browser, its main
thread counts as running an asyncio loop until the session ends, so ``asyncio.run()`` in a later
test of that worker raises "cannot be called from a running event loop". No test does that
today; one that must should run its coroutine in a thread of its own.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.serving import WSGIRequestHandler, make_server

from config import INSTANCE_DIR
from tests import factories
from tests.conftest import drain, truncate_all
from workflow_app import create_app, ratelimit
from workflow_app.clock import utcnow
from workflow_app.extensions import db

HERE = Path(__file__).resolve().parent
SCREENSHOTS = INSTANCE_DIR / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CONTEXT_DEFAULTS = {"viewport": DESKTOP, "locale": "id-ID", "timezone_id": "Asia/Jakarta"}
TIMEOUT_MS = 15_000


@pytest.hookimpl(tryfirst=True)  # before -m deselects: `-m "not browser"` must see the marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


# --- the live server ----------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):  # no access log line per request in the output
        pass


class _ErrorLog(logging.Handler):
    """The app's logged errors (an unhandled exception is logged with its traceback)."""

    def __init__(self, sink: list[str]):
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record):
        self.sink.append(f"server logged: {self.format(record)}")


class LiveServer:
    """The app on 127.0.0.1:<free port>, one thread per request; records 5xx answers and errors."""

    def __init__(self, app):
        self.app = app
        self.problems: list[str] = []
        self._busy = 0
        self._idle = threading.Condition()
        # Port 0: the kernel picks a free port and we keep the socket (no race for the port).
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.host = f"127.0.0.1:{self._server.server_port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)
        self._log = _ErrorLog(self.problems)
        self._log.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def start(self) -> None:
        self.app.logger.addHandler(self._log)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
        self.app.logger.removeHandler(self._log)

    def _wsgi(self, environ, start_response):
        request = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
        with self._idle:
            self._busy += 1

        def recording_start_response(status, headers, exc_info=None):
            if status[:1] == "5":
                self.problems.append(f"server answered {status} to {request}")
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            self.problems.append(f"server raised on {request}:\n{traceback.format_exc()}")
            self._done()
            raise
        return self._body(body)

    def _body(self, body):
        """The response, counted as busy until it is sent. A generator, not a ``close()`` hook:
        werkzeug skips ``close()`` when the browser drops the connection after the response."""
        try:
            yield from body
        finally:
            try:
                if hasattr(body, "close"):
                    body.close()
            finally:
                self._done()

    def _done(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no request is being answered (a page closed mid-request may leave one running)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._busy == 0, timeout):
                raise RuntimeError(f"the live server still answers {self._busy} request(s) after {timeout} s")

    def has_page(self, path: str, method: str = "GET") -> bool:
        """Whether some route answers ``path`` (pages still being built answer 404)."""
        adapter = self.app.url_map.bind(self.host)
        try:
            adapter.match(path, method=method)
        except NotFound:
            return False
        except (RequestRedirect, MethodNotAllowed):
            return True
        return True

    def reset(self) -> None:
        """Empty every table and forget failed logins."""
        self.wait_idle()
        with self.app.app_context():
            db.session.remove()
            truncate_all()
            ratelimit.reset(self.app)

    def run(self, fn):
        """``fn()`` inside the app's context (a query, a check); its session is removed after."""
        with self.app.app_context():
            return fn()

    def state_of(self, appraisal_id: int) -> str:
        from workflow_app.models import Appraisal

        return self.run(lambda: db.session.get(Appraisal, appraisal_id).state)

    def deliver(self) -> dict:
        """Deliver the pending outbox rows in-process (notifications; no email is sent)."""
        with self.app.app_context():
            return drain(emails=False)


@pytest.fixture(scope="session")
def live_server(base_app, database_url, redis_url):
    """``base_app`` first: it builds the schema of this worker's database with the migrations."""
    app = create_app(
        "test",
        {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "OUTBOX_KICK": False},
    )
    server = LiveServer(app)
    app.config["PUBLIC_BASE_URL"] = server.url  # the links in notifications point at it
    server.start()
    server.reset()
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _empty_database_after(live_server):
    live_server.problems.clear()
    yield
    live_server.reset()


# --- test data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    role: str
    username: str
    password: str
    name: str
    user_id: int
    employee_id: int | None


@dataclass
class World:
    """What ``seed`` committed: logins by role, appraisal ids by appraisee, the cycle, units."""

    base_url: str
    logins: dict[str, Login]
    employees: dict[str, int]
    units: dict[str, int]
    cycle_id: int | None = None
    appraisals: dict[str, int] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)

    def login(self, role: str) -> Login:
        return self.logins[role]

    def appraisal(self, who: str = "staff") -> int:
        return self.appraisals[who]

    def url(self, path: str) -> str:
        return self.base_url + path


# Login role → the factories.Org attribute of the user.
ROLES = {
    "employee": "u_staff",
    "peer": "u_peer",
    "assessor": "u_kasi",
    "superior": "u_kabid",
    "head": "u_kadis",
    "hr": "u_hr",
    "hr_other": "u_hr_other",
    "admin": "u_admin",
    "outsider": "u_outsider",
}
EMPLOYEES = ("kadis", "kabid", "kasi", "staff", "peer", "hr_emp", "outsider")
UNITS = ("province", "dinas", "bidang", "seksi", "other")
# The appraisees seed can move along. hr_emp's own appraisal has no other HR to act on it and
# kadis has no assessor: theirs stay in plan_drafted. LAUNCHED: every appraisal the launch makes.
APPRAISEES = ("staff", "peer", "kasi", "kabid")
LAUNCHED = (*APPRAISEES, "kadis", "hr_emp")

# The main road of an appraisal, step by step: (event or edit, who does it). A state is reached
# after the number of steps that MAIN_ROAD_STEPS gives; the other states branch off it.
MAIN_ROAD = [
    ("plan", "employee"),
    ("submit_plan", "employee"),
    ("approve_plan", "assessor"),
    ("open_midyear_review", "hr"),
    ("midyear_progress", "employee"),
    ("complete_midyear_review", "assessor"),
    ("final_progress", "employee"),
    ("score", "assessor"),
    ("give_feedback", "assessor"),
]
MAIN_ROAD_STEPS = {
    "plan_drafted": 0,
    "plan_submitted": 2,
    "plan_approved": 3,
    "midyear_review": 4,
    "final_review": 7,  # with the final realisation recorded: ready to be scored
    "scored": 8,
    "feedback_given": 9,
}
BRANCHES = {
    "training_assigned": ("feedback_given", [("assign_training", "assessor")]),
    "objection_filed": ("scored", [("file_objection", "employee")]),
    "closed": ("feedback_given", [("accept_result", "employee"), ("close", "hr")]),
    "cancelled": ("plan_drafted", [("cancel", "hr")]),
}
STATES = tuple(MAIN_ROAD_STEPS) + tuple(BRANCHES)


def _steps_to(state: str) -> list[tuple[str, str]]:
    if state in MAIN_ROAD_STEPS:
        return MAIN_ROAD[: MAIN_ROAD_STEPS[state]]
    if state in BRANCHES:
        base, extra = BRANCHES[state]
        return _steps_to(base) + extra
    raise ValueError(f"seed cannot reach {state!r}; it reaches {', '.join(STATES)}")


def _event_fields(event: str) -> dict:
    due = (utcnow() + timedelta(days=30)).date().isoformat()
    return {
        "submit_plan": {},
        "approve_plan": {"comment": "Rencana kinerja disetujui"},
        "open_midyear_review": {},
        "complete_midyear_review": {"feedback": "Progres sesuai rencana"},
        "score": {"rating_hasil_kerja": "sesuai", "rating_perilaku": "sesuai"},
        "give_feedback": {"feedback": "Pertahankan kinerja yang baik"},
        "assign_training": {"trainings": [{"competency": "Analisis Data", "hours_jp": 10, "due_date": due}]},
        "file_objection": {"reason": "Nilai tidak sesuai dengan bukti kinerja"},
        "accept_result": {},
        "close": {},
        "cancel": {"reason": "Pegawai dimutasi"},
    }[event]


def _step(appraisal_id: int, step: str, user_id: int) -> None:
    """One step, in its own unit of work, through the input schemas and use cases the API uses."""
    from workflow_app.models import Appraisal, User
    from workflow_app.schemas.appraisals import EventIn, PlanIn, ProgressIn
    from workflow_app.services import appraisals
    from workflow_app.services.access import Actor
    from workflow_app.uow import unit_of_work

    with unit_of_work():
        actor = Actor.from_user(db.session.get(User, user_id))
        appraisal = db.session.get(Appraisal, appraisal_id)
        version = appraisal.version
        if step == "plan":
            appraisals.update_plan(actor, appraisal_id, PlanIn().load(factories.plan_body(version)))
        elif step in ("midyear_progress", "final_progress"):
            final = step == "final_progress"
            items = [
                {"item_id": item.id, "realisation": "12 laporan" if final else "6 laporan"}
                | ({"evidence": [f"https://arsip.example.go.id/laporan/{item.id}"]} if final else {})
                for item in appraisal.plan_items
            ]
            appraisals.record_progress(
                actor, appraisal_id, ProgressIn().load({"version": version, "items": items})
            )
        else:
            data = EventIn().load({"version": version, **_event_fields(step)})
            appraisals.fire_event(actor, appraisal_id, step, data)


def build_world(
    base_url: str,
    states: dict[str, str] | None = None,
    *,
    overdue: dict[str, int] | None = None,
    escalation: dict[str, int] | None = None,
    cycle: bool = True,
    cycle_dates: dict | None = None,
) -> World:
    """Commit the org, the cycle and the appraisals (call inside the live app's context)."""
    from workflow_app.models import Appraisal
    from workflow_app.services import cycles
    from workflow_app.services.access import Actor
    from workflow_app.uow import unit_of_work

    states = dict(states or {})
    unknown = set(states) | set(overdue or {}) | set(escalation or {})
    if unknown - set(APPRAISEES):
        raise ValueError(
            f"seed drives the appraisals of {', '.join(APPRAISEES)}; not {unknown - set(APPRAISEES)}"
        )
    if states and not cycle:
        raise ValueError("appraisals need a cycle: drop cycle=False")

    org = factories.Org()
    org.u_kadis = factories.user("kadis", org.kadis)
    db.session.commit()
    logins = {}
    for role, attribute in ROLES.items():
        user = getattr(org, attribute)
        logins[role] = Login(
            role=role,
            username=user.username,
            password=factories.PASSWORD,
            name=user.employee.name if user.employee else user.username,
            user_id=user.id,
            employee_id=user.employee_id,
        )
    world = World(
        base_url=base_url,
        logins=logins,
        employees={name: getattr(org, name).id for name in EMPLOYEES},
        units={name: getattr(org, name).id for name in UNITS},
    )
    if not cycle:
        return world

    the_cycle = factories.cycle(org.dinas, **(cycle_dates or {}))
    db.session.commit()
    with unit_of_work():
        cycles.fire_cycle_event(
            Actor.from_user(org.u_hr), the_cycle.id, "launch", {"version": the_cycle.version}
        )
    world.cycle_id = the_cycle.id
    user_of_employee = {
        u.employee_id: u.id for u in (getattr(org, a) for a in ROLES.values()) if u.employee_id
    }
    for who in LAUNCHED:
        appraisal = db.session.scalar(
            db.select(Appraisal).where(
                Appraisal.cycle_id == the_cycle.id, Appraisal.employee_id == world.employees[who]
            )
        )
        world.appraisals[who] = appraisal.id
        world.states[who] = appraisal.state
        people = {
            "employee": user_of_employee[appraisal.employee_id],
            "assessor": user_of_employee.get(appraisal.assessor_id or 0),
            "hr": org.u_hr.id,
        }
        db.session.rollback()  # nothing held open between the units of work below
        for step, role in _steps_to(states.get(who, "plan_drafted")):
            _step(world.appraisals[who], step, people[role])
        world.states[who] = db.session.get(Appraisal, world.appraisals[who]).state

    now = utcnow()
    for who, days in (overdue or {}).items():
        appraisal = db.session.get(Appraisal, world.appraisals[who])
        appraisal.due_at = now - timedelta(days=days)
        appraisal.state_entered_at = min(appraisal.state_entered_at, appraisal.due_at - timedelta(days=5))
    for who, level in (escalation or {}).items():
        db.session.get(Appraisal, world.appraisals[who]).escalation_level = level
    db.session.commit()
    return world


@pytest.fixture
def seed(live_server):
    """``seed(states, overdue=, escalation=, deliver=, cycle=, cycle_dates=)`` → World (committed)."""

    def _seed(states: dict[str, str] | None = None, *, deliver: bool = False, **options) -> World:
        with live_server.app.app_context():
            world = build_world(live_server.url, states, **options)
        if deliver:
            live_server.deliver()
        return world

    return _seed


# --- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium (headless unless --headed); Playwright's own browsers are not installed."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not on PATH: install Debian's (apt-get install chromium; .ci/run does)")
    return {**browser_type_launch_args, "executable_path": executable}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    return {**browser_context_args, "base_url": live_server.url}


class Guard:
    """Collects what must never happen on a page; ``check()`` fails the test with all of it."""

    OWN_SCHEMES = ("data", "blob", "about")
    # Answers the person's own actions get (the test asserts their status); other 4xx are defects.
    ANSWER_TYPES = ("document", "fetch", "xhr")
    FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")

    def __init__(self, live_server: LiveServer):
        self.server = live_server
        self.host = live_server.host
        self.problems: list[str] = []
        self.external: list[str] = []
        self.dialogs: list[str] = []
        self.answer_dialogs = True
        self._allowed: list[re.Pattern] = []
        self._answers: set[str] = set()
        self.contexts: list = []

    def allow_console(self, pattern: str) -> None:
        self._allowed.append(re.compile(pattern))

    def _own(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in self.OWN_SCHEMES or (
            parts.scheme in ("http", "https") and parts.netloc == self.host
        )

    def watch(self, context) -> None:
        context.route("**/*", self._route)
        context.on("request", self._request)
        context.on("console", self._console)
        context.on("weberror", self._web_error)
        context.on("dialog", self._dialog)
        self.contexts.append(context)

    def _route(self, route, request) -> None:
        if self._own(request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def _request(self, request) -> None:
        if not self._own(request.url):
            self.external.append(f"{request.resource_type} {request.url}")
        elif request.resource_type in self.ANSWER_TYPES:
            self._answers.add(request.url)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        text = message.text
        where = (message.location or {}).get("url") or (message.page.url if message.page else "?")
        if self.FAILED_LOAD.match(text) and where in self._answers:
            return
        if any(p.search(text) for p in self._allowed):
            return
        self.problems.append(f"console error on {where}: {text}")

    def _web_error(self, web_error) -> None:
        page = web_error.page.url if web_error.page else "?"
        self.problems.append(f"uncaught error on {page}: {web_error.error}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        if self.answer_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    def check(self) -> None:
        # Events arrive during Playwright calls: one more call takes in the last ones.
        open_pages = [page for context in self.contexts for page in context.pages if not page.is_closed()]
        if open_pages:
            open_pages[0].wait_for_timeout(50)
        found = [f"request to another host: {url}" for url in self.external]
        found += self.problems + self.server.problems
        if found:
            pytest.fail("The pages broke the house rules:\n- " + "\n- ".join(found), pytrace=False)


_GUARD = pytest.StashKey[Guard]()


@pytest.fixture
def guard(request, live_server) -> Guard:
    watcher = Guard(live_server)
    request.node.stash[_GUARD] = watcher
    return watcher


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # a test that failed on its own reports that failure
    watcher = item.stash.get(_GUARD, None)
    if watcher is not None:
        watcher.check()
    return result


@pytest.fixture
def new_context(new_context, browser_context_args, guard):
    """pytest-playwright's ``new_context``, with this suite's defaults and the guard."""

    def make(**kwargs):
        defaults = {k: v for k, v in CONTEXT_DEFAULTS.items() if k not in browser_context_args}
        context = new_context(**{**defaults, **kwargs})
        context.set_default_timeout(TIMEOUT_MS)
        guard.watch(context)
        return context

    return make


@pytest.fixture
def phone(new_context):
    """A page in a phone-sized context: 390×844 CSS pixels, mobile, touch."""
    return new_context(
        viewport=PHONE, screen=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    ).new_page()


# --- helpers ------------------------------------------------------------------------------------


def submit_sign_in(page, username: str, password: str):
    """Fill in and send the sign-in form of the current page; the response of the next page."""
    form = page.locator('#main form[action^="/login"]')
    form.locator('[name="username"]').fill(username)
    form.locator('[name="password"]').fill(password)
    with page.expect_navigation() as navigation:
        form.locator('button[type="submit"]').click()
    return navigation.value


def sign_in(page, who: Login, next: str | None = None, password: str | None = None):
    """Open /login (with ``?next=``) and sign in as ``who``; the response of the landing page."""
    page.goto("/login" + (f"?next={quote(next, safe='/')}" if next else ""))
    return submit_sign_in(page, who.username, who.password if password is None else password)


def path_of(url: str) -> str:
    """The path of a page's URL (tests compare where a flow landed, not the host and port)."""
    return urlsplit(url).path


def shot(page, name: str) -> Path:
    """A full-page screenshot, instance/screenshots/<name>.png (kept as the run's artifacts)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    # Playwright hides the text caret for the picture by setting and then clearing an inline
    # style, which leaves ``style=""`` on inputs. htmx copies ``style`` from an old element to
    # its swapped-in twin (attributesToSettle), and that setAttribute is a CSP violation the
    # guard reports. The app never writes a style attribute (CSP): remove what the shot left.
    page.evaluate(
        """() => document.querySelectorAll('[style=""]').forEach((e) => e.removeAttribute('style'))"""
    )
    return path


SERIOUS = ("serious", "critical")


def assert_accessible(page, context=None) -> list[dict]:
    """Run axe-core on the page (or ``context``, a CSS selector); fail on serious or critical
    violations. Returns every violation found (the minor and moderate ones too)."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page, context=context).response["violations"]
    bad = [v for v in violations if v.get("impact") in SERIOUS]
    if bad:
        lines = []
        for v in bad:
            targets = ", ".join(" ".join(map(str, n.get("target", []))) for n in v["nodes"][:3])
            more = f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else ""
            lines.append(f"{v['id']} [{v['impact']}]: {v['help']} — at {targets}{more}\n    {v['helpUrl']}")
        pytest.fail(f"axe found on {page.url}:\n- " + "\n- ".join(lines), pytrace=False)
    return violations


# kinerja.css sets ``overflow-x: hidden`` on html and body, so content that is too wide is cut
# off rather than scrolled: scrollWidth alone cannot see it. The probe also looks for visible
# elements whose box passes the viewport's edges, unless an ancestor below <body> contains them
# (a scrolling table wrapper, a deliberately clipped box) within the viewport.
_WIDTH_PROBE = """(width) => {
  const name = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += "#" + el.id;
    for (const c of el.classList) text += "." + c;
    return text;
  };
  const contained = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow !== "visible") {
        const box = up.getBoundingClientRect();
        if (box.left >= -1 && box.right <= width + 1) return true;
      }
    }
    return false;
  };
  const out = [];
  const reported = new Set();
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width <= 1 || box.height <= 1 || style.visibility === "hidden") continue;
    if (box.right <= width + 1 && box.left >= -1) continue;
    if (reported.has(el.parentElement) || contained(el)) { reported.add(el); continue; }
    reported.add(el);
    out.push(name(el) + " (from " + Math.round(box.left) + " to " + Math.round(box.right) + " px)");
  }
  return {scrollWidth: document.documentElement.scrollWidth, outside: out.slice(0, 10)};
}"""


def assert_no_horizontal_scroll(page) -> None:
    """Nothing is wider than the viewport: no sideways scrolling, and nothing cut off at the edge
    (the stylesheet hides horizontal overflow, which would otherwise hide the fault)."""
    width = page.viewport_size["width"]
    probe = page.evaluate(_WIDTH_PROBE, width)
    if probe["scrollWidth"] > width or probe["outside"]:
        pytest.fail(
            f"{page.url} does not fit {width} px: the document is {probe['scrollWidth']} px wide; "
            f"outside the viewport: {', '.join(probe['outside']) or '(nothing found)'}",
            pytrace=False,
        )
