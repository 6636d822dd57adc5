"""The demo's logins: which passwords it knows, kept in ``instance/demo-logins.json`` (mode 0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from config import INSTANCE_DIR
from workflow_app.extensions import db
from workflow_app.models import Employee, User
from workflow_app.security import verify_password

DEMO_PASSWORD = "kinerja-demo"
ADMIN_PASSWORD_ENV = "KINERJA_ADMIN_PASSWORD"

# The logins `make run` prints: admin, HR and one chain down the Dinas Kesehatan.
FEATURED_LOGINS = (
    "admin",
    "hr",
    "yuliana.kusumawati",
    "arief.rahman",
    "endang.sulistyowati",
    "bayu.nugroho",
)
SYSTEM_USER_NAMES = {"admin": "Administrator", "hr": "Pengelola Kinerja (BKD)"}


def logins_path() -> Path:
    configured = current_app.config.get("DEMO_LOGINS_FILE")
    return Path(configured) if configured else Path(INSTANCE_DIR) / "demo-logins.json"


def write_logins_file(passwords: dict[str, str]) -> None:
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"default_password": DEMO_PASSWORD, "passwords": passwords}, fh, indent=2)
        fh.write("\n")


def demo_logins() -> list[dict]:
    """Every login whose password is known to the demo (checked against its stored hash)."""
    known: dict[str, str] = {}
    path = logins_path()
    default = DEMO_PASSWORD
    if path.exists():
        try:
            data = json.loads(path.read_text())
            known = dict(data.get("passwords") or {})
            default = data.get("default_password") or DEMO_PASSWORD
        except (OSError, ValueError):
            known = {}
    env_admin = os.environ.get(ADMIN_PASSWORD_ENV)
    superiors = set(db.session.scalars(select(Employee.superior_id).where(Employee.superior_id.is_not(None))))
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    verified: dict[tuple[str, str], bool] = {}
    rows = []
    for user in users:
        candidates = [known.get(user.username), default]
        if user.username == "admin" and env_admin:
            candidates.insert(0, env_admin)
        password = None
        for candidate in dict.fromkeys(c for c in candidates if c):
            key = (user.password_hash, candidate)
            if key not in verified:
                verified[key] = verify_password(user.password_hash, candidate)
            if verified[key]:
                password = candidate
                break
        if password is None:
            continue
        roles = sorted({r.role for r in user.roles})
        if roles:
            role = "admin" if "admin" in roles else roles[0]
        elif user.employee_id in superiors:
            role = "assessor"
        else:
            role = "employee"
        employee = user.employee
        rows.append(
            {
                "username": user.username,
                "password": password,
                "role": role,
                "name": employee.name if employee else SYSTEM_USER_NAMES.get(user.username, user.username),
                "employee_id": user.employee_id,
                "position": employee.position if employee else None,
            }
        )
    order = {"admin": 0, "hr": 1}
    rows.sort(key=lambda r: order.get(r["role"], 2))
    return rows
