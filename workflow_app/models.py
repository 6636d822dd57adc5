"""Database models. The schema itself is created only by the Alembic migrations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from workflow_app.clock import utcnow
from workflow_app.extensions import db

TIMEZONES = ("WIB", "WITA", "WIT")
POSITION_TYPES = ("JPT", "JA", "JF")
EMPLOYMENT_TYPES = ("PNS", "PPPK")
SCOPED_ROLES = ("hr", "admin")
# The prev_hash of a chain's first log row (services.audit.GENESIS).
LOG_GENESIS = "0" * 64
RATINGS = ("di_bawah", "sesuai", "di_atas")
PLAN_ITEM_KINDS = ("utama", "tambahan")
ASPECTS = ("kuantitas", "kualitas", "waktu", "biaya")
BERAKHLAK = (
    "berorientasi_pelayanan",
    "akuntabel",
    "kompeten",
    "harmonis",
    "loyal",
    "adaptif",
    "kolaboratif",
)


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(4), default="WIB")
    # Materialised path "/1/4/9/": subtree queries are one indexed prefix match.
    path: Mapped[str] = mapped_column(String(400), index=True, default="/")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    __table_args__ = (CheckConstraint("timezone IN ('WIB','WITA','WIT')", name="timezone"),)


class Employee(db.Model):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    nip: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    position: Mapped[str] = mapped_column(String(200))
    position_type: Mapped[str] = mapped_column(String(3), default="JA")
    employment_type: Mapped[str] = mapped_column(String(4), default="PNS")
    grade: Mapped[str | None] = mapped_column(String(10))
    superior_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    superior: Mapped[Employee | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint("position_type IN ('JPT','JA','JF')", name="position_type"),
        CheckConstraint("employment_type IN ('PNS','PPPK')", name="employment_type"),
    )


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), unique=True)
    locale: Mapped[str] = mapped_column(String(5), default="id")
    # "immediate": every email at once; "daily": non-urgent items in one digest a day.
    email_digest: Mapped[str] = mapped_column(String(10), default="immediate", server_default="immediate")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    employee: Mapped[Employee | None] = relationship()
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleAssignment(db.Model):
    """HR or admin rights over a unit subtree."""

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))

    user: Mapped[User] = relationship(back_populates="roles")
    unit: Mapped[Unit] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("user_id", "role", "unit_id", name="uq_role_assignments_user_role_unit"),
        CheckConstraint("role IN ('hr','admin')", name="role"),
    )


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class WebSession(db.Model):
    """A signed-in browser: its cookie names this row's secret (stored as SHA-256).

    Signing out, a password change, a reset or a deactivation revokes rows, so a copied cookie
    stops working at once; ``expires_at`` is an absolute limit however active the browser is.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class Cycle(db.Model):
    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    plan_due: Mapped[date] = mapped_column(Date)
    midyear_start: Mapped[date] = mapped_column(Date)
    midyear_end: Mapped[date] = mapped_column(Date)
    scoring_start: Mapped[date] = mapped_column(Date)
    scoring_end: Mapped[date] = mapped_column(Date)
    feedback_due: Mapped[date] = mapped_column(Date)
    training_due: Mapped[date] = mapped_column(Date)
    scoring_scheme: Mapped[str] = mapped_column(String(40), default="permenpanrb_6_2022")
    sla_policy: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    machine_version: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The head of this row's audit chain (services.audit): the newest log row's seq and hash,
    # read under the row's lock and written back in the row's own UPDATE (migration 0008).
    log_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    log_hash: Mapped[str] = mapped_column(String(64), default=LOG_GENESIS, server_default=LOG_GENESIS)

    unit: Mapped[Unit] = relationship()

    __mapper_args__ = {"version_id_col": version}


# Where the escalation ladder still has a step to take (the states someone holds: every open
# state). Written out because an index predicate is fixed by a migration (0007);
# tests/test_sweeps.py checks it still matches the definition.
LADDER_STATES = (
    "feedback_given",
    "final_review",
    "midyear_review",
    "objection_filed",
    "plan_approved",
    "plan_drafted",
    "plan_submitted",
    "scored",
    "training_assigned",
)
LADDER_PREDICATE = (
    "state IN (" + ", ".join(f"'{s}'" for s in LADDER_STATES) + ") "
    "AND due_at IS NOT NULL AND escalation_level < 2"
)


