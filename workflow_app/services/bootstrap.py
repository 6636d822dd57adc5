"""The first administrator of a fresh installation (``flask users create-admin``)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import TIMEZONES, RoleAssignment, Unit, User
from workflow_app.security import hash_password
from workflow_app.services import audit
from workflow_app.services.access import Actor

MIN_ADMIN_PASSWORD = 12
MAX_PASSWORD = 200  # as the API's UserIn
USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,80}$")  # as the API's UserIn


class BootstrapError(ValueError):
    """A refusal with a message for the operator."""


def check_password(password: str) -> None:
    if len(password) < MIN_ADMIN_PASSWORD:
        raise BootstrapError(f"The password must be at least {MIN_ADMIN_PASSWORD} characters long.")
    if len(password) > MAX_PASSWORD:
        raise BootstrapError(f"The password may be at most {MAX_PASSWORD} characters long.")


def create_admin(
    username: str,
    password: str,
    *,
    unit_id: int | None = None,
    unit_code: str = "PROV",
    unit_name: str = "Pemerintah Provinsi",
    timezone: str = "WIB",
) -> tuple[User, Unit, bool]:
    """Create ``username`` with role ``admin`` on a top-level unit (the caller commits).

    The unit is ``unit_id`` (which must be top-level), else the only top-level unit, else a new
    root unit ``unit_code``/``unit_name`` when there is none. Returns (user, unit, unit_created).
    """
    if not USERNAME.fullmatch(username):
        raise BootstrapError("A username is 3-80 characters: ASCII letters, digits, '.', '_' or '-'.")
    check_password(password)
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise BootstrapError(f"A user named {username!r} already exists; nothing was changed.")
    created = False
    if unit_id is not None:
        unit = db.session.get(Unit, unit_id)
        if unit is None:
            raise BootstrapError(f"There is no unit {unit_id}.")
        if unit.parent_id is not None:
            raise BootstrapError(f"Unit {unit_id} is not top-level; the first admin manages a whole tree.")
    else:
        roots = db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).all()
        if len(roots) > 1:
            listed = ", ".join(f"{u.id} ({u.code})" for u in roots)
            raise BootstrapError(f"There are several top-level units ({listed}); choose one with --unit-id.")
        if roots:
            unit = roots[0]
        else:
            if timezone not in TIMEZONES:
                raise BootstrapError(f"The time zone is one of {', '.join(TIMEZONES)}.")
            if not 1 <= len(unit_code) <= 40 or not 1 <= len(unit_name) <= 200:
                raise BootstrapError("The unit code is 1-40 characters and the unit name 1-200.")
            unit = Unit(code=unit_code, name=unit_name, timezone=timezone, path="/")
            db.session.add(unit)
            db.session.flush()
            unit.path = f"/{unit.id}/"
            created = True
    user = User(username=username, password_hash=hash_password(password), locale="id")
    user.roles.append(RoleAssignment(role="admin", unit_id=unit.id))
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user",
        user.id,
        "user_created",
        Actor.system(),
        utcnow(),
        {"username": username, "roles": [{"role": "admin", "unit_id": unit.id}], "via": "create-admin"},
    )
    return user, unit, created
