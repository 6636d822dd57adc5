"""Admin endpoints: units, employees, users."""

from flask_smorest import Blueprint

from workflow_app.api import actor
from workflow_app.api.schemas import (
    EmployeeIn,
    EmployeeOut,
    EmployeePage,
    EmployeePatch,
    EmployeeQuery,
    UnitIn,
    UnitOut,
    UnitPatch,
    UserIn,
    UserOut,
    UserPatch,
)
from workflow_app.services import admin
from workflow_app.uow import unit_of_work

blp = Blueprint("admin", __name__, url_prefix="/api/v1", description="Units, employees and users")


@blp.route("/units", methods=["GET"])
@blp.response(200, UnitOut(many=True))
def list_units():
    """Units in your HR or admin scope, in tree order."""
    return admin.list_units(actor())


@blp.route("/units", methods=["POST"])
@blp.arguments(UnitIn)
@blp.response(201, UnitOut)
def create_unit(data):
    """Create a unit under a unit you administer."""
    with unit_of_work():
        unit = admin.create_unit(actor(), data)
    return unit


@blp.route("/units/<int:unit_id>", methods=["GET"])
@blp.response(200, UnitOut)
def get_unit(unit_id):
    return admin.get_unit(actor(), unit_id)


@blp.route("/units/<int:unit_id>", methods=["PATCH"])
@blp.arguments(UnitPatch)
@blp.response(200, UnitOut)
def update_unit(data, unit_id):
    """Rename, recode or move a unit (its subtree moves with it)."""
    with unit_of_work():
        unit = admin.update_unit(actor(), unit_id, data)
    return unit


@blp.route("/employees", methods=["GET"])
@blp.arguments(EmployeeQuery, location="query")
@blp.response(200, EmployeePage)
def list_employees(query):
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = admin.list_employees(actor(), query, page, per_page)
    return {"items": rows, "page": page, "per_page": per_page, "total": total}


@blp.route("/employees", methods=["POST"])
@blp.arguments(EmployeeIn)
@blp.response(201, EmployeeOut)
def create_employee(data):
    """Create an employee (NIP validated) in a unit you manage."""
    with unit_of_work():
        employee = admin.create_employee(actor(), data)
    return employee


@blp.route("/employees/<int:employee_id>", methods=["GET"])
@blp.response(200, EmployeeOut)
def get_employee(employee_id):
    return admin.get_employee(actor(), employee_id)


@blp.route("/employees/<int:employee_id>", methods=["PATCH"])
@blp.arguments(EmployeePatch)
@blp.response(200, EmployeeOut)
def update_employee(data, employee_id):
    with unit_of_work():
        employee = admin.update_employee(actor(), employee_id, data)
    return employee


@blp.route("/users", methods=["GET"])
@blp.response(200, UserOut(many=True))
def list_users():
    return admin.list_users(actor())


@blp.route("/users", methods=["POST"])
@blp.arguments(UserIn)
@blp.response(201, UserOut)
def create_user(data):
    """Create an account, optionally linked to an employee, with scoped HR/admin roles."""
    with unit_of_work():
        user = admin.create_user(actor(), data)
    return user


@blp.route("/users/<int:user_id>", methods=["GET"])
@blp.response(200, UserOut)
def get_user(user_id):
    return admin.get_user(actor(), user_id)


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@blp.arguments(UserPatch)
@blp.response(200, UserOut)
def update_user(data, user_id):
    """Change password (revokes the user's tokens), roles, locale or active flag."""
    with unit_of_work():
        user = admin.update_user(actor(), user_id, data)
    return user
