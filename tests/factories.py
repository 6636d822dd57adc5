"""Builders for org charts, users and cycles used across the tests."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from workflow_app.clock import utcnow  # noqa: F401  (re-exported for tests)
from workflow_app.extensions import db
from workflow_app.models import BERAKHLAK, Cycle, Employee, RoleAssignment, Unit, User
from workflow_app.nip import make_nip
from workflow_app.security import hash_password

PASSWORD = "rahasia-uji-123"
_seq = itertools.count(1)
_hash_cache: dict[str, str] = {}


def unit(code: str, name: str, parent: Unit | None = None, timezone: str = "WIB") -> Unit:
    u = Unit(code=code, name=name, parent_id=parent.id if parent else None, timezone=timezone, path="/")
    db.session.add(u)
    db.session.flush()
    u.path = f"{parent.path if parent else '/'}{u.id}/"
    db.session.flush()
    return u


def employee(name: str, unit: Unit, superior: Employee | None = None, **kw) -> Employee:
    n = next(_seq)
    e = Employee(
        nip=make_nip(date(1980, 1, 1) + timedelta(days=n % 3000), 2005, 1 + n % 12, 1 + n % 2, n % 999 + 1),
        name=name,
        email=f"{name.lower().replace(' ', '.')}{n}@example.go.id",
        unit_id=unit.id,
        position=kw.pop("position", "Analis"),
        superior_id=superior.id if superior else None,
        **kw,
    )
    db.session.add(e)
    db.session.flush()
    return e


def user(username: str, employee: Employee | None = None, roles=(), password: str = PASSWORD) -> User:
    if password not in _hash_cache:
        _hash_cache[password] = hash_password(password)
    u = User(
        username=username, password_hash=_hash_cache[password], employee_id=employee.id if employee else None
    )
    for role, scope in roles:
        u.roles.append(RoleAssignment(role=role, unit_id=scope.id))
    db.session.add(u)
    db.session.flush()
    return u


def cycle(scope: Unit, today: date | None = None, **dates) -> Cycle:
    """A cycle whose windows put ``today`` inside the scoring window by default."""
    t = today or utcnow().date()
    values = dict(
        name=f"Periode {t.year}",
        year=t.year,
        unit_id=scope.id,
        period_start=t - timedelta(days=300),
        period_end=t + timedelta(days=60),
        plan_due=t - timedelta(days=270),
        midyear_start=t - timedelta(days=150),
        midyear_end=t - timedelta(days=100),
        scoring_start=t - timedelta(days=10),
        scoring_end=t + timedelta(days=40),
        feedback_due=t + timedelta(days=50),
        training_due=t + timedelta(days=120),
        machine_version="2026.1",
    )
    values.update(dates)
    c = Cycle(**values)
    db.session.add(c)
    db.session.flush()
    return c


def plan_body(version: int, items: int = 2) -> dict:
    return {
        "version": version,
        "items": [
            {
                "kind": "utama" if i == 0 else "tambahan",
                "leader_rhk": "Meningkatnya kualitas layanan perizinan",
                "rhk": f"Tersusunnya laporan layanan {i + 1}",
                "aspect": "kuantitas",
                "indicator": "Jumlah laporan yang disusun tepat waktu",
                "target_value": "12",
                "target_unit": "laporan",
            }
            for i in range(items)
        ],
        "behaviours": {v: f"Ekspektasi khusus untuk {v}" for v in BERAKHLAK},
    }


class Org:
    """A small province: BKD at the top, a dinas with a bidang and a seksi below."""

    def __init__(self):
        self.province = unit("PROV", "Pemerintah Provinsi Contoh")
        self.dinas = unit("DINKES", "Dinas Kesehatan", self.province)
        self.bidang = unit("DINKES-YANKES", "Bidang Pelayanan Kesehatan", self.dinas)
        self.seksi = unit("DINKES-YANKES-RUJ", "Seksi Rujukan", self.bidang, timezone="WITA")
        self.other = unit("DISHUB", "Dinas Perhubungan", self.province)

        self.kadis = employee("Kepala Dinas", self.dinas, position="Kepala Dinas", position_type="JPT")
        self.kabid = employee("Kepala Bidang", self.bidang, self.kadis, position="Kepala Bidang")
        self.kasi = employee("Kepala Seksi", self.seksi, self.kabid, position="Kepala Seksi")
        self.staff = employee("Staf Pelaksana", self.seksi, self.kasi)
        self.peer = employee("Rekan Kerja", self.seksi, self.kasi)
        self.hr_emp = employee("Pengelola Kinerja", self.dinas, self.kadis)
        self.outsider = employee("Pegawai Dishub", self.other)

        self.u_staff = user("staf", self.staff)
        self.u_kasi = user("kasi", self.kasi)  # assessor of staff
        self.u_kabid = user("kabid", self.kabid)  # assessor's superior of staff
        self.u_peer = user("rekan", self.peer)
        self.u_hr = user("hr", self.hr_emp, roles=[("hr", self.dinas)])
        self.u_hr_other = user("hr_dishub", None, roles=[("hr", self.other)])
        self.u_admin = user("admin", None, roles=[("admin", self.province)])
        self.u_outsider = user("luar", self.outsider)

    @property
    def users_by_role(self) -> dict:
        """One user for each relation a caller can have to the staff member's appraisal."""
        return {
            "employee": self.u_staff,
            "assessor": self.u_kasi,
            "superior": self.u_kabid,
            "hr": self.u_hr,
            "admin": self.u_admin,
            "peer": self.u_peer,
        }
