"""Hostile and malformed requests: always a 4xx application/problem+json answer, never a 500."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
import time_machine

from tests import factories
from tests.test_transition_matrix import put_in_state, snapshot, staff_appraisal
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Employee, Unit, User
from workflow_app.nip import make_nip, validate_nip

PROBLEM = "application/problem+json"


def assert_problem(r, status: int | tuple[int, ...] | None = None) -> dict:
    body = r.get_json(silent=True)
    assert r.status_code < 500, (r.status_code, r.data[:500])
    assert 400 <= r.status_code < 500, (r.status_code, r.data[:300])
    if status is not None:
        allowed = status if isinstance(status, tuple) else (status,)
        assert r.status_code in allowed, (r.status_code, body)
    assert r.mimetype == PROBLEM, (r.mimetype, r.data[:300])
    assert isinstance(body, dict), r.data[:300]
    assert body["status"] == r.status_code
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    return body


def raw_post(api, path, user, data, content_type="application/json", method="POST"):
    return api.call(method, path, user, data=data, content_type=content_type)


@pytest.fixture
def appraisal(org):
    return put_in_state(staff_appraisal(org), "plan_drafted")


# --- malformed bodies ---------------------------------------------------------------------------

MALFORMED = [
    b"{",
    b'{"version": 1,}',
    b"{'version': 1}",
    b"\xff\xfe\x00",
    b"[" * 100_000,
    b'{"a":' * 50_000,
    b"NaN garbage",
]


@pytest.mark.parametrize("body", MALFORMED, ids=lambda b: repr(b[:12]))
def test_malformed_json(api, org, appraisal, body):
    before = snapshot(appraisal.id)
    r = raw_post(api, f"/api/v1/appraisals/{appraisal.id}/events/submit_plan", org.u_staff, body)
    problem = assert_problem(r, 400)
    assert problem["type"].endswith("/malformed-request")
    assert snapshot(appraisal.id) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "1"}, "version"),
        ({"version": 1.5}, "version"),
        ({"version": True}, "version"),
        ({"version": None}, "version"),
        ({"version": 1, "comment": 5}, "comment"),
        ({"version": 1, "comment": ["a"]}, "comment"),
        ({"version": 1, "comment": {"a": 1}}, "comment"),
        ({"version": 1, "comment": "x" * 2001}, "comment"),
        ({"version": 1, "trainings": {"competency": "x"}}, "trainings"),
        ({"version": 1, "trainings": []}, "trainings"),
        (
            {"version": 1, "trainings": [{"competency": "x", "hours_jp": "20", "due_date": "2030-01-01"}]},
            "trainings",
        ),
        (
            {"version": 1, "trainings": [{"competency": "x", "hours_jp": 0, "due_date": "2030-01-01"}]},
            "trainings",
        ),
        (
            {"version": 1, "trainings": [{"competency": "x", "hours_jp": 2, "due_date": "2030-02-30"}]},
            "trainings",
        ),
        ({"version": 1, "rating_hasil_kerja": "luar_biasa"}, "rating_hasil_kerja"),
        ({"version": 1, "decision": "maybe"}, "decision"),
        ({"version": 1, "due_date": "tomorrow"}, "due_date"),
        ({"version": 1, "bogus": 1}, "bogus"),
        (
            {
                "version": 1,
                "trainings": [{"competency": "x", "hours_jp": 2, "due_date": "2030-01-01", "x": 1}],
            },
            "trainings",
        ),
    ],
    ids=lambda v: json.dumps(v)[:40] if isinstance(v, dict) else v,
)
def test_wrong_types_and_unknown_fields(api, org, appraisal, body, field):
    before = snapshot(appraisal.id)
    r = api.post(f"/api/v1/appraisals/{appraisal.id}/events/submit_plan", org.u_staff, json=body)
    problem = assert_problem(r, 422)
    assert field in problem["errors"], problem
    assert snapshot(appraisal.id) == before


@pytest.mark.parametrize("body", [[], [1, 2], "version", 5, None, True])
def test_body_is_not_an_object(api, org, appraisal, body):
    r = raw_post(api, f"/api/v1/appraisals/{appraisal.id}/events/submit_plan", org.u_staff, json.dumps(body))
    assert_problem(r, 422)


def test_unknown_nested_fields_in_plan(api, org, appraisal):
    body = factories.plan_body(snapshot(appraisal.id)[1])
    body["items"][0]["secret"] = "x"
    r = api.put(f"/api/v1/appraisals/{appraisal.id}/plan", org.u_staff, json=body)
    problem = assert_problem(r, 422)
    assert "items" in problem["errors"]
    body = factories.plan_body(snapshot(appraisal.id)[1])
    body["behaviours"]["bukan_nilai"] = "x"
    assert (
        "behaviours"
        in assert_problem(api.put(f"/api/v1/appraisals/{appraisal.id}/plan", org.u_staff, json=body), 422)[
            "errors"
        ]
    )
    body = factories.plan_body(snapshot(appraisal.id)[1])
    body["items"][0]["kind"] = "lainnya"
    assert_problem(api.put(f"/api/v1/appraisals/{appraisal.id}/plan", org.u_staff, json=body), 422)
    body["items"] = [{"rhk": ""}]
    assert_problem(api.put(f"/api/v1/appraisals/{appraisal.id}/plan", org.u_staff, json=body), 422)
    body["items"] = [{"rhk": "x"}] * 51
    assert_problem(api.put(f"/api/v1/appraisals/{appraisal.id}/plan", org.u_staff, json=body), 422)


def test_progress_bad_input(api, org):
    a = put_in_state(staff_appraisal(org), "midyear_review")
    v = snapshot(a.id)[1]
    url = f"/api/v1/appraisals/{a.id}/progress"
    item = a.plan_items[0].id
    for body in (
        {"version": v, "items": []},
        {
            "version": v,
            "items": [{"item_id": item, "realisation": "x"}, {"item_id": item, "realisation": "y"}],
        },
        {"version": v, "items": [{"item_id": item, "realisation": "x", "evidence": ["not a url"]}]},
        {"version": v, "items": [{"item_id": 2**40, "realisation": "x"}]},
        {"version": v, "items": [{"item_id": "1", "realisation": "x"}]},
        {"version": v, "items": "all"},
    ):
        assert_problem(api.put(url, org.u_staff, json=body), 422)
    problem = assert_problem(
        api.put(url, org.u_staff, json={"version": v, "items": [{"item_id": 999999, "realisation": "x"}]}),
        422,
    )
    assert "items" in problem["errors"]
    assert snapshot(a.id)[1] == v


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "\udfff tail", "ok \ud83d\ude00 emoji"])
def test_text_the_database_cannot_store_is_refused(api, org, appraisal, text):
    """NUL and unpaired surrogates are valid JSON escapes, but no database column stores them."""
    before = snapshot(appraisal.id)
    body = json.dumps({"version": before[1], "reason": text})
    r = raw_post(api, f"/api/v1/appraisals/{appraisal.id}/events/cancel", org.u_hr, body)
    if text.startswith("ok"):  # a proper surrogate pair is just an emoji
        assert r.status_code == 200, r.get_json()
        assert (
            api.get(f"/api/v1/appraisals/{appraisal.id}/history", org.u_hr).get_json()[-1]["comment"]
            == "ok 😀 emoji"
        )
        return
    assert assert_problem(r, 400)["type"].endswith("/malformed-request")
    assert snapshot(appraisal.id) == before
    body = json.dumps({"code": "X" + text, "name": text, "parent_id": org.province.id})
    assert_problem(raw_post(api, "/api/v1/units", org.u_admin, body), 400)
    body = json.dumps({"username": text, "password": text})
    assert_problem(raw_post(api, "/api/v1/auth/tokens", None, body), 400)


def test_deep_but_decodable_json(api, org, appraisal):
    for depth in (500, 900, 990):
        body = '{"version": 1, "comment": ' + "[" * depth + "]" * depth + "}"
        r = raw_post(api, f"/api/v1/appraisals/{appraisal.id}/events/submit_plan", org.u_staff, body)
        assert_problem(r, (400, 422))


def test_huge_body_413(api, org, appraisal, forget_failed_logins):
    body = json.dumps({"version": 1, "comment": "x" * (1024 * 1024 + 10)})
    r = raw_post(api, f"/api/v1/appraisals/{appraisal.id}/events/submit_plan", org.u_staff, body)
    problem = assert_problem(r, 413)
    assert "limit" in problem["detail"]
    r = raw_post(api, "/api/v1/auth/tokens", None, body)
    assert_problem(r, 413)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", '{"version": 1}'),
        ("application/x-www-form-urlencoded", "version=1&comment=x"),
        (
            "multipart/form-data; boundary=xx",
            '--xx\r\nContent-Disposition: form-data; name="version"\r\n\r\n1\r\n--xx--\r\n',
        ),
        ("application/xml", "<version>1</version>"),
        ("", "version"),
    ],
)
def test_wrong_content_type(api, org, appraisal, content_type, data):
    before = snapshot(appraisal.id)
    r = raw_post(
        api, f"/api/v1/appraisals/{appraisal.id}/events/submit_plan", org.u_staff, data, content_type
    )
    assert_problem(r, (400, 415, 422))
    assert snapshot(appraisal.id) == before


# --- unknown ids and names ----------------------------------------------------------------------

UNKNOWN = 987654


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/api/v1/appraisals/{UNKNOWN}", None),
        ("GET", f"/api/v1/appraisals/{UNKNOWN}/history", None),
        ("POST", f"/api/v1/appraisals/{UNKNOWN}/events/submit_plan", {"version": 1}),
        ("PUT", f"/api/v1/appraisals/{UNKNOWN}/plan", {"version": 1, "items": []}),
        (
            "PUT",
            f"/api/v1/appraisals/{UNKNOWN}/progress",
            {"version": 1, "items": [{"item_id": 1, "realisation": "x"}]},
        ),
        ("PATCH", f"/api/v1/appraisals/{UNKNOWN}/trainings/1", {"version": 1, "status": "completed"}),
        ("GET", f"/api/v1/cycles/{UNKNOWN}", None),
        ("POST", f"/api/v1/cycles/{UNKNOWN}/events/launch", {"version": 1}),
        ("GET", f"/api/v1/units/{UNKNOWN}", None),
        ("PATCH", f"/api/v1/units/{UNKNOWN}", {"name": "x"}),
        ("GET", f"/api/v1/employees/{UNKNOWN}", None),
        ("PATCH", f"/api/v1/employees/{UNKNOWN}", {"name": "x"}),
        ("GET", f"/api/v1/users/{UNKNOWN}", None),
        ("PATCH", f"/api/v1/users/{UNKNOWN}", {"locale": "en"}),
        ("GET", "/api/v1/state-machines/bogus", None),
        ("GET", "/api/v1/appraisals/99999999999999999999999", None),
        ("GET", "/api/v1/units/99999999999999999999999", None),
        ("GET", "/api/v1/no-such-thing", None),
    ],
)
@pytest.mark.parametrize("who", ["u_admin", "u_hr"])
def test_unknown_ids_are_404(api, org, method, path, body, who):
    r = api.call(method, path, getattr(org, who), json=body)
    if who == "u_hr" and (path.startswith("/api/v1/users") or (method == "PATCH" and "/units/" in path)):
        assert_problem(r, 403)  # the endpoint itself is for admins: refused before any lookup
    else:
        assert_problem(r, 404)


def test_unknown_training_is_404(api, org):
    a = put_in_state(staff_appraisal(org), "training_assigned")
    r = api.patch(
        f"/api/v1/appraisals/{a.id}/trainings/{UNKNOWN}",
        org.u_staff,
        json={"version": snapshot(a.id)[1], "status": "completed"},
    )
    assert_problem(r, 404)


def test_unknown_event_names(api, org, appraisal):
    for event in ("bogus", "SUBMIT_PLAN", "launch", "__init__", "fire", "x" * 300):
        r = api.post(f"/api/v1/appraisals/{appraisal.id}/events/{event}", org.u_staff, json={"version": 1})
        assert assert_problem(r, 404)["type"].endswith("/unknown-event")
    cycle = factories.cycle(org.dinas)
    db.session.commit()
    r = api.post(f"/api/v1/cycles/{cycle.id}/events/submit_plan", org.u_hr, json={"version": 1})
    assert assert_problem(r, 404)["type"].endswith("/unknown-event")
    r = api.post("/api/v1/appraisals/bulk-events", org.u_hr, json={"event": "bogus", "ids": [appraisal.id]})
    assert "event" in assert_problem(r, 422)["errors"]


# --- query parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "per_page=10000",
        "per_page=0",
        "state=bogus",
        "state=scored&state=bogus",
        "cycle=abc",
        "cycle=0",
        "cycle=99999999999999999999",
        "unit=-5",
        "assessor=1.5",
        "overdue=maybe",
    ],
)
def test_bad_query_params(api, org, query):
    r = api.get(f"/api/v1/appraisals?{query}", org.u_hr)
    assert_problem(r, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/employees?per_page=201",
        "/api/v1/employees?q=" + "x" * 101,
        "/api/v1/monitoring/summary?cycle=x",
        "/api/v1/monitoring/stuck?idle_days=0",
        "/api/v1/monitoring/stuck?page=0",
        "/api/v1/monitoring/summary?unit=987654",
        "/api/v1/appraisals?unit=987654",
    ],
)
def test_bad_query_params_elsewhere(api, org, path):
    assert_problem(api.get(path, org.u_admin), 422)


def test_good_query_params(api, org):
    assert (
        api.get(
            "/api/v1/appraisals?state=scored&state=closed&page=2&per_page=200&overdue=true", org.u_hr
        ).status_code
        == 200
    )
    # unknown query parameters (cache busters and the like) are ignored, as is usual for GETs
    assert api.get("/api/v1/appraisals?_=12345", org.u_hr).status_code == 200


def test_nul_in_query_is_refused(api, org):
    for path in ("/api/v1/employees?q=a%00b", "/api/v1/appraisals?state=%00"):
        assert_problem(api.get(path, org.u_admin), (400, 422))


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-token",
        "Bearer " + "x" * 5000,
        "Token abc",
    ],
)
def test_missing_or_invalid_token(client, org, header):
    headers = {} if header is None else {"Authorization": header}
    for path in ("/api/v1/me", "/api/v1/tasks", "/api/v1/appraisals", "/api/v1/cycles", "/api/v1/units"):
        r = client.get(path, headers=headers)
        problem = assert_problem(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert problem["title"]
    r = client.delete("/api/v1/auth/tokens/current", headers=headers)
    assert_problem(r, 401)


def test_expired_token(api, org):
    token = api.token("staf")
    with time_machine.travel(utcnow() + timedelta(hours=13), tick=False):
        r = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert assert_problem(r, 401)["type"].endswith("/invalid-token")


def test_revoked_token(api, org):
    token = api.token("staf")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/me", headers=headers).status_code == 200
    assert api.client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    assert_problem(api.client.get("/api/v1/me", headers=headers), 401)
    assert_problem(api.client.delete("/api/v1/auth/tokens/current", headers=headers), 401)


def test_deactivated_user_token(api, org, forget_failed_logins):
    token = api.token("staf")
    org.u_staff.active = False
    db.session.commit()
    assert_problem(api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401)
    r = api.client.post("/api/v1/auth/tokens", json={"username": "staf", "password": factories.PASSWORD})
    assert_problem(r, 401)


@pytest.mark.parametrize(
    "body",
    [
        {"username": "staf", "password": "salah"},
        {"username": "tidak-ada", "password": "salah"},
        {"username": "staf"},
        {"username": "", "password": ""},
        {"username": "staf", "password": "x" * 201},
        {"username": 5, "password": 5},
        {"username": "staf", "password": factories.PASSWORD, "otp": 1},
    ],
)
def test_token_endpoint_bad_credentials(client, org, body, forget_failed_logins):
    r = client.post("/api/v1/auth/tokens", json=body)
    assert_problem(r, (401, 422))


# --- wrong methods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/appraisals/1"),
        ("PUT", "/api/v1/cycles"),
        ("PATCH", "/api/v1/me"),
        ("POST", "/api/v1/tasks"),
        ("GET", "/api/v1/auth/tokens"),
        ("GET", "/api/v1/appraisals/1/events/submit_plan"),
        ("DELETE", "/api/v1/units/1"),
        ("PUT", "/api/v1/state-machines/appraisal"),
        ("POST", "/api/v1/openapi.json"),
        ("POST", "/healthz"),
    ],
)
def test_wrong_methods_405(api, org, method, path):
    r = api.call(method, path, org.u_admin, json={})
    assert_problem(r, 405)
    assert "Allow" in r.headers


# --- the sweep: every /api/ route, every method, hostile bodies ---------------------------------

HOSTILE_BODIES = [
    None,
    b"",
    b"{",
    b"null",
    b"[]",
    b"[" * 20_000,
    b"12345678901234567890123",
    b'"\\ud800"',
    json.dumps({"version": "1", "comment": 5, "bogus": {"a": [1, 2]}}).encode(),
    json.dumps(
        {"version": 2**70, "ids": [2**70], "event": "cancel", "reason": "x", "dry_run": "yes"}
    ).encode(),
    json.dumps(
        {
            "version": 1,
            "name": "\u0000",
            "code": "\ud800",
            "unit_id": -1,
            "parent_id": 0,
            "superior_id": 2**40,
            "employee_id": "1",
            "nip": "1" * 18,
            "username": "../../etc",
            "password": "p" * 7,
            "roles": [{"role": "root", "unit_id": 1}],
            "items": [{}],
            "behaviours": [],
            "status": "done",
            "year": 1e308,
        }
    ).encode(),
    json.dumps({"event": "cancel", "ids": list(range(1, 502)), "reason": "x"}).encode(),
    json.dumps({"a": "x" * 100_000}).encode(),
]
PATH_VALUES = {
    "int": ["1", "987654", "2147483648"],
    "string": ["appraisal", "launch", "bogus"],
    "path": ["x.js"],
}


def _concrete_paths(rule) -> list[str]:
    paths = [rule.rule]
    for name, kind in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule):
        converter = name or "string"
        expanded = []
        for p in paths:
            for value in PATH_VALUES.get(converter, ["1"]):
                expanded.append(re.sub(r"<[^>]*" + kind + r">", value, p, count=1))
        paths = expanded
    return paths


@pytest.mark.slow
@pytest.mark.parametrize("who", [None, "u_hr", "u_admin", "u_staff"])  # one test each: xdist spreads them
def test_sweep_all_api_routes(app, api, org, forget_failed_logins, who):
    a = staff_appraisal(org)
    put_in_state(a, "training_assigned")
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert len(rules) > 25
    failures = []
    seen = 0
    user = getattr(org, who) if who else None
    for rule in rules:
        for path in _concrete_paths(rule):
            path = path.replace("/1/", f"/{a.id}/") if "/appraisals/" in path else path
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for body in HOSTILE_BODIES if method != "GET" else [None]:
                    kwargs = {} if body is None else {"data": body, "content_type": "application/json"}
                    for query in ("", "?page=0&per_page=100000&state=x&cycle=%00&unit=1e9"):
                        r = api.call(method, path + query, user, **kwargs)
                        seen += 1
                        if r.status_code >= 500 or (
                            r.status_code >= 400
                            and (r.mimetype != PROBLEM or "type" not in (r.get_json(silent=True) or {}))
                        ):
                            failures.append(
                                (
                                    user and user.username,
                                    method,
                                    path + query,
                                    body and body[:40],
                                    r.status_code,
                                    r.data[:200],
                                )
                            )
    assert seen > 1000
    assert not failures, failures[:20]


def test_sweep_left_nothing_half_written(app, api, org):
    a = put_in_state(staff_appraisal(org), "plan_drafted")
    before = snapshot(a.id)
    for body in HOSTILE_BODIES:
        for event in ("submit_plan", "cancel", "bogus"):
            kwargs = {} if body is None else {"data": body, "content_type": "application/json"}
            api.call("POST", f"/api/v1/appraisals/{a.id}/events/{event}", org.u_hr, **kwargs)
    assert snapshot(a.id) == before


# --- admin endpoints ----------------------------------------------------------------------------


def _employee_body(org, nip, **kw):
    return {"nip": nip, "name": "Pegawai Baru", "unit_id": org.seksi.id, "position": "Analis", **kw}


GOOD_NIP = make_nip(date(1990, 5, 17), 2015, 3, 2, 7)


@pytest.mark.parametrize(
    ("nip", "why"),
    [
        ("19901332" + "201503" + "2" + "007", "bad date"),
        ("19900230" + "201503" + "2" + "007", "30 February"),
        ("19900517" + "201503" + "3" + "007", "gender digit 3"),
        ("19900517" + "201503" + "2" + "000", "sequence 000"),
        ("19900517" + "201503" + "2" + "07", "17 digits"),
        ("19900517" + "201503" + "2" + "0077", "19 digits"),
        ("19900517" + "201513" + "2" + "007", "TMT month 13"),
        ("1990O517" + "201503" + "2" + "007", "a letter"),
        ("", "empty"),
    ],
)
def test_invalid_nip_refused(api, org, nip, why):
    assert validate_nip(nip), why
    r = api.post("/api/v1/employees", org.u_admin, json=_employee_body(org, nip))
    assert "nip" in assert_problem(r, 422)["errors"], why
    r = api.patch(f"/api/v1/employees/{org.staff.id}", org.u_admin, json={"nip": nip})
    assert "nip" in assert_problem(r, 422)["errors"], why
    r = api.post("/api/v1/employees", org.u_admin, json=_employee_body(org, 123456789012345678))
    assert "nip" in assert_problem(r, 422)["errors"]


def test_valid_nip_accepted(api, org):
    r = api.post("/api/v1/employees", org.u_admin, json=_employee_body(org, GOOD_NIP))
    assert r.status_code == 201, r.get_json()


def test_duplicate_nip_username_unit_code(api, org):
    r = api.post("/api/v1/employees", org.u_admin, json=_employee_body(org, org.staff.nip))
    assert "nip" in assert_problem(r, 422)["errors"]
    r = api.patch(f"/api/v1/employees/{org.peer.id}", org.u_admin, json={"nip": org.staff.nip})
    assert "nip" in assert_problem(r, 422)["errors"]
    r = api.post("/api/v1/users", org.u_admin, json={"username": "staf", "password": "panjang-sekali"})
    assert "username" in assert_problem(r, 422)["errors"]
    r = api.post(
        "/api/v1/users",
        org.u_admin,
        json={"username": "baru", "password": "panjang-sekali", "employee_id": org.staff.id},
    )
    assert_problem(r, 422)
    r = api.patch(f"/api/v1/users/{org.u_peer.id}", org.u_admin, json={"employee_id": org.staff.id})
    assert "employee_id" in assert_problem(r, 422)["errors"]
    r = api.post(
        "/api/v1/units", org.u_admin, json={"code": "DINKES", "name": "Dobel", "parent_id": org.province.id}
    )
    assert "code" in assert_problem(r, 422)["errors"]
    r = api.patch(f"/api/v1/units/{org.other.id}", org.u_admin, json={"code": "DINKES"})
    assert "code" in assert_problem(r, 422)["errors"]
    # nothing was half-written, and the admin's session still works
    assert db.session.query(Unit).filter_by(code="DINKES").count() == 1
    assert db.session.query(User).filter_by(username="baru").count() == 0
    assert api.get("/api/v1/me", org.u_admin).status_code == 200


def test_reporting_loops_refused(api, org):
    # staff reports to kasi, kasi to kabid, kabid to kadis
    r = api.patch(f"/api/v1/employees/{org.kasi.id}", org.u_admin, json={"superior_id": org.staff.id})
    assert "superior_id" in assert_problem(r, 422)["errors"]
    r = api.patch(f"/api/v1/employees/{org.kadis.id}", org.u_admin, json={"superior_id": org.staff.id})
    assert "superior_id" in assert_problem(r, 422)["errors"]
    r = api.patch(f"/api/v1/employees/{org.staff.id}", org.u_admin, json={"superior_id": org.staff.id})
    assert "superior_id" in assert_problem(r, 422)["errors"]
    r = api.patch(f"/api/v1/employees/{org.staff.id}", org.u_admin, json={"superior_id": UNKNOWN})
    assert "superior_id" in assert_problem(r, 422)["errors"]
    db.session.expire_all()
    assert db.session.get(Employee, org.kadis.id).superior_id is None
    r = api.patch(f"/api/v1/employees/{org.staff.id}", org.u_admin, json={"superior_id": org.kabid.id})
    assert r.status_code == 200, r.get_json()


def test_unit_cannot_move_under_itself(api, org):
    for target in (org.dinas.id, org.bidang.id, org.seksi.id):
        r = api.patch(f"/api/v1/units/{org.dinas.id}", org.u_admin, json={"parent_id": target})
        assert "parent_id" in assert_problem(r, 422)["errors"]
    r = api.patch(f"/api/v1/units/{org.dinas.id}", org.u_admin, json={"parent_id": UNKNOWN})
    assert "parent_id" in assert_problem(r, 422)["errors"]
    db.session.expire_all()
    assert db.session.get(Unit, org.seksi.id).path.startswith(db.session.get(Unit, org.dinas.id).path)
    r = api.patch(f"/api/v1/units/{org.bidang.id}", org.u_admin, json={"parent_id": org.other.id})
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    assert db.session.get(Unit, org.seksi.id).path.startswith(db.session.get(Unit, org.other.id).path)


def test_admin_input_validation(api, org):
    cases = [
        ("/api/v1/units", {"code": "", "name": "x", "parent_id": org.province.id}),
        ("/api/v1/units", {"code": "X1", "name": "x", "parent_id": org.province.id, "timezone": "UTC"}),
        ("/api/v1/units", {"code": "X1", "name": "x", "parent_id": "1"}),
        ("/api/v1/employees", _employee_body(org, GOOD_NIP, email="bukan-email")),
        ("/api/v1/employees", _employee_body(org, GOOD_NIP, position_type="XX")),
        ("/api/v1/employees", _employee_body(org, GOOD_NIP, unit_id=UNKNOWN)),
        ("/api/v1/users", {"username": "a b", "password": "panjang-sekali"}),
        ("/api/v1/users", {"username": "abc", "password": "pendek"}),
        (
            "/api/v1/users",
            {"username": "abc", "password": "panjang-sekali", "roles": [{"role": "root", "unit_id": 1}]},
        ),
        (
            "/api/v1/users",
            {"username": "abc", "password": "panjang-sekali", "roles": [{"role": "hr", "unit_id": UNKNOWN}]},
        ),
        ("/api/v1/users", {"username": "abc", "password": "panjang-sekali", "employee_id": UNKNOWN}),
    ]
    for path, body in cases:
        assert_problem(api.post(path, org.u_admin, json=body), 422)
    # non-admins are refused
    assert_problem(
        api.post("/api/v1/units", org.u_staff, json={"code": "Y", "name": "y", "parent_id": org.dinas.id}),
        403,
    )
    assert_problem(api.get("/api/v1/users", org.u_hr), 403)


def test_cycle_create_bad_input(api, org):
    today = utcnow().date()
    good = {
        "name": "Periode",
        "year": today.year,
        "unit_id": org.dinas.id,
        **{
            k: (today + timedelta(days=i * 10)).isoformat()
            for i, k in enumerate(
                [
                    "period_start",
                    "plan_due",
                    "midyear_start",
                    "midyear_end",
                    "scoring_start",
                    "scoring_end",
                    "feedback_due",
                    "training_due",
                    "period_end",
                ]
            )
        },
    }
    assert api.post("/api/v1/cycles", org.u_hr, json=good).status_code == 201
    for change in (
        {"year": "2026"},
        {"year": 1999},
        {"midyear_start": good["period_start"], "plan_due": good["scoring_end"]},
        {"period_end": "2000-01-01"},
        {"unit_id": org.other.id},
        {"unit_id": UNKNOWN},
        {"scoring_scheme": "pp_99"},
        {"sla_policy": "fast"},
        {"feedback_due": "not a date"},
    ):
        assert_problem(api.post("/api/v1/cycles", org.u_hr, json={**good, **change}), 422)
    assert_problem(api.post("/api/v1/cycles", org.u_staff, json=good), 403)
    cycle = factories.cycle(org.dinas)
    db.session.commit()
    for body in (
        {},
        {"version": "1"},
        {"version": cycle.version, "force": "maybe"},
        {"version": cycle.version, "bogus": 1},
    ):
        assert_problem(api.post(f"/api/v1/cycles/{cycle.id}/events/launch", org.u_hr, json=body), 422)
    assert_problem(
        api.post(f"/api/v1/cycles/{cycle.id}/events/launch", org.u_hr, json={"version": cycle.version + 5}),
        409,
    )
    assert_problem(
        api.post(
            f"/api/v1/cycles/{cycle.id}/events/launch",
            org.u_hr,
            json={"version": cycle.version, "force": True},
        ),
        422,
    )


def test_extreme_dates_and_unbounded_sla_policies_are_refused(api, org):
    """Found by fuzzing: year-9999 leave overflowed the working-day arithmetic (500)."""
    r = api.post(
        f"/api/v1/employees/{org.kasi.id}/leave",
        org.u_hr,
        json={"start_date": "2026-01-05", "end_date": "9999-12-31"},
    )
    assert r.status_code == 422 and "end_date" in r.get_json()["errors"]
    r = api.post(
        f"/api/v1/employees/{org.kasi.id}/leave",
        org.u_hr,
        json={"start_date": "2026-01-05", "end_date": "2099-12-31"},
    )
    assert r.status_code == 201  # a very long leave is fine: only the days that matter expand
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in _cycle_body(org).items()}
    for policy in (
        {"events": {"submit_plan": {"working_days": 10**9}}},
        {"events": {"no_such_event": {"working_days": 5}}},
        {"ladder": {"reminder_days_before": 1000}},
        {"holidays": {"add": ["not-a-date"]}},
        {"holidays": {"add": ["9999-01-01"]}},
        {"unknown": 1},
    ):
        r = api.post("/api/v1/cycles", org.u_hr, json={**body, "sla_policy": policy})
        assert r.status_code == 422, (policy, r.get_json())
    good = {"events": {"submit_plan": {"working_days": 7}}, "holidays": {"add": ["2026-12-31"]}}
    r = api.post("/api/v1/cycles", org.u_hr, json={**body, "sla_policy": good})
    assert r.status_code == 201 and r.get_json()["sla_policy"] == good


def _cycle_body(org) -> dict:
    from datetime import date

    return {
        "name": "Periode Uji",
        "year": 2027,
        "unit_id": org.dinas.id,
        "period_start": date(2027, 1, 1),
        "period_end": date(2027, 12, 31),
        "plan_due": date(2027, 1, 31),
        "midyear_start": date(2027, 6, 1),
        "midyear_end": date(2027, 7, 31),
        "scoring_start": date(2027, 12, 1),
        "scoring_end": date(2028, 1, 15),
        "feedback_due": date(2028, 1, 31),
        "training_due": date(2028, 3, 31),
    }
