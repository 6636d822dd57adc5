"""monitoring counts: appraisals per (cycle, unit, state, predikat) kept by triggers, the clock's
base per (cycle, unit), and partial indexes over open appraisals

Every INSERT, DELETE and UPDATE on appraisals writes signed deltas into appraisal_counts in the
same transaction, whatever path made it (an event, a bulk event, a sweep, the launch's
INSERT … SELECT, a reassignment, a delete): on PostgreSQL INSERT and DELETE once per statement
with transition tables (one aggregated INSERT: a launch writes a few hundred rows), UPDATE per
row behind a WHEN that lets an update of nothing counted pass at no cost; on SQLite row triggers.
Deltas are only ever inserted, so concurrent transitions never wait on a shared counter row;
workflow_app.services.monitoring.compact_counts folds them now and then.

The existing appraisals are counted here once (compacted), with the clock's base at the time
of the upgrade.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 14:20:00

"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The open states of the appraisal definition 2026.1 (models.LADDER_STATES, models.OPEN_PREDICATE).
OPEN_STATES = (
    "'feedback_given', 'final_review', 'midyear_review', 'objection_filed', "
    "'plan_approved', 'plan_drafted', 'plan_submitted', 'scored', 'training_assigned'"
)
OPEN = f"state IN ({OPEN_STATES})"
COLUMNS = "cycle_id, unit_id, state, predikat, due_at, entered_at, n"


def _delta(rows: str, sign: str) -> str:
    """The delta columns of ``rows`` (a transition table), due and entered kept for open ones."""
    return (
        f"SELECT cycle_id, unit_id, state, predikat, "
        f"CASE WHEN {OPEN} THEN due_at END AS due_at, "
        f"CASE WHEN {OPEN} THEN state_entered_at END AS entered_at, {sign} AS n FROM {rows}"
    )


GROUP = "GROUP BY cycle_id, unit_id, state, predikat, due_at, entered_at"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION kinerja_count_appraisals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO appraisal_counts ({COLUMNS})
        SELECT cycle_id, unit_id, state, predikat, due_at, entered_at, sum(n)
        FROM ({_delta('new_rows', '1')}) d {GROUP};
    ELSE
        INSERT INTO appraisal_counts ({COLUMNS})
        SELECT cycle_id, unit_id, state, predikat, due_at, entered_at, sum(n)
        FROM ({_delta('old_rows', '-1')}) d {GROUP};
    END IF;
    RETURN NULL;
END
$$
"""


def _pg_values(row: str, sign: str) -> str:
    return (
        f"({row}.cycle_id, {row}.unit_id, {row}.state, {row}.predikat, "
        f"CASE WHEN {row}.{OPEN} THEN {row}.due_at END, "
        f"CASE WHEN {row}.{OPEN} THEN {row}.state_entered_at END, {sign})"
    )


PG_ROW_FUNCTION = f"""
CREATE OR REPLACE FUNCTION kinerja_count_appraisal_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO appraisal_counts ({COLUMNS}) VALUES {_pg_values('OLD', '-1')}, {_pg_values('NEW', '1')};
    RETURN NULL;
END
$$
"""

# What a delta records: an UPDATE that changes none of it (a version bump, the log head, an
# escalation step) costs only the WHEN test, in C, without calling the function.
KEYS = ("cycle_id", "unit_id", "state", "predikat", "due_at", "state_entered_at")
PG_WHEN = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in KEYS)

# INSERT and DELETE: once per statement over its transition table, one aggregated INSERT (a
# launch of 100,000 writes a few hundred rows). UPDATE: per changed row, behind a WHEN —
# measured on 1,000,000 appraisals, a statement-level UPDATE trigger added about 1.4 ms to
# every single-row UPDATE, this one about 0.1 ms when nothing counted changes.
PG_TRIGGERS = (
    (
        "appraisals_count_insert",
        "AFTER INSERT ON appraisals REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
        "kinerja_count_appraisals",
    ),
    (
        "appraisals_count_update",
        f"AFTER UPDATE ON appraisals FOR EACH ROW WHEN ({PG_WHEN})",
        "kinerja_count_appraisal_update",
    ),
    (
        "appraisals_count_delete",
        "AFTER DELETE ON appraisals REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
        "kinerja_count_appraisals",
    ),
)


def _sqlite_values(row: str, sign: str) -> str:
    open_ = f"{row}.state IN ({OPEN_STATES})"
    return (
        f"({row}.cycle_id, {row}.unit_id, {row}.state, {row}.predikat, "
        f"CASE WHEN {open_} THEN {row}.due_at END, CASE WHEN {open_} THEN {row}.state_entered_at END, {sign})"
    )


