"""Who the caller is, and what they are to a unit, a cycle or an appraisal."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import false, or_

from state_machines import APPRAISAL
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

    @property
    def admin_of_a_whole_tree(self) -> bool:
        """Admin on a top-level unit ("/<id>/"): the widest scope there is."""
        return any(p.count("/") == 2 for p in self.admin_paths)

    @property
    def manages_a_whole_tree(self) -> bool:
        return any(p.count("/") == 2 for p in self.hr_paths + self.admin_paths)


def arrangement(appraisal: Appraisal) -> tuple[int, int | None, int | None]:
    """(employee, assessor, superior) with the separation of duties applied.

    The three are different people: an assessor who is the employee, or a superior who is the
    employee, the assessor or whoever gave the current score, counts as vacant — whatever data put them there — so nobody
    judges their own appraisal or reviews their own decision.
    """
    employee = appraisal.employee_id
    assessor = appraisal.assessor_id if appraisal.assessor_id != employee else None
    # Whoever gave the current score never decides the objection against it either.
    excluded = (employee, assessor, appraisal.scored_by_employee_id)
    superior = appraisal.superior_id if appraisal.superior_id not in excluded else None
    return employee, assessor, superior


def appraisal_relations(actor: Actor, appraisal: Appraisal) -> frozenset[str]:
    """The caller's relations to one appraisal, as roles of the appraisal workflow.

    ``admin`` may see an appraisal but is named by no transition. On their own appraisal a
    person is only the employee: never assessor, superior or HR, whatever path led there.
    When an appraisal has no assessor (or no assessor's superior) — the top of a unit tree, or
    a vacancy left by the separation of duties — HR in scope records that official's decisions,
    but never both officials' on one appraisal.
    """
    if actor.is_system:
        return frozenset({"system"})
    rel: set[str] = set()
    eid = actor.employee_id
    employee, assessor, superior = arrangement(appraisal)
    path = appraisal.unit.path
    if eid is not None and eid == employee:
        rel.add("employee")
    else:
        if eid is not None:
            if assessor == eid:
                rel.add("assessor")
            if superior == eid:
                rel.add("superior")
        if actor.hr_covers(path):
            rel.add("hr")
            scorer = actor.user_id == appraisal.scored_by_user_id or (
                eid is not None and eid == appraisal.scored_by_employee_id
            )
            if assessor is None and "superior" not in rel:
                rel.add("assessor")
            if superior is None and "assessor" not in rel and not scorer:
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


def holder_employee_id(appraisal: Appraisal, state: str | None = None) -> int | None:
    """The person the appraisal waits on (in ``state``, by default its own); None for HR or nobody."""
    employee, assessor, superior = arrangement(appraisal)
    holder = APPRAISAL.holder_of(state or appraisal.state)
    return {"employee": employee, "assessor": assessor, "superior": superior}.get(holder)


def holder_superior_employee_id(appraisal: Appraisal) -> int | None:
    """The holder's own superior, told when the holder is late (the first escalation)."""
    employee, assessor, superior = arrangement(appraisal)
    holder = APPRAISAL.holder_of(appraisal.state)
    if holder == "employee":
        return assessor
    if holder == "assessor":
        return superior
    if holder == "superior" and superior is not None and appraisal.superior is not None:
        boss = appraisal.superior.superior_id
        return boss if boss != employee else None
    return None
