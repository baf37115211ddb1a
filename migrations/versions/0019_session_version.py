"""session versions: logout, a password change or removal from every product ends a user's sessions

Revision ID: 0019_session_version
Revises: 0004
Create Date: 2026-11-30 04:10:00

The session cookie names the user AND their session version; raising the version refuses every
cookie signed before. Existing users start at 0 (their sessions of before this revision, which
carry no version, end once: they log in again).
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_session_version'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_version')
