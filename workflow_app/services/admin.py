"""Admin use cases: units, employees, users and their scoped roles."""

from __future__ import annotations

from sqlalchemy import func, literal, or_, select, update

from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import Employee, RoleAssignment, Unit, User
from workflow_app.security import hash_password
from workflow_app.services import audit
from workflow_app.services.access import Actor, unit_scope_filter
from workflow_app.services.auth import end_sessions
from workflow_app.uow import flush_unique


def _require_admin(actor: Actor) -> None:
    if not actor.admin_paths:
        raise problems.forbidden(N_("This needs the admin role."))


def _unit_in_scope(actor: Actor, unit_id: int | None, roles=("admin",), field: str = "unit_id") -> Unit:
    unit = db.session.get(Unit, unit_id) if unit_id is not None else None
    paths = (actor.admin_paths if "admin" in roles else ()) + (actor.hr_paths if "hr" in roles else ())
    if unit is None or not any(unit.path.startswith(p) for p in paths):
        raise problems.validation_error({field: [N_("No unit with that id is in your scope.")]})
    return unit


# --- units -----------------------------------------------------------------------------------


def list_units(actor: Actor) -> list[Unit]:
    query = select(Unit).order_by(Unit.path)
    if not actor.is_system:
        # Everyone may see the org chart of the units they manage; staff see their own units.
        query = query.where(unit_scope_filter(actor))
    return db.session.scalars(query).all()


