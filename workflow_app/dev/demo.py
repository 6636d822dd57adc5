"""Demo data: a small province with one running appraisal cycle, driven through the services.

``load_demo()`` builds the Pemerintah Provinsi Jawa Tengah org chart (4 unit levels, 50
employees with valid NIPs), one user per employee, an ``hr`` and an ``admin`` user, and one cycle
launched months ago whose scoring window is open today. The appraisals are then moved through the
real service layer with past timestamps, so every state of the workflow, the hash-chained
transition log and the outbox look as they would after months of use (outbox rows older than a
week are loaded as delivered); several appraisals are overdue, so the stuck report has something
to show.

Logins: every employee is ``firstname.lastname`` with the password ``kinerja-demo``; ``hr`` and
``admin`` too, except that ``admin`` gets ``KINERJA_ADMIN_PASSWORD`` when that is set at load
time. Passwords that differ from the default are kept in ``instance/demo-logins.json`` (mode
0600) so ``flask --app wsgi demo logins`` can list them.
"""

from __future__ import annotations

import json
import os
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from workflow_app.cli import DEMO_REFUSED_IN_PRODUCTION
from workflow_app.clock import utcnow
from workflow_app.dev.logins import ADMIN_PASSWORD_ENV, DEMO_PASSWORD, write_logins_file
from workflow_app.extensions import db
from workflow_app.models import BERAKHLAK, Employee, RoleAssignment, Unit, User
from workflow_app.nip import make_nip, validate_nip
from workflow_app.security import hash_password

SEED = 2026
DELIVERED_AFTER = timedelta(days=7)  # outbox rows older than this are loaded as delivered
WIB = 7  # hours ahead of UTC

# --- the province: units, people and texts from demo_data.json ------------------------------------
DATA_FILE = Path(__file__).with_name("demo_data.json")
UNIT_FIELDS = ("code", "name", "parent")
PERSON_FIELDS = (
    "key", "name", "gender", "unit", "superior", "position", "position_type", "grade", "employment"
)  # fmt: skip


def load_data(path: Path = DATA_FILE) -> dict:
    """Read the demo's data file: units and people as tuples in file order, texts as they are."""
    data = json.loads(path.read_text(encoding="utf-8"))
    units = [tuple(u[f] for f in UNIT_FIELDS) for u in data["units"]]
    people = [tuple(p[f] for f in PERSON_FIELDS) for p in data["people"]]
    return {**data, "units": units, "people": people}


_DATA = load_data()
# (code, name, parent code); parents come first
UNITS: list[tuple] = _DATA["units"]
# (key, name, gender 1=L/2=P, unit code, superior key, position, position type, grade, PNS/PPPK)
PEOPLE: list[tuple] = _DATA["people"]
BEHAVIOURS: dict[str, str] = _DATA["behaviours"]
_TEXTS = _DATA["texts"]
RETURN_COMMENTS: list[str] = _TEXTS["return_comments"]
MIDYEAR_FEEDBACK: list[str] = _TEXTS["midyear_feedback"]
FEEDBACK: list[str] = _TEXTS["feedback"]
TRAINING_FEEDBACK: str = _TEXTS["training_feedback"]
JUSTIFICATIONS: dict[str, list[str]] = _TEXTS["justifications"]
OBJECTION_REASONS: list[str] = _TEXTS["objection_reasons"]
COMPETENCIES: list[str] = _TEXTS["competencies"]
# SKP items every demo plan gets; {theme} is the unit, {boss_theme} its parent
PLAN_ITEMS: list[dict] = _DATA["plan_items"]
assert set(BEHAVIOURS) == set(BERAKHLAK)

# How many appraisals end in each state; "closed_objection" and "closed_training" are closed
# appraisals that went through an objection or a completed training on the way.
TARGETS = (
    ["plan_drafted"] * 5
    + ["plan_submitted"] * 4
    + ["plan_approved"] * 3
    + ["midyear_review"] * 5
    + ["final_review"] * 10
    + ["scored"] * 5
    + ["feedback_given"] * 5
    + ["training_assigned"] * 3
    + ["objection_filed"] * 2
    + ["closed"] * 5
    + ["closed_objection", "closed_training", "cancelled"]
)
ORDER = [
    "plan_drafted",
    "plan_submitted",
    "plan_approved",
    "midyear_review",
    "final_review",
    "scored",
    "feedback_given",
    "training_assigned",
    "closed",
]