class Appraisal(db.Model):
    __tablename__ = "appraisals"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    # Snapshots taken at launch; changed only through an audited reassignment.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    superior_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    position: Mapped[str | None] = mapped_column(String(200))

    state: Mapped[str] = mapped_column(String(20), default="plan_drafted")
    version: Mapped[int] = mapped_column(Integer, default=1)
    state_entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The resolved SLA of the current state, kept so leave can pause the clock later:
    # due = the later of (entered + sla_working_days) and sla_until, extended by leave.
    sla_working_days: Mapped[int | None] = mapped_column(Integer)
    sla_until: Mapped[date | None] = mapped_column(Date)
    # Set while a Plt/Plh delegation holds this appraisal for its assessor.
    delegation_id: Mapped[int | None] = mapped_column(ForeignKey("delegations.id"), index=True)
    # When a delegation moves the delegate's own appraisal up a level, the superior it replaced.
    pre_delegation_superior_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    machine_version: Mapped[str] = mapped_column(String(20))
    scoring_scheme: Mapped[str] = mapped_column(String(40))
    scoring_version: Mapped[str] = mapped_column(String(20))

    rating_hasil_kerja: Mapped[str | None] = mapped_column(String(10))
    rating_perilaku: Mapped[str | None] = mapped_column(String(10))
    predikat: Mapped[str | None] = mapped_column(String(20))
    score_justification: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Who gave the current score: they never decide the objection against it.
    scored_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scored_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    # Which score this is (1 for the first, more after reopen): an objection belongs to one.
    score_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The employee accepted the result (accept_result): the objection right is waived.
    result_accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime)
    midyear_feedback: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The head of this row's audit chain (services.audit): the newest log row's seq and hash,
    # read under the row's lock and written back in the row's own UPDATE (migration 0008).
    log_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    log_hash: Mapped[str] = mapped_column(String(64), default=LOG_GENESIS, server_default=LOG_GENESIS)

    cycle: Mapped[Cycle] = relationship()
    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
    assessor: Mapped[Employee | None] = relationship(foreign_keys=[assessor_id])
    superior: Mapped[Employee | None] = relationship(foreign_keys=[superior_id])
    unit: Mapped[Unit] = relationship()
    plan_items: Mapped[list[PlanItem]] = relationship(
        back_populates="appraisal",
        cascade="all, delete-orphan",
        order_by="PlanItem.position",
    )
    behaviours: Mapped[list[BehaviourExpectation]] = relationship(
        back_populates="appraisal", cascade="all, delete-orphan", order_by="BehaviourExpectation.id"
    )
    trainings: Mapped[list[TrainingAssignment]] = relationship(
        back_populates="appraisal", cascade="all, delete-orphan", order_by="TrainingAssignment.id"
    )
    objections: Mapped[list[Objection]] = relationship(
        back_populates="appraisal", cascade="all, delete-orphan", order_by="Objection.id"
    )
    # Loaded only by an event's locking query (services.appraisals.load_for_event), else None:
    # whether anyone the appraisal may wait on has leave recorded from yesterday on (when not,
    # the deadline needs no leave query), and the acting user's display name (for the message).
    leave_recorded: Mapped[bool | None] = query_expression()
    acting_user_name: Mapped[str | None] = query_expression()

    __table_args__ = (
        UniqueConstraint("cycle_id", "employee_id", name="uq_appraisals_cycle_employee"),
        Index("ix_appraisals_state_due_at", "state", "due_at"),
        Index("ix_appraisals_cycle_state", "cycle_id", "state"),
        Index("ix_appraisals_assessor_state", "assessor_id", "state"),
        # The escalation ladder's work list: open appraisals with a deadline and a step still to
        # take, in deadline order. A sweep reads only the rows near or past their due date, so
        # its cost grows with what is due, not with the table (rows at level 2 leave the index).
        Index(
            "ix_appraisals_ladder",
            "due_at",
            "id",
            postgresql_where=text(LADDER_PREDICATE),
            sqlite_where=text(LADDER_PREDICATE),
        ),
    )
    __mapper_args__ = {"version_id_col": version}


