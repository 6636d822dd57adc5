"""Every message a service, guard or problem gives a person is translatable (``N_``).

The API keeps answering with the English text; the web UI translates the message's template and
fills in its parameters. Two kinds of test: samples of real refusals carry ``Message`` objects
whose templates are ``N_`` literals, and a scan of the source refuses any new bare string or
f-string where a problem's detail or a field message is written.
"""

from __future__ import annotations

import ast
import string
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from tests import factories
from tests.test_transition_matrix import staff_appraisal
from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import Message
from workflow_app.models import BERAKHLAK, Appraisal
from workflow_app.nip import validate_nip
from workflow_app.request_limits import oversize
from workflow_app.services import admin, appraisals, cycles, delegations, guards, leave
from workflow_app.services.access import Actor

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workflow_app"

# Where messages for people are written: the scan below covers these files.
SCANNED = sorted(
    [
        *(PACKAGE / "services").glob("*.py"),
        *(PACKAGE / "api").glob("*.py"),
        PACKAGE / "problems.py",
        PACKAGE / "uow.py",
        PACKAGE / "request_limits.py",
        PACKAGE / "ratelimit.py",
        PACKAGE / "notifications" / "inbox.py",
    ]
)


# --- what an N_ literal is --------------------------------------------------------------------


def _is_n_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"


