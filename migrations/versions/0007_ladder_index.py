"""the escalation ladder's partial index: open appraisals with a deadline and a step to take

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 13:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The open states of the appraisal definition 2026.1 (models.LADDER_STATES).
PREDICATE = (
    "state IN ('feedback_given', 'final_review', 'midyear_review', 'objection_filed', "
    "'plan_approved', 'plan_drafted', 'plan_submitted', 'scored', 'training_assigned') "
    "AND due_at IS NOT NULL AND escalation_level < 2"
)


def upgrade():
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.create_index(
            'ix_appraisals_ladder',
            ['due_at', 'id'],
            unique=False,
            postgresql_where=sa.text(PREDICATE),
            sqlite_where=sa.text(PREDICATE),
        )


def downgrade():
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.drop_index('ix_appraisals_ladder')
