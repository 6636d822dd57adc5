"""who scored (so they never decide the objection), one objection per score

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scored_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('scored_by_employee_id', sa.Integer(), nullable=True))
        # Which score this is (1 for the first): an objection belongs to one score.
        batch_op.add_column(sa.Column('score_number', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_foreign_key(
            batch_op.f('fk_appraisals_scored_by_user_id_users'), 'users', ['scored_by_user_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_appraisals_scored_by_employee_id_employees'),
            'employees', ['scored_by_employee_id'], ['id'],
        )
    # A reopened appraisal scored again may be objected to again: one objection per score.
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint('uq_objections_appraisal_id', type_='unique')
        batch_op.create_index(batch_op.f('ix_objections_appraisal_id'), ['appraisal_id'], unique=False)
        batch_op.add_column(sa.Column('score_number', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE appraisals SET score_number = 1 WHERE scored_at IS NOT NULL")
    op.execute("UPDATE objections SET score_number = 1")


def downgrade():
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_column('score_number')
        batch_op.drop_index(batch_op.f('ix_objections_appraisal_id'))
        batch_op.create_unique_constraint('uq_objections_appraisal_id', ['appraisal_id'])
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_appraisals_scored_by_employee_id_employees'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_appraisals_scored_by_user_id_users'), type_='foreignkey')
        batch_op.drop_column('score_number')
        batch_op.drop_column('scored_by_employee_id')
        batch_op.drop_column('scored_by_user_id')