def n_templates() -> set[str]:
    """Every template written as a literal ``N_("…")`` in the package (what pybabel extracts)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _is_n_call(node) and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


TEMPLATES = n_templates()


def assert_translatable(message) -> None:
    """``message`` is an N_ Message: a literal template, named fields only, English unchanged."""
    assert isinstance(message, Message), f"not translatable: {message!r}"
    template, params = message.template, message.params
    assert template in TEMPLATES, f"template is not an N_ literal (built at run time?): {template!r}"
    fields = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        assert name.isidentifier(), f"positional or indexed field {name!r} in {template!r}"
        assert not spec and not conversion, f"format spec in {template!r}: translators cannot keep it"
        fields.add(name)
    assert fields == set(params), (template, params)
    assert template.format(**params) == str(message)


# --- guards: each message is one template ---------------------------------------------------

NOW = datetime(2026, 3, 2, 3, 0)  # 10:00 WIB


def _cycle(**dates):
    base = date(2026, 3, 2)
    values = dict(
        midyear_start=base + timedelta(days=10),
        scoring_start=base + timedelta(days=20),
        scoring_end=base + timedelta(days=40),
        period_end=base + timedelta(days=60),
        feedback_due=base + timedelta(days=50),
        training_due=base + timedelta(days=90),
    )
    values.update(dates)
    return SimpleNamespace(**values)


def _item(position, kind="utama", **values):
    fields = dict(indicator="Jumlah", target_value="12", midyear_realisation="", final_realisation="")
    fields.update(values)
    return SimpleNamespace(position=position, kind=kind, **fields)


def _appraisal(**values):
    fields = dict(
        plan_items=[],
        behaviours=[],
        trainings=[],
        objections=[],
        state="plan_drafted",
        predikat=None,
        scored_at=None,
        score_number=None,
        result_accepted_at=None,
        reopened_at=None,
        unit=SimpleNamespace(timezone="WIB"),
    )
    fields.update(values)
    return SimpleNamespace(**fields)


EVERY_BEHAVIOUR = [SimpleNamespace(value=v, expectation="Ekspektasi") for v in BERAKHLAK]


def _ctx(appraisal=None, cycle=None, **fields):
    return guards.GuardContext(now=NOW, cycle=cycle or _cycle(), appraisal=appraisal, fields=fields)


GUARD_CASES = [
    (
        "plan_complete",
        _ctx(_appraisal(plan_items=[_item(1, indicator=""), _item(2, kind="tambahan", target_value=" ")])),
        {
            "plan_items": "Every plan item needs an indicator and a target (items at positions [1, 2]).",
            "behaviours": "Behaviour expectations are missing for: "
            "berorientasi_pelayanan, akuntabel, kompeten, harmonis, loyal, adaptif, kolaboratif.",
        },
    ),
    (
        "plan_complete",
        _ctx(_appraisal(plan_items=[_item(1, kind="tambahan")], behaviours=EVERY_BEHAVIOUR)),
        {"plan_items": "At least one main (utama) plan item is required."},
    ),
    ("midyear_window_open", _ctx(), {"cycle": "The mid-year window opens on 2026-03-12."}),
    (
        "midyear_progress_recorded",
        _ctx(_appraisal(plan_items=[_item(1), _item(2, midyear_realisation="ok"), _item(3)])),
        {"plan_items": "Mid-year progress is missing for main items at positions [1, 3]."},
    ),
    ("scoring_window_open", _ctx(_appraisal()), {"cycle": "The scoring window is 2026-03-22 to 2026-04-11."}),
    ("scoring_window_started", _ctx(), {"cycle": "The scoring window opens on 2026-03-22."}),
    (
        "final_realisation_recorded",
        _ctx(_appraisal(plan_items=[_item(2)])),
        {"plan_items": "Final realisation is missing for items at positions [2]."},
    ),
    (
        "ratings_justified",
        _ctx(_appraisal(), rating_hasil_kerja="di_atas", rating_perilaku="sesuai"),
        {"justification": "A rating above or below expectation needs a justification."},
    ),
    (
        "closable",
        _ctx(
            _appraisal(
                state="training_assigned",
                trainings=[
                    SimpleNamespace(id=7, status="assigned"),
                    SimpleNamespace(id=9, status="assigned"),
                ],
                scored_at=NOW - timedelta(days=1),
            )
        ),
        {
            "trainings": "Trainings [7, 9] are neither completed nor recorded.",
            "objection": "The employee may object until 2026-03-15T16:59:59Z and has neither "
            "objected nor accepted the result.",
        },
    ),
    (
        "closable",
        _ctx(_appraisal(state="feedback_given", predikat="butuh_perbaikan", result_accepted_at=NOW)),
        {"predikat": "Training is mandatory for predikat 'butuh_perbaikan'."},
    ),
    (
        "objection_allowed",
        _ctx(_appraisal(scored_at=NOW - timedelta(days=20))),
        {"objection": "Objections must be filed within 14 days of the score."},
    ),
    (
        "result_acceptable",
        _ctx(_appraisal(result_accepted_at=NOW)),
        {"objection": "The result was already accepted."},
    ),
    (
        "due_date_in_cycle",
        _ctx(_appraisal(), due_date="2027-01-01"),
        {"due_date": "Must lie between today (2026-03-02) and the cycle's end (2026-05-31)."},
    ),
    (
        "training_dates_in_cycle",
        _ctx(_appraisal(), trainings=[{"due_date": "2026-01-01"}]),
        {
            "trainings": "Training due dates must lie between today (2026-03-02) and the cycle's end "
            "(2026-05-31)."
        },
    ),
    (
        "objection_decision_valid",
        _ctx(_appraisal(), decision="upheld", rating_perilaku="sesuai"),
        {"decision": "An upheld decision keeps the ratings; send 'amended' to change them."},
    ),
]


@pytest.mark.parametrize(("name", "ctx", "expected"), GUARD_CASES, ids=[c[0] for c in GUARD_CASES])
def test_guard_messages_are_translatable_and_their_english_is_unchanged(name, ctx, expected):
    errors = guards.GUARDS[name](ctx)
    assert errors == expected  # the English the API answered with before the messages were N_
    for message in errors.values():
        assert_translatable(message)


def test_guard_failed_keeps_each_field_message_and_translates_its_detail():
    ctx = _ctx(_appraisal(plan_items=[_item(1, indicator="")]))
    errors = guards.check(["plan_complete"], ctx)
    problem = problems.guard_failed("submit_plan", errors)
    assert problem.extra["errors"] is errors
    for message in problem.extra["errors"].values():
        assert_translatable(message)
    assert_translatable(problem.detail)
    assert problem.detail == (
        "'submit_plan' cannot be fired yet: plan_items: Every plan item needs an indicator and a target "
        "(items at positions [1]).; behaviours: Behaviour expectations are missing for: berorientasi_pelayanan, "
        "akuntabel, kompeten, harmonis, loyal, adaptif, kolaboratif."
    )


# --- problems --------------------------------------------------------------------------------


def test_the_problems_own_details_are_translatable(app):
    samples = {
        problems.not_found("appraisal"): "No appraisal with that id is visible to you.",
        problems.not_found("widget"): "No widget with that id is visible to you.",
        problems.not_found(): "No resource with that id is visible to you.",
        problems.unknown_event("fly"): "There is no event 'fly'.",
        problems.invalid_transition("score", "closed", []): "'score' cannot be fired from state 'closed'.",
        problems.version_conflict(3): "Reload the item and try again with its current version.",
        problems.validation_error({}): "The request has invalid fields.",
    }
    limit = app.config.get("MAX_CONTENT_LENGTH")
    samples[problems.from_http_exception(RequestEntityTooLarge())] = (
        f"The request body exceeds the limit of {limit} bytes."
    )
    for problem, english in samples.items():
        assert problem.detail == english
        assert_translatable(problem.detail)


def test_oversized_requests_are_refused_with_translatable_details():
    problem = oversize({"PATH_INFO": "/" + "a" * 9000, "QUERY_STRING": ""})
    assert problem is not None and problem.status == 414
    assert_translatable(problem.detail)
    assert problem.detail == "The URL exceeds the limit of 8000 characters."


def test_nip_messages_are_translatable():
    for nip in ("12", "199013452010131000"):
        messages = validate_nip(nip, today=date(2026, 1, 1))
        assert messages
        for message in messages:
            assert_translatable(message)


# --- services: real refusals -------------------------------------------------------------------


def refusal(use_case) -> problems.Problem:
    with pytest.raises(problems.Problem) as caught:
        use_case()
    return caught.value


def field_messages(problem: problems.Problem) -> list:
    out = []
    for value in (problem.extra.get("errors") or {}).values():
        out += value if isinstance(value, list) else [value]
    return out


def test_service_refusals_carry_translatable_messages(org):
    a = staff_appraisal(org)
    me = {name: Actor.from_user(getattr(org, name)) for name in ("u_staff", "u_kabid", "u_hr", "u_admin")}
    version = db.session.get(Appraisal, a.id).version

    # An event for someone else: who may fire it, and what the caller is here.
    p = refusal(lambda: appraisals.fire_event(me["u_kabid"], a.id, "submit_plan", {"version": version}))
    assert p.status == 403
    assert p.detail == "'submit_plan' may be fired by employee; you are superior here."
    assert_translatable(p.detail)

    # Not involved at all (the staff member sees the cycle through their appraisal).
    p = refusal(lambda: cycles.fire_cycle_event(me["u_staff"], a.cycle_id, "close", {"version": 1}))
    assert p.status == 403
    assert p.detail == "'close' may be fired by hr; you are not involved here."
    assert_translatable(p.detail)

    # The guard of submit_plan: a launched appraisal has no plan yet.
    p = refusal(lambda: appraisals.fire_event(me["u_staff"], a.id, "submit_plan", {"version": version}))
    assert p.slug == "guard-failed"
    assert p.extra["errors"]["plan_items"] == "At least one main (utama) plan item is required."
    assert_translatable(p.detail)
    for message in field_messages(p):
        assert_translatable(message)

    # Fields the event does not take, and a stale version.
    p = refusal(
        lambda: appraisals.fire_event(me["u_staff"], a.id, "submit_plan", {"version": version, "x": 1})
    )
    assert p.extra["errors"] == {"x": ["Not accepted by event 'submit_plan'."]}
    assert_translatable(p.extra["errors"]["x"][0])
    p = refusal(lambda: appraisals.fire_event(me["u_staff"], a.id, "submit_plan", {"version": version + 5}))
    assert p.slug == "version-conflict"
    assert_translatable(p.detail)

    # Plan and training edits refused.
    p = refusal(lambda: appraisals.update_plan(me["u_kabid"], a.id, {"version": version}))
    assert p.detail == "Only the employee and the assessor edit the plan."
    assert_translatable(p.detail)
    p = refusal(lambda: appraisals.record_progress(me["u_staff"], a.id, {"version": version, "items": []}))
    assert p.detail == "Progress is recorded during midyear_review and final_review."
    assert_translatable(p.detail)

    # Dates out of order.
    dates = {k: date(2026, 1, 1) for k in (*cycles.DATE_ORDER, "period_end", "training_due")}
    dates["plan_due"] = date(2025, 12, 1)
    p = refusal(lambda: cycles.validate_dates(dates))
    assert p.extra["errors"] == {"plan_due": ["Must not be before period_start."]}
    for message in field_messages(p):
        assert_translatable(message)

    # A delegation to oneself, and leave recorded for one's own deadlines.
    today = utcnow().date()
    body = {"delegator_id": org.kasi.id, "delegate_id": org.kasi.id, "kind": "plt", "reason": "Cuti"}
    body.update(start_date=today + timedelta(days=3), end_date=today + timedelta(days=1))
    p = refusal(lambda: delegations.create_delegation(me["u_hr"], body))
    assert p.extra["errors"] == {
        "delegate_id": ["The delegate must be someone else."],
        "end_date": ["Must not be before start_date."],
    }
    for message in field_messages(p):
        assert_translatable(message)
    p = refusal(lambda: leave.add_leave(me["u_hr"], org.hr_emp.id, {}))
    assert p.detail == "Your own leave pauses your own deadlines: another HR officer records it."
    assert_translatable(p.detail)

    # Admin: the role is needed, scope is a ceiling.
    p = refusal(lambda: admin.list_users(me["u_staff"]))
    assert p.detail == "This needs the admin role."
    assert_translatable(p.detail)
    dishub_admin = Actor.from_user(factories.user("admin_dishub", None, roles=[("admin", org.other)]))
    both = factories.user("both", None, roles=[("admin", org.other), ("admin", org.dinas)])
    db.session.flush()
    p = refusal(lambda: admin.update_user(dishub_admin, both.id, {"active": False}))
    assert p.detail == (
        "This user holds roles beyond your scope (units DINKES); an admin whose scope covers them changes "
        "this account."
    )
    assert_translatable(p.detail)
    p = refusal(lambda: admin.update_user(dishub_admin, org.u_admin.id, {"active": False}))
    assert p.status == 404  # the province admin lies outside the Dishub admin's view
    assert_translatable(p.detail)
    p = refusal(lambda: admin.update_employee(me["u_admin"], org.staff.id, {"superior_id": org.staff.id}))
    assert p.extra["errors"] == {"superior_id": ["An employee cannot report to themself."]}
    for message in field_messages(p):
        assert_translatable(message)


# --- the scan: no bare string where a person is told something --------------------------------

# Calls whose arguments are messages: name -> positions of message arguments.
MESSAGE_ARGS = {"forbidden": (0,), "flush_unique": (1,), "ValidationError": (0,), "Problem": (3,)}
# Calls whose first argument maps fields to messages.
ERROR_MAPS = {"validation_error", "guard_failed"}


def _untranslatable(node: ast.AST | None) -> bool:
    """A bare or assembled string (literal, f-string, concatenation, join) rather than ``N_(…)``."""
    if node is None or _is_n_call(node):
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(node.value)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _untranslatable(node.left) or _untranslatable(node.right)
    if isinstance(node, ast.BoolOp):
        return any(_untranslatable(v) for v in node.values)
    if isinstance(node, ast.IfExp):
        return _untranslatable(node.body) or _untranslatable(node.orelse)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return any(_untranslatable(e) for e in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        # "; ".join(…), "…{}".format(…): a message assembled from a string literal
        return isinstance(node.func.value, (ast.Constant, ast.JoinedStr))
    return False


def _name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _dict_values(node: ast.AST) -> list[ast.AST]:
    return [v for v in node.values] if isinstance(node, ast.Dict) else []


def _is_guard(fn: ast.FunctionDef) -> bool:
    """A guard takes a GuardContext (``ctx: GuardContext`` or ``guards.GuardContext``)."""
    for arg in fn.args.args:
        annotation = arg.annotation
        if isinstance(annotation, ast.Constant):  # a string annotation
            if str(annotation.value).endswith("GuardContext"):
                return True
        elif annotation is not None and _name(annotation) == "GuardContext":
            return True
    return False


def untranslatable_messages(source: str) -> list[tuple[int, str]]:
    """(line, what) for every detail or field message written as a bare string in ``source``."""
    found: list[tuple[int, str]] = []

    def flag(node: ast.AST, what: str) -> None:
        if _untranslatable(node):
            found.append((node.lineno, what))

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            for kw in node.keywords:
                if kw.arg == "detail":
                    flag(kw.value, "detail=")
            for position in MESSAGE_ARGS.get(name, ()):
                if len(node.args) > position:
                    flag(node.args[position], f"{name}() message")
            if name in ERROR_MAPS and node.args:
                for value in _dict_values(node.args[0]):
                    flag(value, f"{name}() field message")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and "errors" in (_name(target.value) or ""):
                    flag(node.value, "errors[…] =")
                elif isinstance(target, ast.Name) and target.id == "detail":
                    flag(node.value, "detail =")
                elif isinstance(target, ast.Name) and "errors" in target.id:
                    for value in _dict_values(node.value):
                        flag(value, "errors = {…}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_guard(node):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return):
                    for value in _dict_values(inner.value):
                        flag(value, f"guard {node.name}() message")
    return found


def test_the_scan_finds_bare_messages():
    bad = """