SQLITE_TRIGGERS = (
    (
        "appraisals_count_insert",
        "AFTER INSERT ON appraisals",
        f"INSERT INTO appraisal_counts ({COLUMNS}) VALUES {_sqlite_values('NEW', '1')};",
    ),
    (
        "appraisals_count_update",
        "AFTER UPDATE ON appraisals WHEN " + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in KEYS),
        f"INSERT INTO appraisal_counts ({COLUMNS}) VALUES "
        f"{_sqlite_values('OLD', '-1')}, {_sqlite_values('NEW', '1')};",
    ),
    (
        "appraisals_count_delete",
        "AFTER DELETE ON appraisals",
        f"INSERT INTO appraisal_counts ({COLUMNS}) VALUES {_sqlite_values('OLD', '-1')};",
    ),
)


def upgrade():
    op.create_table('appraisal_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('predikat', sa.String(length=20), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('entered_at', sa.DateTime(), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_counts'))
    )
    with op.batch_alter_table('appraisal_counts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_appraisal_counts_open_deltas',
            ['id'],
            unique=False,
            postgresql_where=sa.text('entered_at IS NOT NULL'),
            sqlite_where=sa.text('entered_at IS NOT NULL'),
        )
    op.create_table('appraisal_clock',
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('mark', sa.DateTime(), nullable=False),
    sa.Column('overdue', sa.Integer(), nullable=False),
    sa.Column('entered_before_7', sa.Integer(), nullable=False),
    sa.Column('entered_before_14', sa.Integer(), nullable=False),
    sa.Column('entered_before_30', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('cycle_id', 'unit_id', name=op.f('pk_appraisal_clock'))
    )
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.create_index(
            'ix_appraisals_open_due',
            ['due_at', 'cycle_id', 'unit_id'],
            unique=False,
            postgresql_where=sa.text(OPEN + ' AND due_at IS NOT NULL'),
            sqlite_where=sa.text(OPEN + ' AND due_at IS NOT NULL'),
        )
        batch_op.create_index(
            'ix_appraisals_open_entered',
            ['state_entered_at', 'cycle_id', 'unit_id'],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
    op.create_index(
        'ix_appraisals_open_since',
        'appraisals',
        [sa.text('coalesce(due_at, state_entered_at)'), 'id'],
        unique=False,
        postgresql_include=['due_at', 'state_entered_at', 'unit_id', 'cycle_id'],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )

    # What is there now: one compacted row per key, the clock's base as of this moment.
    op.execute(
        f"INSERT INTO appraisal_counts ({COLUMNS}) "
        "SELECT cycle_id, unit_id, state, predikat, NULL, NULL, count(*) FROM appraisals "
        "GROUP BY cycle_id, unit_id, state, predikat"
    )
    mark = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    cuts = {d: mark - timedelta(days=d) for d in (7, 14, 30)}
    op.get_bind().execute(
        sa.text(
            "INSERT INTO appraisal_clock (cycle_id, unit_id, mark, overdue, entered_before_7, "
            "entered_before_14, entered_before_30) "
            "SELECT cycle_id, unit_id, :mark, "
            "sum(CASE WHEN due_at < :mark THEN 1 ELSE 0 END), "
            "sum(CASE WHEN state_entered_at < :c7 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN state_entered_at < :c14 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN state_entered_at < :c30 THEN 1 ELSE 0 END) "
            f"FROM appraisals WHERE {OPEN} GROUP BY cycle_id, unit_id"
        ),
        {"mark": mark, "c7": cuts[7], "c14": cuts[14], "c30": cuts[30]},
    )
    # The mark even without open appraisals (a row of zeros for no unit): the first compaction
    # then reads what crossed a boundary since now, not every open row.
    op.get_bind().execute(
        sa.text(
            "INSERT INTO appraisal_clock (cycle_id, unit_id, mark, overdue, entered_before_7, "
            "entered_before_14, entered_before_30) "
            "SELECT 0, 0, :mark, 0, 0, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM appraisal_clock)"
        ),
        {"mark": mark},
    )

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(PG_ROW_FUNCTION)
        for name, when, function in PG_TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {function}()")
    else:
        for name, when, body in SQLITE_TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name, _when, _function in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON appraisals")
        op.execute("DROP FUNCTION IF EXISTS kinerja_count_appraisals()")
        op.execute("DROP FUNCTION IF EXISTS kinerja_count_appraisal_update()")
    else:
        for name, _when, _body in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_appraisals_open_since', table_name='appraisals')
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.drop_index('ix_appraisals_open_entered')
        batch_op.drop_index('ix_appraisals_open_due')
    op.drop_table('appraisal_clock')
    with op.batch_alter_table('appraisal_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_appraisal_counts_open_deltas')
    op.drop_table('appraisal_counts')
