"""Who the caller is, and what they are to a unit, a cycle or an appraisal."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import false, or_

from workflow_app.models import Appraisal, Unit, User


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    employee_id: int | None
    username: str
    hr_paths: tuple[str, ...] = ()
    admin_paths: tuple[str, ...] = ()
    is_system: bool = False
    roles: tuple[str, ...] = field(default=())

    @classmethod
    def from_user(cls, user: User) -> Actor:
        hr = tuple(sorted({r.unit.path for r in user.roles if r.role == "hr"}))
        admin = tuple(sorted({r.unit.path for r in user.roles if r.role == "admin"}))
        roles = tuple(sorted({r.role for r in user.roles}))
        return cls(user.id, user.employee_id, user.username, hr, admin, False, roles)

    @classmethod
    def system(cls) -> Actor:
        return cls(None, None, "system", is_system=True, roles=("system",))

    def hr_covers(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.hr_paths)

    def admin_covers(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.admin_paths)

    def manages(self, path: str) -> bool:
        return self.hr_covers(path) or self.admin_covers(path)


def appraisal_relations(actor: Actor, appraisal: Appraisal) -> frozenset[str]:
    """The caller's relations to one appraisal, as roles of the appraisal workflow.

    ``admin`` may see an appraisal but is named by no transition. HR never acts as HR on their
    own appraisal. When an appraisal has no assessor (or no assessor's superior) in the org
    chart — the top of a unit tree — HR in scope records that official's decisions.
    """
    if actor.is_system:
        return frozenset({"system"})
    rel: set[str] = set()
    eid = actor.employee_id
    if eid is not None:
        if appraisal.employee_id == eid:
            rel.add("employee")
        if appraisal.assessor_id == eid:
            rel.add("assessor")
        if appraisal.superior_id == eid:
            rel.add("superior")
    path = appraisal.unit.path
    if actor.hr_covers(path) and appraisal.employee_id != eid:
        rel.add("hr")
        if appraisal.assessor_id is None:
            rel.add("assessor")
        if appraisal.superior_id is None:
            rel.add("superior")
    if actor.admin_covers(path):
        rel.add("admin")
    return frozenset(rel)


def _path_filter(paths: tuple[str, ...]):
    return or_(*[Unit.path.startswith(p, autoescape=True) for p in paths]) if paths else false()


def appraisal_visibility(actor: Actor):
    """A WHERE clause for the appraisals the actor may see (the query must join Unit)."""
    if actor.is_system:
        return None
    clauses = [_path_filter(actor.hr_paths + actor.admin_paths)]
    if actor.employee_id is not None:
        eid = actor.employee_id
        clauses += [
            Appraisal.employee_id == eid,
            Appraisal.assessor_id == eid,
            Appraisal.superior_id == eid,
        ]
    return or_(*clauses)


def unit_scope_filter(actor: Actor, roles: tuple[str, ...] = ("hr", "admin")):
    paths: tuple[str, ...] = ()
    if "hr" in roles:
        paths += actor.hr_paths
    if "admin" in roles:
        paths += actor.admin_paths
    return _path_filter(paths)