class PlanItem(db.Model):
    """A rencana hasil kerja (RHK) with its individual indicator (IKI) and target."""

    __tablename__ = "plan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10), default="utama")
    leader_rhk: Mapped[str | None] = mapped_column(Text)
    rhk: Mapped[str] = mapped_column(Text)
    aspect: Mapped[str] = mapped_column(String(10), default="kuantitas")
    indicator: Mapped[str | None] = mapped_column(Text)
    target_value: Mapped[str | None] = mapped_column(String(60))
    target_unit: Mapped[str | None] = mapped_column(String(60))
    midyear_realisation: Mapped[str | None] = mapped_column(Text)
    final_realisation: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON, default=list)

    appraisal: Mapped[Appraisal] = relationship(back_populates="plan_items")

    __table_args__ = (
        CheckConstraint("kind IN ('utama','tambahan')", name="kind"),
        CheckConstraint("aspect IN ('kuantitas','kualitas','waktu','biaya')", name="aspect"),
    )


class BehaviourExpectation(db.Model):
    """The leader's expectation for one BerAKHLAK value (ekspektasi khusus pimpinan)."""

    __tablename__ = "behaviour_expectations"

    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(String(30))
    expectation: Mapped[str] = mapped_column(Text)

    appraisal: Mapped[Appraisal] = relationship(back_populates="behaviours")

    __table_args__ = (
        UniqueConstraint("appraisal_id", "value", name="uq_behaviour_expectations_appraisal_value"),
    )


class TrainingAssignment(db.Model):
    __tablename__ = "training_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"), index=True)
    competency: Mapped[str] = mapped_column(String(200))
    hours_jp: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="assigned")
    evidence: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    appraisal: Mapped[Appraisal] = relationship(back_populates="trainings")

    __table_args__ = (
        CheckConstraint("status IN ('assigned','completed','recorded')", name="status"),
        CheckConstraint("hours_jp > 0", name="hours_jp_positive"),
    )


class Objection(db.Model):
    """Keberatan: filed by the employee, decided (finally) by the assessor's superior."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One objection per score: a reopened appraisal, scored again, may be objected to again.
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"), index=True)
    score_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(10))
    reasoning: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    previous_ratings: Mapped[dict | None] = mapped_column(JSON)
    amended_ratings: Mapped[dict | None] = mapped_column(JSON)

    appraisal: Mapped[Appraisal] = relationship(back_populates="objections")


class TransitionLog(db.Model):
    """Append-only, HMAC-chained record of every audited change of an appraisal, a cycle, etc.

    The database refuses UPDATE and DELETE on this table (triggers, migration 0004).
    """

    __tablename__ = "transition_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(10))
    on_behalf_of_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    machine_version: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Fingerprint of the HMAC key that signed the row; "sha256-legacy" for unkeyed rows
    # written before migration 0004.
    key_id: Mapped[str] = mapped_column(String(20))

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_user_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_user_id])

    __table_args__ = (
        # One row per step of one entity: a second writer on the same step fails here.
        UniqueConstraint("entity", "entity_id", "seq", name="uq_transition_log_entity_seq"),
    )


class AuditCheckpoint(db.Model):
    """A signed copy of one chain's head, written by the sweep whenever the head moved.

    Append-only like the log; mirrored to AUDIT_CHECKPOINT_FILE / AUDIT_CHECKPOINT_REDIS_KEY.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    key_id: Mapped[str] = mapped_column(String(20))
    signature: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_checkpoints_entity_seq", "entity", "entity_id", "seq"),)


class OutboxMessage(db.Model):
    """A side effect, written in the transaction that caused it and delivered by a worker."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_status_available_at", "status", "available_at"),
        CheckConstraint("status IN ('pending','done','failed')", name="status"),
    )


class Notification(db.Model):
    """One message to one user about one thing, delivered in-app and (maybe) by email."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    appraisal_id: Mapped[int | None] = mapped_column(
        ForeignKey("appraisals.id", ondelete="CASCADE"), index=True
    )
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=True)
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    # One delivery per event and recipient: a replayed job finds the key taken.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # pending -> sent | failed | skipped (no email address) | digest (sent in a digest)
    email_status: Mapped[str] = mapped_column(String(10), default="pending")
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    email_error: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()

    __table_args__ = (
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_email_status", "email_status", "urgent"),
    )


class Incident(db.Model):
    """A job that exhausted its retries: recorded for HR, never silently dropped."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    ref_type: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    retried_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_incidents_open", "resolved_at", "created_at"),)


class Leave(db.Model):
    """Recorded leave (cuti): the SLA clock of what the employee holds pauses during it."""

    __tablename__ = "leaves"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30), default="cuti_tahunan")
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (CheckConstraint("end_date >= start_date", name="range"),)


class Delegation(db.Model):
    """Plt/Plh: the delegate acts as assessor on behalf of the delegator for a date range."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    delegator_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    kind: Mapped[str] = mapped_column(String(3), default="plt")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)

    delegator: Mapped[Employee] = relationship(foreign_keys=[delegator_id])
    delegate: Mapped[Employee] = relationship(foreign_keys=[delegate_id])

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="range"),
        CheckConstraint("kind IN ('plt','plh')", name="kind"),
        CheckConstraint("delegator_id <> delegate_id", name="distinct_people"),
    )


