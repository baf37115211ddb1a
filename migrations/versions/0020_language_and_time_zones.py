"""languages and time zones: each product's zone, each user's language and zone

Revision ID: 0020_language_and_time_zones
Revises: 0017_shared_inbox
Create Date: 2026-11-30 07:20:00

Existing products keep showing UTC (what they showed before) until an owner picks their zone;
existing users follow their browser's language and their product's zone.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_language_and_time_zones'
down_revision = '0017_shared_inbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('products') as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('language')
    with op.batch_alter_table('products') as batch_op:
        batch_op.drop_column('timezone')
