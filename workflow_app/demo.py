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

from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import BERAKHLAK, Employee, RoleAssignment, Unit, User
from workflow_app.nip import make_nip, validate_nip
from workflow_app.security import hash_password, verify_password

DEMO_PASSWORD = "kinerja-demo"
ADMIN_PASSWORD_ENV = "KINERJA_ADMIN_PASSWORD"
SEED = 2026
DELIVERED_AFTER = timedelta(days=7)  # outbox rows older than this are loaded as delivered
WIB = 7  # hours ahead of UTC

# --- the org chart ----------------------------------------------------------------------------
# (code, name, parent code)
UNITS = [
    ("JATENG", "Pemerintah Provinsi Jawa Tengah", None),
    ("SETDA", "Sekretariat Daerah", "JATENG"),
    ("SETDA-ORG", "Biro Organisasi", "SETDA"),
    ("SETDA-ORG-KLB", "Bagian Kelembagaan dan Analisis Jabatan", "SETDA-ORG"),
    ("BKD", "Badan Kepegawaian Daerah", "JATENG"),
    ("BKD-PKK", "Bidang Pengembangan Kompetensi dan Kinerja", "BKD"),
    ("BKD-PKK-PK", "Subbidang Penilaian Kinerja", "BKD-PKK"),
    ("BKD-MP", "Bidang Mutasi dan Promosi", "BKD"),
    ("BKD-MP-MUT", "Subbidang Mutasi", "BKD-MP"),
    ("DINKES", "Dinas Kesehatan", "JATENG"),
    ("DINKES-YANKES", "Bidang Pelayanan Kesehatan", "DINKES"),
    ("DINKES-YANKES-RUJ", "Seksi Pelayanan Kesehatan Rujukan", "DINKES-YANKES"),
    ("DINKES-YANKES-PRI", "Seksi Pelayanan Kesehatan Primer", "DINKES-YANKES"),
    ("DINKES-P2P", "Bidang Pencegahan dan Pengendalian Penyakit", "DINKES"),
    ("DINKES-P2P-SURV", "Seksi Surveilans dan Imunisasi", "DINKES-P2P"),
    ("DISDIK", "Dinas Pendidikan dan Kebudayaan", "JATENG"),
    ("DISDIK-SMA", "Bidang Pembinaan SMA", "DISDIK"),
    ("DISDIK-SMA-KUR", "Seksi Kurikulum dan Penilaian SMA", "DISDIK-SMA"),
    ("DISDIK-SMA-PD", "Seksi Peserta Didik SMA", "DISDIK-SMA"),
    ("DISDIK-SMK", "Bidang Pembinaan SMK", "DISDIK"),
    ("DISDIK-SMK-SAR", "Seksi Kelembagaan dan Sarana Prasarana SMK", "DISDIK-SMK"),
]