# --- the monitoring counts (migration 0009) ------------------------------------------------------

# The open states again, for the partial indexes the dashboards count with (fixed by 0009).
OPEN_PREDICATE = "state IN (" + ", ".join(f"'{s}'" for s in LADDER_STATES) + ")"


class AppraisalCount(db.Model):
    """How many appraisals there are per (cycle, unit, state, predikat), as signed deltas.

    Written only by database triggers on ``appraisals`` (every INSERT, DELETE and UPDATE that
    moves a row's cycle, unit, state or predikat, whatever path made it), in the writer's own
    transaction: the sum of ``n`` per key is always the number of rows with that key. On
    PostgreSQL an INSERT or DELETE writes one aggregated row per key and statement (a launch of
    100,000 is a few hundred rows), an UPDATE two rows per row whose key changed; on SQLite
    one row per change. Nobody updates a row — concurrent transitions in one
    unit never wait on a shared counter — and ``monitoring.compact_counts`` folds the deltas
    into one row per key now and then.

    For open appraisals a delta also carries the row's ``due_at`` and ``state_entered_at``
    (``entered_at``), so that the overdue and ageing figures, which move with the clock, can be
    counted from ``AppraisalClock`` plus these deltas plus the rows whose deadline or age
    crossed a boundary since the last compaction. Compacted rows have neither.
    """

    __tablename__ = "appraisal_counts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    cycle_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    predikat: Mapped[str | None] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    entered_at: Mapped[datetime | None] = mapped_column(DateTime)
    n: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # The deltas of open appraisals not yet compacted (the clock's part of a read).
        Index(
            "ix_appraisal_counts_open_deltas",
            "id",
            postgresql_where=text("entered_at IS NOT NULL"),
            sqlite_where=text("entered_at IS NOT NULL"),
        ),
    )


class AppraisalClock(db.Model):
    """At the last compaction (``mark``), per cycle and unit: open appraisals past due, and open
    appraisals that entered their state more than 7, 14 and 30 days before ``mark``.

    Exact together with the deltas written since (``AppraisalCount``) and the rows whose
    ``due_at`` or ``state_entered_at`` lies between a boundary at ``mark`` and the same boundary
    now (read from the partial indexes below): see ``monitoring.clock_counts``.
    """

    __tablename__ = "appraisal_clock"

    cycle_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mark: Mapped[datetime] = mapped_column(DateTime)
    overdue: Mapped[int] = mapped_column(Integer)
    entered_before_7: Mapped[int] = mapped_column(Integer)
    entered_before_14: Mapped[int] = mapped_column(Integer)
    entered_before_30: Mapped[int] = mapped_column(Integer)


# Open appraisals by deadline and by time in state (index-only counts of what crossed a boundary
# since the last compaction), and by the stuck list's order (its first page reads 50 entries).
Index(
    "ix_appraisals_open_due",
    Appraisal.due_at,
    Appraisal.cycle_id,
    Appraisal.unit_id,
    postgresql_where=text(OPEN_PREDICATE + " AND due_at IS NOT NULL"),
    sqlite_where=text(OPEN_PREDICATE + " AND due_at IS NOT NULL"),
)
Index(
    "ix_appraisals_open_entered",
    Appraisal.state_entered_at,
    Appraisal.cycle_id,
    Appraisal.unit_id,
    postgresql_where=text(OPEN_PREDICATE),
    sqlite_where=text(OPEN_PREDICATE),
)
Index(
    "ix_appraisals_open_since",
    func.coalesce(Appraisal.due_at, Appraisal.state_entered_at),
    Appraisal.id,
    # PostgreSQL counts the stuck rows from the index alone
    postgresql_include=["due_at", "state_entered_at", "unit_id", "cycle_id"],
    postgresql_where=text(OPEN_PREDICATE),
    sqlite_where=text(OPEN_PREDICATE),
)
# Deleting every table child-first (tests, the demo's wipe) must empty the counts after the
# appraisals, whose deletion writes negative deltas into them.
Appraisal.__table__.add_is_dependent_on(AppraisalCount.__table__)
