"""web sessions: a per-user session nonce, rotated to end every other session

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # A browser session carries the user's id and this nonce; changing the password (or an
    # admin resetting it) draws a new nonce, so every other signed-in browser is signed out.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_nonce', sa.String(length=64), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_nonce')