def g(ctx: GuardContext) -> dict:
    return {"cycle": f"Opens on {ctx.today}."}

def h(ctx: "guards.GuardContext"):
    return {"x": "Plain."}

def service(errors):
    errors["a"] = ["Plain."]
    errors["b"] = "x" + "y"
    detail = f"Over {limit}."
    raise problems.forbidden("Nope.")
    raise problems.Problem(409, "slug", "Title", "Detail.")
    raise problems.Problem(409, "slug", detail=f"The appraisal is {state}.")
    raise problems.validation_error({"a": ["; ".join(parts)]})
    flush_unique("code", "Taken.")
    raise ValidationError("Once.", "items")
"""
    assert [line for line, _ in untranslatable_messages(bad)] == [3, 6, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    good = """
def g(ctx: GuardContext) -> dict:
    return {"cycle": N_("Opens on {day}.", day=ctx.today)}

def service(errors, detail):
    errors["a"] = [N_("Plain.")]
    raise problems.forbidden(N_("Nope."))
    raise problems.Problem(409, "slug", "Title stays a title", detail=detail)
    raise problems.validation_error({"a": [N_("{n} more", n=3)]})
    audit.record("user", 1, "user_created", actor, now, {"username": "x"})
"""
    assert untranslatable_messages(good) == []


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_detail_or_field_message_is_a_bare_string(path):
    found = untranslatable_messages(path.read_text(encoding="utf-8"))
    where = [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in found]
    assert not where, "write these messages as N_(template, **params):\n" + "\n".join(where)