# (key, name, gender 1=L/2=P, unit code, superior key, position, position type, grade, PNS/PPPK)
PEOPLE = [
    ("sekda", "Bambang Setiawan", 1, "SETDA", None, "Sekretaris Daerah", "JPT", "IV/e", "PNS"),
    ("karo_org", "Widodo Prasetya", 1, "SETDA-ORG", "sekda", "Kepala Biro Organisasi", "JPT", "IV/c", "PNS"),
    (
        "kabag_klb",
        "Rini Astuti",
        2,
        "SETDA-ORG-KLB",
        "karo_org",
        "Kepala Bagian Kelembagaan dan Analisis Jabatan",
        "JA",
        "IV/b",
        "PNS",
    ),
    (
        "anjab1",
        "Dwi Cahyono",
        1,
        "SETDA-ORG-KLB",
        "kabag_klb",
        "Analis Kebijakan Ahli Muda",
        "JF",
        "III/d",
        "PNS",
    ),
    (
        "anjab2",
        "Yulia Safitri",
        2,
        "SETDA-ORG-KLB",
        "kabag_klb",
        "Analis Jabatan Ahli Pertama",
        "JF",
        "III/b",
        "PNS",
    ),
    # Badan Kepegawaian Daerah
    ("ka_bkd", "Hendra Gunawan", 1, "BKD", "sekda", "Kepala Badan Kepegawaian Daerah", "JPT", "IV/c", "PNS"),
    (
        "kabid_pkk",
        "Sri Wahyuni",
        2,
        "BKD-PKK",
        "ka_bkd",
        "Kepala Bidang Pengembangan Kompetensi dan Kinerja",
        "JA",
        "IV/b",
        "PNS",
    ),
    (
        "kasub_pk",
        "Agus Prasetyo",
        1,
        "BKD-PKK-PK",
        "kabid_pkk",
        "Kepala Subbidang Penilaian Kinerja",
        "JA",
        "III/d",
        "PNS",
    ),
    (
        "pk1",
        "Retno Wulandari",
        2,
        "BKD-PKK-PK",
        "kasub_pk",
        "Analis SDM Aparatur Ahli Muda",
        "JF",
        "III/d",
        "PNS",
    ),
    ("pk2", "Dimas Saputra", 1, "BKD-PKK-PK", "kasub_pk", "Pengelola Data Kinerja", "JA", "III/b", "PNS"),
    (
        "pk3",
        "Nur Aini",
        2,
        "BKD-PKK-PK",
        "kasub_pk",
        "Analis SDM Aparatur Ahli Pertama",
        "JF",
        "III/a",
        "PNS",
    ),
    (
        "pk4",
        "Yusuf Maulana",
        1,
        "BKD-PKK-PK",
        "kasub_pk",
        "Pranata Komputer Ahli Pertama",
        "JF",
        "III/a",
        "PPPK",
    ),
    (
        "kabid_mp",
        "Joko Susilo",
        1,
        "BKD-MP",
        "ka_bkd",
        "Kepala Bidang Mutasi dan Promosi",
        "JA",
        "IV/b",
        "PNS",
    ),
    (
        "kasub_mut",
        "Dewi Lestari",
        2,
        "BKD-MP-MUT",
        "kabid_mp",
        "Kepala Subbidang Mutasi",
        "JA",
        "III/d",
        "PNS",
    ),
    (
        "mut1",
        "Rudi Hartono",
        1,
        "BKD-MP-MUT",
        "kasub_mut",
        "Pengolah Data Mutasi Pegawai",
        "JA",
        "III/b",
        "PNS",
    ),
    (
        "mut2",
        "Fitri Handayani",
        2,
        "BKD-MP-MUT",
        "kasub_mut",
        "Analis Jabatan Ahli Pertama",
        "JF",
        "III/a",
        "PPPK",
    ),
    (
        "mut3",
        "Citra Kirana",
        2,
        "BKD-MP-MUT",
        "kasub_mut",
        "Penata Kelola Administrasi Kepegawaian",
        "JA",
        "III/a",
        "PNS",
    ),
    # Dinas Kesehatan
    ("kadinkes", "Yuliana Kusumawati", 2, "DINKES", "sekda", "Kepala Dinas Kesehatan", "JPT", "IV/c", "PNS"),
    (
        "kabid_yankes",
        "Arief Rahman",
        1,
        "DINKES-YANKES",
        "kadinkes",
        "Kepala Bidang Pelayanan Kesehatan",
        "JA",
        "IV/b",
        "PNS",
    ),
    (
        "adminkes",
        "Heru Santoso",
        1,
        "DINKES-YANKES",
        "kabid_yankes",
        "Administrator Kesehatan Ahli Muda",
        "JF",
        "III/d",
        "PNS",
    ),
    (
        "kasi_ruj",
        "Endang Sulistyowati",
        2,
        "DINKES-YANKES-RUJ",
        "kabid_yankes",
        "Kepala Seksi Pelayanan Kesehatan Rujukan",
        "JA",
        "III/d",
        "PNS",
    ),
    (
        "ruj1",
        "Bayu Nugroho",
        1,
        "DINKES-YANKES-RUJ",
        "kasi_ruj",
        "Pengelola Layanan Kesehatan",
        "JA",
        "III/b",
        "PNS",
    ),
    (
        "ruj2",
        "Rina Marlina",
        2,
        "DINKES-YANKES-RUJ",
        "kasi_ruj",
        "Administrator Kesehatan Ahli Pertama",
        "JF",
        "III/a",
        "PNS",
    ),
    (
        "ruj3",
        "Taufik Hidayat",
        1,
        "DINKES-YANKES-RUJ",
        "kasi_ruj",
        "Pengadministrasi Perkantoran",
        "JA",
        "II/c",
        "PNS",
    ),
    (
        "kasi_pri",
        "Suryanto Wibowo",
        1,
        "DINKES-YANKES-PRI",
        "kabid_yankes",
        "Kepala Seksi Pelayanan Kesehatan Primer",
        "JA",
        "III/d",
        "PNS",
    ),
    (
        "pri1",
        "Ani Rahmawati",
        2,
        "DINKES-YANKES-PRI",
        "kasi_pri",
        "Nutrisionis Ahli Muda",
        "JF",
        "III/c",
        "PNS",
    ),
    (
        "pri2",
        "Eko Purnomo",
        1,
        "DINKES-YANKES-PRI",
        "kasi_pri",
        "Pengelola Program Kesehatan",
        "JA",
        "III/b",
        "PNS",
    ),
    (
        "pri3",
        "Nanik Suprapti",
        2,
        "DINKES-YANKES-PRI",
        "kasi_pri",
        "Perawat Ahli Muda",
        "JF",
        "III/c",
        "PPPK",
    ),
    (
        "kabid_p2p",
        "Lilis Suryani",
        2,
        "DINKES-P2P",
        "kadinkes",
        "Kepala Bidang Pencegahan dan Pengendalian Penyakit",
        "JA",
        "IV/a",
        "PNS",
    ),
    (
        "kasi_surv",
        "Teguh Santoso",
        1,
        "DINKES-P2P-SURV",
        "kabid_p2p",
        "Kepala Seksi Surveilans dan Imunisasi",
        "JA",
        "III/d",
        "PNS",
    ),
    (
        "surv1",
        "Putri Ayuningtyas",
        2,
        "DINKES-P2P-SURV",
        "kasi_surv",
        "Epidemiolog Kesehatan Ahli Pertama",
        "JF",
        "III/a",
        "PPPK",
    ),
    (
        "surv2",
        "Adi Firmansyah",
        1,
        "DINKES-P2P-SURV",
        "kasi_surv",
        "Pengelola Data Surveilans",
        "JA",
        "III/b",
        "PNS",
    ),
    (
        "surv3",
        "Mega Puspitasari",
        2,
        "DINKES-P2P-SURV",
        "kasi_surv",
        "Entomolog Kesehatan Ahli Pertama",
        "JF",
        "III/a",
        "PNS",
    ),
    # Dinas Pendidikan dan Kebudayaan
    (
        "kadisdik",
        "Prasetyo Utomo",
        1,
        "DISDIK",
        "sekda",
        "Kepala Dinas Pendidikan dan Kebudayaan",
        "JPT",
        "IV/c",
        "PNS",
    ),
    (
        "kabid_sma",
        "Siti Aminah",
        2,
        "DISDIK-SMA",
        "kadisdik",
        "Kepala Bidang Pembinaan SMA",
        "JA",
        "IV/b",
        "PNS",
    ),
    (
        "kasi_kur",
        "Slamet Riyadi",
        1,
        "DISDIK-SMA-KUR",
        "kabid_sma",
        "Kepala Seksi Kurikulum dan Penilaian SMA",
        "JA",
        "III/d",
        "PNS",
    ),
    (
        "kur1",
        "Indah Permatasari",
        2,
        "DISDIK-SMA-KUR",
        "kasi_kur",
        "Pengembang Teknologi Pembelajaran Ahli Pertama",
        "JF",
        "III/a",
        "PNS",
    ),
    ("kur2", "Yoga Pratama", 1, "DISDIK-SMA-KUR", "kasi_kur", "Pengelola Kurikulum", "JA", "III/b", "PNS"),
    ("kur3", "Novi Anggraini", 2, "DISDIK-SMA-KUR", "kasi_kur", "Analis Kurikulum", "JA", "III/a", "PNS"),
    (
        "kasi_pd",
        "Hadi Purwanto",
        1,
        "DISDIK-SMA-PD",
        "kabid_sma",
        "Kepala Seksi Peserta Didik SMA",
        "JA",
        "III/d",
        "PNS",
    ),
    (
        "pd1",
        "Lina Susanti",
        2,
        "DISDIK-SMA-PD",
        "kasi_pd",
        "Pengelola Data Peserta Didik",
        "JA",
        "III/b",
        "PNS",
    ),
    ("pd2", "Andi Kurniawan", 1, "DISDIK-SMA-PD", "kasi_pd", "Analis Kesiswaan", "JA", "III/a", "PNS"),
    (
        "pd3",
        "Rizky Ramadhan",
        1,
        "DISDIK-SMA-PD",
        "kasi_pd",
        "Pengadministrasi Kesiswaan",
        "JA",
        "II/d",
        "PNS",
    ),
    (
        "kabid_smk",
        "Budi Santoso",
        1,
        "DISDIK-SMK",
        "kadisdik",
        "Kepala Bidang Pembinaan SMK",
        "JA",
        "IV/b",
        "PNS",
    ),
    (
        "akb_smk",
        "Maya Sari",
        2,
        "DISDIK-SMK",
        "kabid_smk",
        "Analis Kebijakan Ahli Muda",
        "JF",
        "III/d",
        "PNS",
    ),
    (
        "kasi_sar",
        "Wulan Sari",
        2,
        "DISDIK-SMK-SAR",
        "kabid_smk",
        "Kepala Seksi Kelembagaan dan Sarana Prasarana SMK",
        "JA",
        "III/d",
        "PNS",
    ),
    (
        "sar1",
        "Fajar Nugraha",
        1,
        "DISDIK-SMK-SAR",
        "kasi_sar",
        "Pengelola Sarana dan Prasarana",
        "JA",
        "III/b",
        "PNS",
    ),
    ("sar2", "Ratna Dewi", 2, "DISDIK-SMK-SAR", "kasi_sar", "Penata Laporan Keuangan", "JA", "III/b", "PNS"),
    (
        "sar3",
        "Galih Saputro",
        1,
        "DISDIK-SMK-SAR",
        "kasi_sar",
        "Analis Kebijakan Ahli Pertama",
        "JF",
        "III/a",
        "PPPK",
    ),
    (
        "sar4",
        "Ayu Lestari",
        2,
        "DISDIK-SMK-SAR",
        "kasi_sar",
        "Pengadministrasi Sarana Prasarana",
        "JA",
        "II/d",
        "PNS",
    ),
]

