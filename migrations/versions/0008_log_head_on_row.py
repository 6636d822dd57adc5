"""the head of each appraisal's and cycle's log chain (seq, hash) kept on its row

A transition appends to the chain under the row's lock: with the head on the row it reads the
head in the locking query and writes it back in the row's own UPDATE, instead of selecting the
newest log row each time. Backfilled from transition_log in one set-based UPDATE per table
(UPDATE … FROM: PostgreSQL, SQLite ≥ 3.33); a row without log rows keeps (0, genesis).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

GENESIS = '0' * 64
TABLES = (('appraisals', 'appraisal'), ('cycles', 'cycle'))

BACKFILL = """
UPDATE {table} SET log_seq = head.seq, log_hash = head.hash
FROM (
    SELECT t.entity_id, t.seq, t.hash
    FROM transition_log t
    JOIN (
        SELECT entity_id, MAX(seq) AS seq FROM transition_log WHERE entity = '{entity}' GROUP BY entity_id
    ) newest ON newest.entity_id = t.entity_id AND newest.seq = t.seq
    WHERE t.entity = '{entity}'
) head
WHERE head.entity_id = {table}.id
"""


def upgrade():
    for table, entity in TABLES:
        op.add_column(table, sa.Column('log_seq', sa.Integer(), nullable=False, server_default='0'))
        op.add_column(
            table, sa.Column('log_hash', sa.String(length=64), nullable=False, server_default=GENESIS)
        )
        op.execute(BACKFILL.format(table=table, entity=entity))


def downgrade():
    for table, _ in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('log_hash')
            batch_op.drop_column('log_seq')
