"""Issue #6: a safe first start (row 8) and strict input (rows 10, 14, 15), through the CLI and the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workflow_app import create_app
from workflow_app.demo import DemoRefusedInProduction, load_demo
from workflow_app.extensions import db
from workflow_app.models import RoleAssignment, Unit, User

STRONG = "kuat-dan-panjang-2026"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- row 8: demo data in production, and the first admin -----------------------------------------


def test_demo_load_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
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