BEHAVIOURS = {
    "berorientasi_pelayanan": "Memberikan layanan yang cepat, ramah dan solutif kepada pemangku kepentingan",
    "akuntabel": "Melaksanakan tugas dengan jujur, bertanggung jawab, cermat dan disiplin",
    "kompeten": "Terus belajar dan mengembangkan kapabilitas diri untuk menjawab tantangan tugas",
    "harmonis": "Menghargai setiap orang apa pun latar belakangnya dan membangun suasana kerja kondusif",
    "loyal": "Menjaga nama baik sesama ASN, pimpinan, instansi dan negara",
    "adaptif": "Cepat menyesuaikan diri menghadapi perubahan dan terus berinovasi",
    "kolaboratif": "Membangun kerja sama yang sinergis lintas bidang dan instansi",
}
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


class DemoDataExists(RuntimeError):
    pass


class DemoRefusedInProduction(RuntimeError):
    """The demo's users share a published password: never in a production profile."""


PRODUCTION_REFUSAL = (
    "demo data is refused in production (KINERJA_ENV=production): it creates 'admin', 'hr' and "
    "50 users with the public password 'kinerja-demo'. Create the first administrator with "
    "'flask --app wsgi users create-admin USERNAME --password-file PATH' instead."
)


def has_data() -> bool:
    return bool(
        db.session.scalar(select(func.count()).select_from(Unit))
        or db.session.scalar(select(func.count()).select_from(User))
    )


