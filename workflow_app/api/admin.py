"""Admin endpoints: units, employees, users."""

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from workflow_app.api import actor
from workflow_app.models import EMPLOYMENT_TYPES, POSITION_TYPES, SCOPED_ROLES, TIMEZONES
from workflow_app.nip import validate_nip
from workflow_app.schemas.base import (
    Id,
    In,
    Name,
    PageQuery,
    Patch,
    QueryId,
    StrictBool,
    page_body,
    page_schema,
    take_page,
)
from workflow_app.services import admin
from workflow_app.uow import unit_of_work


class UnitIn(In):
    code = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    name = Name(required=True)
    parent_id = Id(allow_none=True, load_default=None)
    timezone = fields.Str(load_default="WIB", validate=validate.OneOf(TIMEZONES))


class UnitPatch(Patch):
    code = fields.Str(validate=validate.Length(min=1, max=40))
    name = Name()
    parent_id = Id(allow_none=True)
    timezone = fields.Str(validate=validate.OneOf(TIMEZONES))


class UnitOut(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    parent_id = fields.Int(allow_none=True)
    timezone = fields.Str()
    path = fields.Str()


class NipField(fields.Str):
    """A NIP: 18 ASCII digits whose parts must make sense (workflow_app/nip.py)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {
                "pattern": "^[0-9]{18}$",
                "format": "nip",
                "description": (
                    "NIP: 18 digits. Digits 1-8 the birth date (YYYYMMDD, born 1900 or later and "
                    "at least 15 years ago); 9-14 the TMT (YYYYMM, at least 17 years after birth, "
                    "not after next year); 15 the gender (1 or 2); 16-18 a sequence from 001."
                ),
                "example": "198503152010011001",
            }
        )
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        problems = validate_nip(value)
        if problems:
            raise ValidationError(problems)
        return value


class EmployeeIn(In):
    nip = NipField(required=True)
    name = Name(required=True)
    email = fields.Email(allow_none=True, load_default=None)
    unit_id = Id(required=True)
    position = Name(required=True)
    position_type = fields.Str(load_default="JA", validate=validate.OneOf(POSITION_TYPES))
    employment_type = fields.Str(load_default="PNS", validate=validate.OneOf(EMPLOYMENT_TYPES))
    grade = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=10))
    superior_id = Id(allow_none=True, load_default=None)
    active = StrictBool(load_default=True)


class EmployeePatch(Patch):
    nip = NipField()
    name = Name()
    email = fields.Email(allow_none=True)
    unit_id = Id()
    position = Name()
    position_type = fields.Str(validate=validate.OneOf(POSITION_TYPES))
    employment_type = fields.Str(validate=validate.OneOf(EMPLOYMENT_TYPES))
    grade = fields.Str(allow_none=True, validate=validate.Length(max=10))
    superior_id = Id(allow_none=True)
    active = StrictBool()


class EmployeeOut(Schema):
    id = fields.Int()
    nip = fields.Str()
    name = fields.Str()
    email = fields.Str(allow_none=True)
    unit_id = fields.Int()
    position = fields.Str()
    position_type = fields.Str()
    employment_type = fields.Str()
    grade = fields.Str(allow_none=True)
    superior_id = fields.Int(allow_none=True)
    active = fields.Bool()


class EmployeeQuery(PageQuery):
    unit = QueryId()
    q = fields.Str(validate=validate.Length(max=100))


class RoleIn(In):
    role = fields.Str(required=True, validate=validate.OneOf(SCOPED_ROLES))
    unit_id = Id(required=True)


class RoleOut(Schema):
    role = fields.Str()
    unit_id = fields.Int()
    unit_name = fields.Function(lambda r: r.unit.name)


class UserIn(In):
    username = fields.Str(
        required=True,
        validate=[validate.Length(min=3, max=80), validate.Regexp(r"^[A-Za-z0-9._-]+$")],
    )
    password = fields.Str(required=True, validate=validate.Length(min=8, max=200))
    employee_id = Id(allow_none=True, load_default=None)
    locale = fields.Str(load_default="id", validate=validate.OneOf(["id", "en"]))
    roles = fields.List(fields.Nested(RoleIn), load_default=list, validate=validate.Length(max=50))
    active = StrictBool(load_default=True)


class UserPatch(Patch):
    password = fields.Str(validate=validate.Length(min=8, max=200))
    employee_id = Id(allow_none=True)
    locale = fields.Str(validate=validate.OneOf(["id", "en"]))
    roles = fields.List(fields.Nested(RoleIn), validate=validate.Length(max=50))
    active = StrictBool()


class UserOut(Schema):
    id = fields.Int()
    username = fields.Str()
    employee_id = fields.Int(allow_none=True)
    locale = fields.Str()
    active = fields.Bool()
    roles = fields.List(fields.Nested(RoleOut))


EmployeePage = page_schema(EmployeeOut)


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
    page, per_page = take_page(query)
    rows, total = admin.list_employees(actor(), query, page, per_page)
    return page_body(rows, total, page, per_page)


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
