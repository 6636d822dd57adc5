"""audit log: HMAC key fingerprint per row, signed checkpoints, append-only triggers

Rows written before this migration were chained with plain SHA-256: they get
key_id 'sha256-legacy', and 'flask audit verify' reports them until an operator re-signs them
with 'flask audit reseal-legacy'.

The database refuses UPDATE and DELETE on transition_log and audit_checkpoints: a plpgsql
trigger on PostgreSQL, BEFORE UPDATE / BEFORE DELETE triggers on SQLite. The only way around
them is explicit DDL by the table owner (workflow_app.services.audit.append_only_suspended).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

APPEND_ONLY = ('transition_log', 'audit_checkpoints')

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION kinerja_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kinerja: % is append-only; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade():
    with op.batch_alter_table('transition_log', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('key_id', sa.String(length=20), nullable=False, server_default='sha256-legacy')
        )
    with op.batch_alter_table('transition_log', schema=None) as batch_op:
        batch_op.alter_column('key_id', existing_type=sa.String(length=20), server_default=None)

    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=10), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('key_id', sa.String(length=20), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints'))
    )
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.create_index('ix_audit_checkpoints_entity_seq', ['entity', 'entity_id', 'seq'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION kinerja_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for op_name in ('UPDATE', 'DELETE'):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'kinerja: {table} is append-only; {op_name} refused'); END"
                )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS kinerja_append_only()")
    else:
        for table in APPEND_ONLY:
            for op_name in ('update', 'delete'):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op_name}")

    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_checkpoints_entity_seq')
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('transition_log', schema=None) as batch_op:
        batch_op.drop_column('key_id')