def logins_path() -> Path:
    from config import INSTANCE_DIR

    configured = current_app.config.get("DEMO_LOGINS_FILE")
    return Path(configured) if configured else Path(INSTANCE_DIR) / "demo-logins.json"


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
    _write_logins_file(loader.passwords)
    return summary


def wipe() -> None:
    """Delete every row of every table (the schema stays), the append-only audit log included."""
    from workflow_app.services.audit import append_only_suspended

    db.session.rollback()
    with append_only_suspended(db.session.connection()):
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


def _write_logins_file(passwords: dict[str, str]) -> None:
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"default_password": DEMO_PASSWORD, "passwords": passwords}, fh, indent=2)
        fh.write("\n")


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
                "kind": "utama",
                "leader_rhk": f"Meningkatnya kinerja {boss_theme}",
                "rhk": f"Terlaksananya program {theme} sesuai rencana kerja",
                "aspect": "kuantitas",
                "indicator": f"Persentase kegiatan {theme} yang terlaksana",
                "target_value": "100",
                "target_unit": "persen",
            },
            {
                "kind": "utama",
                "leader_rhk": f"Tersedianya data dan laporan {boss_theme} yang akurat",
                "rhk": f"Tersusunnya laporan {theme} tepat waktu",
                "aspect": "waktu",
                "indicator": "Jumlah laporan bulanan yang disampaikan paling lambat tanggal 10",
                "target_value": "12",
                "target_unit": "laporan",
            },
            {
                "kind": "tambahan",
                "leader_rhk": None,
                "rhk": "Terlaksananya dukungan koordinasi lintas perangkat daerah",
                "aspect": "kualitas",
                "indicator": "Jumlah rapat koordinasi yang diikuti dengan notula",
                "target_value": "6",
                "target_unit": "kegiatan",
            },
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


