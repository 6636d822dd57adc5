"""Issue #6: a safe first start (row 8) and strict input (rows 10, 14, 15), through the CLI and the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workflow_app import create_app
from workflow_app.dev.demo import DemoRefusedInProduction, load_demo
from workflow_app.extensions import db
from workflow_app.models import RoleAssignment, Unit, User

STRONG = "kuat-dan-panjang-2026"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- row 8: demo data in production, and the first admin -----------------------------------------


def test_demo_load_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("AUDIT_KEY", "y" * 48)
    prod = create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": ""})
    result = prod.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 1
    assert "refused in production" in result.output and "create-admin" in result.output
    result = prod.test_cli_runner().invoke(args=["demo", "load", "--force"])
    assert result.exit_code == 1 and "refused in production" in result.output


def test_load_demo_itself_refuses_a_production_profile(app, monkeypatch):
    users = count(User)
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    with pytest.raises(DemoRefusedInProduction, match="KINERJA_ENV=production"):
        load_demo()
    assert count(User) == users


def create_admin(app, *args, **kw):
    return app.test_cli_runner().invoke(args=["users", "create-admin", *args], **kw)


def test_create_admin_from_a_password_file_on_an_empty_database(app, api, tmp_path):
    secret = tmp_path / "admin_password"
    secret.write_text(f"  {STRONG}  \nsecond line ignored\n")
    result = create_admin(app, "kepala.bkd", "--password-file", str(secret), "--unit-code", "JATENG")
    assert result.exit_code == 0, result.output
    assert "Created the root unit" in result.output
    root = db.session.scalar(select(Unit).where(Unit.code == "JATENG"))
    assert root.parent_id is None and root.path == f"/{root.id}/"
    user = db.session.scalar(select(User).where(User.username == "kepala.bkd"))
    assert [(r.role, r.unit_id) for r in user.roles] == [("admin", root.id)]
    assert STRONG not in user.password_hash
    # The new admin logs in (the password is the stripped first line) and administers.
    assert api.token("kepala.bkd", STRONG)
    r = api.get("/api/v1/users", "kepala.bkd")
    assert r.status_code == 200, r.get_json()
    r = api.post(
        "/api/v1/units",
        "kepala.bkd",
        json={"code": "DINKES", "name": "Dinas Kesehatan", "parent_id": root.id},
    )
    assert r.status_code == 201, r.get_json()


def test_create_admin_uses_the_only_top_level_unit(app, org, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(STRONG)
    result = create_admin(app, "admin2", "--password-file", str(secret))
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "admin2"))
    assert [(r.role, r.unit_id) for r in user.roles] == [("admin", org.province.id)]
    # A unit below the top is refused: the first admin manages a whole tree.
    result = create_admin(app, "admin3", "--password-file", str(secret), "--unit-id", str(org.dinas.id))
    assert result.exit_code == 1 and "not top-level" in result.output


def test_create_admin_refuses_a_short_password(app, org, tmp_path):
    before = (count(User), count(RoleAssignment))
    secret = tmp_path / "pw"
    secret.write_text("pendek-11ch\n")
    result = create_admin(app, "admin2", "--password-file", str(secret))
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    secret.write_text("\n")
    result = create_admin(app, "admin2", "--password-file", str(secret))
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    assert (count(User), count(RoleAssignment)) == before


def test_create_admin_refuses_an_existing_username(app, org, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(STRONG)
    before = db.session.scalar(select(User.password_hash).where(User.username == "admin"))
    for name in ("admin", "ADMIN"):
        result = create_admin(app, name, "--password-file", str(secret))
        assert result.exit_code == 1 and "already exists" in result.output
    assert db.session.scalar(select(User.password_hash).where(User.username == "admin")) == before


def test_create_admin_prompts_twice_for_a_hidden_password(app, org, api):
    result = create_admin(app, "admin2", input=f"{STRONG}\n{STRONG}\n")
    assert result.exit_code == 0, result.output
    assert STRONG not in result.output  # hidden
    assert api.token("admin2", STRONG)
    # A mismatch is asked again; a short one is refused.
    result = create_admin(app, "admin3", input=f"{STRONG}\nlain-sekali-2026\n{STRONG}\n{STRONG}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower()
    result = create_admin(app, "admin4", input="pendek\npendek\n")
    assert result.exit_code == 1 and "at least 12 characters" in result.output


def test_create_admin_takes_no_password_argument(app, org):
    result = create_admin(app, "admin2", "--password", STRONG)
    assert result.exit_code == 2
    result = create_admin(app, "admin2", STRONG)
    assert result.exit_code == 2
    assert db.session.scalar(select(User).where(User.username == "admin2")) is None


# --- row 10: digits are ASCII 0-9 --------------------------------------------------------------

VALID_NIP = "198001012005011001"
NOT_ASCII_NIPS = [
    VALID_NIP[:-1] + "²",  # isdigit() but int() fails: was a 500
    VALID_NIP[:12] + "²" + VALID_NIP[13:],
    "".join(chr(ord(c) + 0xFEE0) for c in VALID_NIP),  # full-width: was accepted
    "".join(chr(ord(c) - ord("0") + 0x0660) for c in VALID_NIP),  # Arabic-Indic
    VALID_NIP[:8] + "\u0e52" + VALID_NIP[9:],  # one Thai digit
]


def assert_field_error(r, field: str) -> dict:
    assert r.status_code == 422, (r.status_code, r.get_json())
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["type"].endswith("/validation-error") and field in body["errors"], body
    return body


@pytest.mark.parametrize(
    "nip", NOT_ASCII_NIPS, ids=["superscript-last", "superscript-tmt", "fullwidth", "arabic", "thai"]
)
def test_nip_with_non_ascii_digits_is_a_field_error(api, org, nip):
    from workflow_app.models import Employee

    employees = count(Employee)
    body = {"nip": nip, "name": "Pegawai Baru", "unit_id": org.seksi.id, "position": "Analis"}
    r = api.post("/api/v1/employees", org.u_admin, json=body)
    assert "0-9" in assert_field_error(r, "nip")["errors"]["nip"][0]
    assert count(Employee) == employees
    before = org.staff.nip
    r = api.patch(f"/api/v1/employees/{org.staff.id}", org.u_admin, json={"nip": nip})
    assert_field_error(r, "nip")
    db.session.expire_all()
    assert db.session.get(Employee, org.staff.id).nip == before
    # The same NIP in ASCII digits is fine.
    assert api.post("/api/v1/employees", org.u_admin, json={**body, "nip": VALID_NIP}).status_code == 201


@pytest.mark.parametrize("value", ["１", "١", "²", " 1", "+1", "1_0", "0x1", "1.0", "", "-1"])
def test_query_ids_and_pages_are_ascii_digits(api, org, value):
    from urllib.parse import quote

    v = quote(value)
    for path, field in [
        (f"/api/v1/employees?unit={v}", "unit"),
        (f"/api/v1/employees?page={v}", "page"),
        (f"/api/v1/appraisals?unit={v}", "unit"),
        (f"/api/v1/appraisals?per_page={v}", "per_page"),
        (f"/api/v1/monitoring/stuck?idle_days={v}", "idle_days"),
        (f"/api/v1/notifications?page={v}", "page"),
    ]:
        assert_field_error(api.get(path, org.u_hr), field)
    assert api.get(f"/api/v1/employees?unit={org.seksi.id}&page=1&per_page=5", org.u_hr).status_code == 200


def test_path_ids_are_ascii_digits(api, org):
    assert api.get(f"/api/v1/employees/{org.staff.id}", org.u_admin).status_code == 200
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in str(org.staff.id))
    r = api.get(f"/api/v1/employees/{fullwidth}", org.u_admin)
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


# --- row 14 and booleans: JSON true/false only ---------------------------------------------------

NOT_BOOLEANS = [0, 1, "true", "false", "yes", None, [], {}]


@pytest.fixture
def submitted(org):
    from tests.test_transition_matrix import put_in_state, staff_appraisal

    return put_in_state(staff_appraisal(org), "plan_submitted")


@pytest.mark.parametrize("dry_run", NOT_BOOLEANS, ids=repr)
def test_bulk_events_dry_run_must_be_a_json_boolean(api, org, submitted, dry_run):
    from tests.test_transition_matrix import snapshot
    from workflow_app.models import OutboxMessage

    before, outbox = snapshot(submitted.id), count(OutboxMessage)
    body = {"event": "approve_plan", "ids": [submitted.id], "dry_run": dry_run}
    assert_field_error(api.post("/api/v1/appraisals/bulk-events", org.u_kasi, json=body), "dry_run")
    assert snapshot(submitted.id) == before and count(OutboxMessage) == outbox
    r = api.post("/api/v1/appraisals/bulk-events", org.u_kasi, json={**body, "dry_run": True})
    assert r.status_code == 200 and r.get_json()["applied"] == 1
    assert snapshot(submitted.id) == before


@pytest.mark.parametrize("dry_run", NOT_BOOLEANS, ids=repr)
def test_bulk_reassign_dry_run_must_be_a_json_boolean(api, org, submitted, dry_run):
    from tests.test_transition_matrix import snapshot
    from workflow_app.models import Appraisal

    before = snapshot(submitted.id)
    body = {"ids": [submitted.id], "assessor_id": org.kabid.id, "reason": "Reorganisasi", "dry_run": dry_run}
    assert_field_error(api.post("/api/v1/appraisals/bulk-reassign", org.u_hr, json=body), "dry_run")
    db.session.expire_all()
    assert db.session.get(Appraisal, submitted.id).assessor_id == org.kasi.id
    assert snapshot(submitted.id) == before


@pytest.mark.parametrize("value", [1, 0, "true", "no"], ids=repr)
def test_boolean_fields_in_bodies_refuse_numbers_and_strings(api, org, value):
    from workflow_app.models import Employee

    r = api.patch(f"/api/v1/employees/{org.staff.id}", org.u_admin, json={"active": value})
    assert_field_error(r, "active")
    r = api.patch(f"/api/v1/users/{org.u_peer.id}", org.u_admin, json={"active": value})
    assert_field_error(r, "active")
    db.session.expire_all()
    assert db.session.get(Employee, org.staff.id).active is True
    assert db.session.get(User, org.u_peer.id).active is True


@pytest.mark.parametrize("value", ["1", "0", "yes", "True", "TRUE", "on", ""])
def test_boolean_query_parameters_are_true_or_false(api, org, value):
    for path, field, user in [
        (f"/api/v1/appraisals?overdue={value}", "overdue", org.u_hr),
        (f"/api/v1/notifications?unread={value}", "unread", org.u_staff),
        (f"/api/v1/monitoring/incidents?include_resolved={value}", "include_resolved", org.u_hr),
    ]:
        assert_field_error(api.get(path, user), field)
    assert api.get("/api/v1/appraisals?overdue=true", org.u_hr).status_code == 200
    assert api.get("/api/v1/notifications?unread=false", org.u_staff).status_code == 200
    assert api.get("/api/v1/monitoring/incidents?include_resolved=true", org.u_hr).status_code == 200


# --- row 15: a body the schema requires is required ----------------------------------------------


def patch_targets(org):
    return [
        ("/api/v1/notifications/preferences", org.u_staff),
        (f"/api/v1/employees/{org.staff.id}", org.u_admin),
        (f"/api/v1/units/{org.seksi.id}", org.u_admin),
        (f"/api/v1/users/{org.u_peer.id}", org.u_admin),
    ]


@pytest.mark.parametrize("how", ["no body", "empty object"])
def test_patch_without_fields_is_refused(api, org, how):
    kw = {} if how == "no body" else {"json": {}}
    for path, user in patch_targets(org):
        before = api.get(path, user).get_json()
        r = api.patch(path, user, **kw)
        body = assert_field_error(r, "_schema")
        assert "at least one field" in body["errors"]["_schema"][0]
        assert api.get(path, user).get_json() == before
    # One field is enough.
    r = api.patch("/api/v1/notifications/preferences", org.u_staff, json={"email_digest": "daily"})
    assert r.status_code == 200 and r.get_json()["email_digest"] == "daily"