def get_unit(actor: Actor, unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None or not actor.manages(unit.path):
        raise problems.not_found("unit")
    return unit


def create_unit(actor: Actor, data: dict) -> Unit:
    _require_admin(actor)
    parent_id = data.get("parent_id")
    if parent_id is None:
        if "/" not in actor.admin_paths:
            raise problems.validation_error({"parent_id": [N_("Only a root admin creates top-level units.")]})
        parent_path = "/"
    else:
        parent_path = _unit_in_scope(actor, parent_id, field="parent_id").path
    unit = Unit(**data, path="/")
    db.session.add(unit)
    flush_unique("code", N_("A unit with this code exists."))
    unit.path = f"{parent_path}{unit.id}/"
    db.session.flush()
    return unit


def update_unit(actor: Actor, unit_id: int, data: dict) -> Unit:
    _require_admin(actor)
    unit = get_unit(actor, unit_id)
    if not actor.admin_covers(unit.path):
        raise problems.forbidden(N_("You are not admin of this unit."))
    if "parent_id" in data and data["parent_id"] != unit.parent_id:
        new_parent_id = data.pop("parent_id")
        if new_parent_id is None:
            if "/" not in actor.admin_paths:
                raise problems.validation_error(
                    {"parent_id": [N_("Only a root admin makes a unit top-level.")]}
                )
            new_path = f"/{unit.id}/"
        else:
            parent = _unit_in_scope(actor, new_parent_id, field="parent_id")
            if parent.path.startswith(unit.path):
                raise problems.validation_error({"parent_id": [N_("A unit cannot move under itself.")]})
            new_path = f"{parent.path}{unit.id}/"
        old_path = unit.path
        unit.parent_id = new_parent_id
        db.session.flush()
        db.session.execute(
            update(Unit)
            .where(Unit.path.startswith(old_path, autoescape=True))
            .values(path=literal(new_path) + func.substr(Unit.path, len(old_path) + 1))
            .execution_options(synchronize_session="fetch")
        )
    else:
        data.pop("parent_id", None)
    for key, value in data.items():
        setattr(unit, key, value)
    flush_unique("code", N_("A unit with this code exists."))
    return unit


# --- employees -------------------------------------------------------------------------------


def list_employees(actor: Actor, filters: dict, page: int, per_page: int):
    query = select(Employee).join(Unit, Unit.id == Employee.unit_id).where(unit_scope_filter(actor))
    if filters.get("unit") is not None:
        unit = db.session.get(Unit, filters["unit"])
        if unit is None:
            raise problems.validation_error({"unit": [N_("Unknown unit.")]})
        query = query.where(Unit.path.startswith(unit.path, autoescape=True))
    if filters.get("q"):
        like = f"%{filters['q'].lower()}%"
        query = query.where(or_(func.lower(Employee.name).like(like), Employee.nip.like(like)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Employee.id).limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def get_employee(actor: Actor, employee_id: int) -> Employee:
    employee = db.session.get(Employee, employee_id)
    if employee is None:
        raise problems.not_found("employee")
    if actor.employee_id == employee_id or actor.manages(employee.unit.path):
        return employee
    raise problems.not_found("employee")


def _check_superior(actor: Actor, employee_id: int | None, superior_id: int | None) -> None:
    if superior_id is None:
        return
    superior = db.session.get(Employee, superior_id)
    if superior is None:
        raise problems.validation_error({"superior_id": [N_("Unknown employee.")]})
    if not actor.manages(superior.unit.path):
        raise problems.forbidden(N_("superior_id names an employee outside your scope."))
    # Walk up from the new superior: reaching the employee would make a loop.
    seen, current = set(), superior
    while current is not None and current.id not in seen:
        if employee_id is not None and current.id == employee_id:
            raise problems.validation_error({"superior_id": [N_("This would make a reporting loop.")]})
        seen.add(current.id)
        current = current.superior


def create_employee(actor: Actor, data: dict) -> Employee:
    _unit_in_scope(actor, data["unit_id"], roles=("admin", "hr"))
    _check_superior(actor, None, data.get("superior_id"))
    employee = Employee(**data)
    db.session.add(employee)
    flush_unique("nip", N_("An employee with this NIP exists."))
    return employee


def update_employee(actor: Actor, employee_id: int, data: dict) -> Employee:
    employee = db.session.get(Employee, employee_id)
    if employee is None or not actor.manages(employee.unit.path):
        raise problems.not_found("employee")
    if actor.employee_id == employee_id:
        # Their superior is their next assessor, their unit decides who manages them.
        raise problems.forbidden(N_("Your own employee record is changed by another officer."))
    if "unit_id" in data:
        _unit_in_scope(actor, data["unit_id"], roles=("admin", "hr"))
    if "superior_id" in data:
        if data["superior_id"] == employee_id:
            raise problems.validation_error({"superior_id": [N_("An employee cannot report to themself.")]})
        _check_superior(actor, employee_id, data["superior_id"])
    for key, value in data.items():
        setattr(employee, key, value)
    flush_unique("nip", N_("An employee with this NIP exists."))
    return employee


# --- users -----------------------------------------------------------------------------------


def _user_visible(actor: Actor, user: User) -> bool:
    if user.employee is not None and actor.admin_covers(user.employee.unit.path):
        return True
    return any(actor.admin_covers(r.unit.path) for r in user.roles)


def _check_user_within_scope(actor: Actor, user: User) -> None:
    """Scope is a ceiling: an admin changes only users whose person and roles lie inside it."""
    wider = sorted({r.unit.code for r in user.roles if not actor.admin_covers(r.unit.path)})
    if wider:
        raise problems.forbidden(
            N_(
                "This user holds roles beyond your scope (units {units}); an admin whose scope covers "
                "them changes this account.",
                units=", ".join(wider),
            )
        )
    if user.employee is not None and not actor.admin_covers(user.employee.unit.path):
        raise problems.forbidden(N_("This user's employee record lies outside your scope."))


def list_users(actor: Actor) -> list[User]:
    _require_admin(actor)
    users = db.session.scalars(select(User).order_by(User.id)).all()
    return [u for u in users if _user_visible(actor, u)]


def get_user(actor: Actor, user_id: int) -> User:
    _require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None or not _user_visible(actor, user):
        raise problems.not_found("user")
    return user


def _roles_of(user: User) -> list[dict]:
    return sorted(
        ({"role": r.role, "unit_id": r.unit_id} for r in user.roles), key=lambda r: (r["role"], r["unit_id"])
    )


def _set_roles(actor: Actor, user: User, roles: list[dict]) -> None:
    for r in roles:
        _unit_in_scope(actor, r["unit_id"], field="roles")
    user.roles.clear()
    db.session.flush()
    for r in {(r["role"], r["unit_id"]) for r in roles}:
        user.roles.append(RoleAssignment(role=r[0], unit_id=r[1]))


def _check_employee(actor: Actor, employee_id: int | None) -> None:
    if employee_id is None:
        return
    employee = db.session.get(Employee, employee_id)
    if employee is None or not actor.admin_covers(employee.unit.path):
        raise problems.validation_error({"employee_id": [N_("No employee with that id is in your scope.")]})


def _status(user: User) -> str:
    return "active" if user.active else "inactive"


def create_user(actor: Actor, data: dict) -> User:
    _require_admin(actor)
    _check_employee(actor, data.get("employee_id"))
    _check_hr_has_person(data.get("roles", []), data.get("employee_id"))
    roles = data.pop("roles", [])
    password = data.pop("password")
    user = User(**data, password_hash=hash_password(password))
    db.session.add(user)
    flush_unique("username", N_("This username or employee already has an account."))
    _set_roles(actor, user, roles)
    db.session.flush()
    audit.record(
        "user",
        user.id,
        "user_created",
        actor,
        utcnow(),
        {"username": user.username, "employee_id": user.employee_id, "roles": roles},
        status=_status(user),
    )
    return user


def _check_link_and_roles(actor: Actor, user: User, data: dict) -> None:
    """Who an account is (its employee) and what it may do (its roles) are changed by others.

    An admin who could relink or re-role their own account — or relink an account that holds
    roles — could make an account HR over their own appraisal. Only a root admin relinks an
    account with roles, and nobody changes their own link or roles.
    """
    if user.id == actor.user_id and ("employee_id" in data or "roles" in data):
        raise problems.forbidden(N_("Your own employee link and roles are changed by another admin."))
    relinked = "employee_id" in data and data["employee_id"] != user.employee_id
    if relinked and user.roles and not actor.admin_of_a_whole_tree:
        raise problems.forbidden(N_("Only a root admin changes the employee of an account that holds roles."))


def _check_hr_has_person(roles: list[dict], employee_id: int | None) -> None:
    """HR officers are civil servants: an HR role goes to an account linked to its employee."""
    if employee_id is None and any(r["role"] == "hr" for r in roles):
        raise problems.validation_error({"roles": [N_("An HR role needs an account linked to an employee.")]})


def update_user(actor: Actor, user_id: int, data: dict) -> User:
    user = get_user(actor, user_id)
    _check_user_within_scope(actor, user)
    _check_link_and_roles(actor, user, data)
    _check_hr_has_person(
        data["roles"] if "roles" in data else _roles_of(user), data.get("employee_id", user.employee_id)
    )
    now = utcnow()
    was_active = user.active
    if "password" in data:
        user.password_hash = hash_password(data.pop("password"))
        end_sessions(user)
        audit.record("user", user.id, "password_reset", actor, now, {}, status=_status(user))
    if "employee_id" in data:
        _check_employee(actor, data["employee_id"])
    if "roles" in data:
        before = _roles_of(user)
        _set_roles(actor, user, data.pop("roles"))
        db.session.flush()
        after = _roles_of(user)
        if before != after:
            audit.record(
                "user",
                user.id,
                "roles_changed",
                actor,
                now,
                {"before": before, "after": after},
                status=_status(user),
            )
    changed = {k: v for k, v in data.items() if getattr(user, k) != v}
    for key, value in data.items():
        setattr(user, key, value)
    if was_active and not user.active:
        # Tokens issued before a deactivation stay revoked: reactivation does not revive them.
        end_sessions(user)
    flush_unique("employee_id", N_("This employee already has an account."))
    if changed:
        audit.record("user", user.id, "user_updated", actor, now, changed, status=_status(user))
    return user