RETURN_COMMENTS = [
    "Indikator belum terukur; tambahkan target kuantitatif.",
    "Mohon selaraskan RHK dengan intervensi RHK pimpinan.",
    "Target laporan perlu disesuaikan dengan jadwal pelaporan dinas.",
]
MIDYEAR_FEEDBACK = [
    "Capaian semester I sesuai rencana, pertahankan.",
    "Progres baik; percepat penyusunan laporan triwulan.",
    "Perlu peningkatan koordinasi dengan bidang terkait.",
]
FEEDBACK = [
    "Kinerja sesuai ekspektasi. Pertahankan ketepatan waktu pelaporan.",
    "Capaian melampaui target; tingkatkan berbagi pengetahuan dengan rekan kerja.",
    "Hasil kerja baik. Perlu lebih proaktif dalam koordinasi lintas bidang.",
]
TRAINING_FEEDBACK = "Beberapa target belum tercapai; perlu pengembangan kompetensi teknis."
JUSTIFICATIONS = {
    "high": [
        "Seluruh target tercapai sebelum tenggat dan ada inovasi layanan.",
        "Menjadi rujukan rekan kerja dan aktif membantu lintas bidang.",
    ],
    "low": [
        "Dua dari tiga target tidak tercapai tanpa alasan yang dapat diterima.",
        "Beberapa kali tidak hadir rapat koordinasi tanpa keterangan.",
    ],
}
OBJECTION_REASONS = [
    "Sebagian target tertunda karena penugasan tambahan dari pimpinan (surat tugas terlampir).",
    "Ketidakhadiran rapat karena sedang menjalankan tugas luar kantor.",
]
COMPETENCIES = [
    "Manajemen Data dan Pelaporan",
    "Perencanaan Kinerja Instansi Pemerintah",
    "Pelayanan Publik Prima",
]


# --- logins -----------------------------------------------------------------------------------


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