class DemoDataExists(RuntimeError):
    pass


class DemoRefusedInProduction(RuntimeError):
    """The demo's users share a published password: never in a production profile."""


PRODUCTION_REFUSAL = DEMO_REFUSED_IN_PRODUCTION  # the text the production stand-in prints too


def has_data() -> bool:
    return bool(
        db.session.scalar(select(func.count()).select_from(Unit))
        or db.session.scalar(select(func.count()).select_from(User))
    )


def username_for(name: str) -> str:
    parts = name.lower().replace("'", "").split()
    return f"{parts[0]}.{parts[-1]}" if len(parts) > 1 else parts[0]


# --- loading ----------------------------------------------------------------------------------


def load_demo(now: datetime | None = None, force: bool = False) -> dict:
    """Load the demo province into an empty database and commit; returns a summary."""
    if current_app.config.get("ENV_NAME") == "production":
        raise DemoRefusedInProduction(PRODUCTION_REFUSAL)
    if has_data():
        if not force:
            raise DemoDataExists("the database already holds data; use force to replace it")
        wipe()
    now = now or utcnow()
    loader = _Loader(now)
    summary = loader.run()
    db.session.commit()
    write_logins_file(loader.passwords)
    return summary


def wipe() -> None:
    """Delete every row of every table (the schema stays), the append-only audit log included."""
    from workflow_app.services.audit import append_only_suspended

    db.session.rollback()
    with append_only_suspended(db.session.connection()):
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


