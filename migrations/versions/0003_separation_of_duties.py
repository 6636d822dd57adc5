"""separation of duties: accepted result, superior kept while a delegation moves it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_accepted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('pre_delegation_superior_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_appraisals_pre_delegation_superior_id_employees'),
            'employees', ['pre_delegation_superior_id'], ['id'],
        )


def downgrade():
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_appraisals_pre_delegation_superior_id_employees'), type_='foreignkey'
        )
        batch_op.drop_column('pre_delegation_superior_id')
        batch_op.drop_column('result_accepted_at')