class _Loader:
    def __init__(self, now: datetime):
        self.now = now
        self.today = (now + timedelta(hours=WIB)).date()
        self.rng = random.Random(SEED)
        self.units: dict[str, Unit] = {}
        self.employees: dict[str, Employee] = {}
        self.users_by_employee: dict[int, User] = {}
        self.passwords: dict[str, str] = {}

    # time helpers: a moment ``days`` before today, in WIB office hours, as naive UTC
    def at(self, days: int, hour: int | None = None) -> datetime:
        hour = hour if hour is not None else self.rng.randint(8, 15)
        moment = datetime.combine(self.today - timedelta(days=days), time(hour, self.rng.randint(0, 59)))
        moment -= timedelta(hours=WIB)
        return min(moment, self.now - timedelta(minutes=5))

    def day(self, days: int) -> date:
        return self.today - timedelta(days=days)

    def run(self) -> dict:
        self.build_org()
        self.build_users()
        self.cycle = self.build_cycle()
        self.drive()
        db.session.flush()
        self.mark_old_outbox_delivered()
        return {
            "units": len(self.units),
            "employees": len(self.employees),
            "users": len(self.users_by_employee) + 2,
            "cycle_id": self.cycle.id,
        }

    def build_org(self) -> None:
        for code, name, parent_code in UNITS:
            parent = self.units.get(parent_code) if parent_code else None
            unit = Unit(
                code=code, name=name, parent_id=parent.id if parent else None, timezone="WIB", path="/"
            )
            db.session.add(unit)
            db.session.flush()
            unit.path = f"{parent.path if parent else '/'}{unit.id}/"
            self.units[code] = unit
        db.session.flush()
        for seq, (key, name, gender, unit_code, boss, position, ptype, grade, kind) in enumerate(PEOPLE, 1):
            # Older officials in the senior grades; TMT some years after graduating.
            first_year = 1967 if ptype == "JPT" else 1971 if grade.startswith("IV") else 1978
            span = 5 if ptype == "JPT" else 8 if grade in ("IV/a", "IV/b", "III/d", "III/c") else 16
            born = date(first_year, 1, 1) + timedelta(days=(seq * 397) % (span * 365))
            tmt_year = min(born.year + 23 + seq % 4, 2020) if kind == "PNS" else 2022 + seq % 3
            nip = make_nip(born, tmt_year, 1 + (seq * 5) % 12, gender, seq)
            problems = validate_nip(nip, self.today)
            if problems:  # pragma: no cover - the data above is fixed
                raise ValueError(f"demo NIP {nip} for {name}: {problems}")
            employee = Employee(
                nip=nip,
                name=name,
                email=f"{username_for(name)}@jatengprov.go.id",
                unit_id=self.units[unit_code].id,
                position=position,
                position_type=ptype,
                employment_type=kind,
                grade=grade,
                superior_id=self.employees[boss].id if boss else None,
                active=True,
            )
            db.session.add(employee)
            db.session.flush()
            self.employees[key] = employee

    def build_users(self) -> None:
        demo_hash = hash_password(DEMO_PASSWORD)
        root = self.units["JATENG"]
        for employee in self.employees.values():
            user = User(
                username=username_for(employee.name), password_hash=demo_hash, employee_id=employee.id
            )
            db.session.add(user)
            self.users_by_employee[employee.id] = user
        self.hr = User(username="hr", password_hash=demo_hash)
        self.hr.roles.append(RoleAssignment(role="hr", unit_id=root.id))
        admin_password = os.environ.get(ADMIN_PASSWORD_ENV) or DEMO_PASSWORD
        self.admin = User(
            username="admin",
            password_hash=demo_hash if admin_password == DEMO_PASSWORD else hash_password(admin_password),
        )
        self.admin.roles.append(RoleAssignment(role="admin", unit_id=root.id))
        if admin_password != DEMO_PASSWORD:
            self.passwords["admin"] = admin_password
        db.session.add_all([self.hr, self.admin])
        db.session.flush()

    def mark_old_outbox_delivered(self) -> None:
        """Side effects of events older than a week went out back then; newer ones are pending.

        So the worker delivers a handful at the first start instead of months of stale mail.
        """
        from sqlalchemy import update

        from workflow_app.models import OutboxMessage

        cutoff = self.now - DELIVERED_AFTER
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.created_at < cutoff)
            .values(status="done", attempts=1, processed_at=OutboxMessage.created_at)
        )

    def actor(self, user: User):
        from workflow_app.services.access import Actor

        return Actor.from_user(user)

    def build_cycle(self):
        from workflow_app.services.cycles import create_cycle, fire_cycle_event

        hr = self.actor(self.hr)
        t = self.today
        data = dict(
            name=f"Penilaian Kinerja Pegawai Tahun {(t - timedelta(days=150)).year}",
            year=(t - timedelta(days=150)).year,
            unit_id=self.units["JATENG"].id,
            period_start=t - timedelta(days=330),
            period_end=t - timedelta(days=5),
            plan_due=t - timedelta(days=300),
            midyear_start=t - timedelta(days=170),
            midyear_end=t - timedelta(days=130),
            scoring_start=t - timedelta(days=30),
            scoring_end=t + timedelta(days=20),
            feedback_due=t + timedelta(days=30),
            training_due=t + timedelta(days=120),
        )
        cycle = create_cycle(hr, data)
        cycle.created_at = self.at(340)
        db.session.flush()
        fire_cycle_event(hr, cycle.id, "launch", {"version": cycle.version}, now=self.at(330, 8))
        return cycle

    def _cycle_event(self, event: str, days: int) -> None:
        from workflow_app.services.cycles import fire_cycle_event

        fire_cycle_event(
            self.actor(self.hr), self.cycle.id, event, {"version": self.cycle.version}, now=self.at(days, 8)
        )

    # --- driving the appraisals through the service layer ---------------------------------------

    def drive(self) -> None:
        from workflow_app.models import Appraisal

        appraisals = db.session.scalars(
            select(Appraisal).where(Appraisal.cycle_id == self.cycle.id).order_by(Appraisal.id)
        ).all()
        targets = list(TARGETS)
        self.rng.shuffle(targets)
        targets += ["final_review"] * max(0, len(appraisals) - len(targets))
        plan = list(zip([a.id for a in appraisals], targets, strict=False))
        self.hr_actor = self.actor(self.hr)

        def reaches(target: str, state: str) -> bool:
            base = "closed" if target.startswith("closed") else target
            if base in ("objection_filed", "cancelled"):
                base = "scored" if base == "objection_filed" else "plan_drafted"
            return ORDER.index(base) >= ORDER.index(state)

        # Planning: drafts, submissions, a few returns, approvals before the plan due date.
        for n, (aid, target) in enumerate(plan):
            if not reaches(target, "plan_submitted"):
                if n % 2 == 0:
                    self.write_plan(aid, 320)  # a draft in progress
                continue
            submitted = 326 - self.rng.randint(0, 8)
            if target == "plan_submitted":
                submitted = 309 - self.rng.randint(0, 4)
            self.write_plan(aid, submitted + 1)
            self.fire(aid, "submit_plan", "employee", submitted)
            if n % 4 == 1:
                self.fire(aid, "return_plan", "assessor", submitted - 2, comment=self.pick(RETURN_COMMENTS))
                self.fire(aid, "submit_plan", "employee", submitted - 4)
                submitted -= 4
            if reaches(target, "plan_approved") and target != "plan_approved":
                self.fire(aid, "approve_plan", "assessor", submitted - self.rng.randint(2, 5))
        for aid, target in plan:
            if target == "cancelled":
                self.fire(
                    aid, "cancel", "hr", 200, reason="Pegawai dimutasi ke Pemerintah Kabupaten Semarang"
                )

        # Mid-year: the cycle opens every approved plan's review; late approvals stay waiting.
        self._cycle_event("open_midyear", 170)
        for aid, target in plan:
            if target == "plan_approved":
                self.fire(aid, "approve_plan", "assessor", 165 - self.rng.randint(0, 3))
        for n, (aid, target) in enumerate(plan):
            if not reaches(target, "midyear_review"):
                continue
            if reaches(target, "final_review") or n % 2 == 0:
                self.progress(aid, "employee", midyear=True, days_ago=169)
            if reaches(target, "final_review"):
                self.fire(
                    aid,
                    "complete_midyear_review",
                    "assessor",
                    160 - self.rng.randint(0, 25),
                    feedback=self.pick(MIDYEAR_FEEDBACK),
                )

        # Scoring window (opened 30 days ago).
        self._cycle_event("open_scoring", 30)
        for n, (aid, target) in enumerate(plan):
            if not reaches(target, "final_review"):
                continue
            if reaches(target, "scored") or n % 2 == 0:
                self.progress(aid, "employee", midyear=False, days_ago=30)
            if reaches(target, "scored") or target == "objection_filed":
                self.finish(aid, target)

    def finish(self, aid: int, target: str) -> None:
        good = [("sesuai", "sesuai"), ("di_atas", "sesuai"), ("sesuai", "di_atas"), ("di_atas", "di_atas")]
        if target == "closed":
            self.score(aid, 28 - self.rng.randint(0, 2), *self.pick(good))
            self.fire(
                aid, "give_feedback", "assessor", 25 - self.rng.randint(0, 2), feedback=self.pick(FEEDBACK)
            )
            self.fire(aid, "close", "hr", 9 - self.rng.randint(0, 4))
        elif target == "closed_objection":
            self.score(aid, 27, "di_bawah", "sesuai")
            self.fire(aid, "file_objection", "employee", 25, reason=OBJECTION_REASONS[0])
            self.fire(
                aid,
                "resolve_objection",
                "superior",
                20,
                decision="amended",
                reasoning="Bukti penugasan tambahan dari pimpinan diterima; capaian disesuaikan.",
                rating_hasil_kerja="sesuai",
                rating_perilaku="sesuai",
            )
            self.fire(aid, "give_feedback", "assessor", 18, feedback=self.pick(FEEDBACK))
            self.fire(aid, "close", "hr", 15)
        elif target in ("closed_training", "training_assigned"):
            late = target == "training_assigned"
            self.score(aid, 24 if late else 29, "di_bawah", "sesuai")
            self.fire(aid, "give_feedback", "assessor", 22 if late else 27, feedback=TRAINING_FEEDBACK)
            due = self.cycle.training_due if late else self.day(10)
            training = {
                "competency": self.pick(COMPETENCIES),
                "hours_jp": self.pick([8, 12, 20]),
                "due_date": due,
            }
            self.fire(aid, "assign_training", "assessor", 21 if late else 26, trainings=[training])
            if not late:
                self.complete_training(aid, 12)
                self.fire(aid, "close", "hr", 8)
        elif target == "objection_filed":
            self.score(aid, 11 - self.rng.randint(0, 2), "sesuai", "di_bawah")
            self.fire(
                aid,
                "file_objection",
                "employee",
                6 - self.rng.randint(0, 2),
                reason=self.pick(OBJECTION_REASONS),
            )
        elif target == "feedback_given":
            self.score(aid, 20 - self.rng.randint(0, 4), *self.pick(good))
            self.fire(
                aid, "give_feedback", "assessor", 13 - self.rng.randint(0, 7), feedback=self.pick(FEEDBACK)
            )
        elif target == "scored":
            self.score(aid, 14 - self.rng.randint(0, 11), *self.pick(good))

    def pick(self, options):
        return options[self.rng.randrange(len(options))]

    def _load(self, aid: int, as_user: User | None):
        from workflow_app.services.appraisals import load

        return load(self.actor(as_user) if as_user else self.hr_actor, aid, lock=True)

    def user_for(self, appraisal, role: str) -> User:
        employee_id = {
            "employee": appraisal.employee_id,
            "assessor": appraisal.assessor_id,
            "superior": appraisal.superior_id,
        }.get(role)
        # HR records the decisions of an official missing from the org chart (top of the tree).
        return self.users_by_employee[employee_id] if employee_id is not None else self.hr

    def fire(self, aid: int, event: str, role: str, days_ago: int, **fields) -> None:
        from workflow_app.services.appraisals import apply_event

        appraisal = self._load(aid, None)
        user = self.hr if role == "hr" else self.user_for(appraisal, role)
        apply_event(
            self.actor(user),
            appraisal,
            event,
            fields,
            version=None,
            check_version=False,
            now=self.at(days_ago),
        )

    def score(self, aid: int, days_ago: int, hasil: str, perilaku: str) -> None:
        fields = {"rating_hasil_kerja": hasil, "rating_perilaku": perilaku}
        if "di_atas" in (hasil, perilaku) or "di_bawah" in (hasil, perilaku):
            fields["justification"] = self.pick(
                JUSTIFICATIONS["high" if "di_bawah" not in (hasil, perilaku) else "low"]
            )
        self.fire(aid, "score", "assessor", days_ago, **fields)

    def write_plan(self, aid: int, days_ago: int) -> None:
        from workflow_app.services.appraisals import update_plan

        appraisal = self._load(aid, None)
        user = self.users_by_employee[appraisal.employee_id]
        theme = _theme(appraisal.unit.name)
        boss_theme = _theme(appraisal.unit.parent.name) if appraisal.unit.parent else theme
        items = [
            {
                **item,
                **{
                    k: item[k].format(theme=theme, boss_theme=boss_theme)
                    for k in ("leader_rhk", "rhk", "indicator")
                    if item[k]
                },
            }
            for item in PLAN_ITEMS
        ]
        update_plan(
            self.actor(user),
            aid,
            {"version": appraisal.version, "items": items, "behaviours": dict(BEHAVIOURS)},
            now=self.at(days_ago),
        )

    def progress(self, aid: int, role: str, midyear: bool, days_ago: int) -> None:
        from workflow_app.services.appraisals import record_progress

        appraisal = self._load(aid, None)
        user = self.user_for(appraisal, role)
        if midyear:
            values = ["52 persen", "6 laporan", "3 kegiatan"]
        else:
            values = [
                self.pick(["100 persen", "95 persen", "104 persen"]),
                "12 laporan",
                self.pick(["6", "7", "5"]) + " kegiatan",
            ]
        entries = []
        for item, value in zip(appraisal.plan_items, values, strict=False):
            entry = {"item_id": item.id, "realisation": value}
            if not midyear:
                entry["evidence"] = [f"https://arsip.jatengprov.go.id/skp/{aid}/{item.position}"]
            entries.append(entry)
        record_progress(
            self.actor(user),
            aid,
            {"version": appraisal.version, "items": entries},
            now=self.at(days_ago, 10),
        )

    def complete_training(self, aid: int, days_ago: int) -> None:
        from workflow_app.services.appraisals import update_training

        appraisal = self._load(aid, None)
        user = self.users_by_employee[appraisal.employee_id]
        training = appraisal.trainings[0]
        update_training(
            self.actor(user),
            aid,
            training.id,
            {"version": appraisal.version, "status": "completed", "evidence": "Sertifikat pelatihan BPSDMD"},
            now=self.at(days_ago),
        )


def _theme(unit_name: str) -> str:
    words = unit_name.split()
    for prefix in ("Subbidang", "Bidang", "Seksi", "Bagian", "Biro", "Dinas", "Badan", "Sekretariat"):
        if words and words[0] == prefix:
            words = words[1:]
            break
    return " ".join(words).lower() or unit_name.lower()
