"""account alerts said again in each reader's language: keep Meta's event on the account

Revision ID: 0021_account_alert_value
Revises: 0020_language_and_time_zones
Create Date: 2026-11-30 07:40:00

Alerts stored before this revision keep their English text (they have no event to describe again).
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_account_alert_value'
down_revision = '0020_language_and_time_zones'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('whatsapp_accounts') as batch_op:
        batch_op.add_column(sa.Column('alert_value', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('whatsapp_accounts') as batch_op:
        batch_op.drop_column('alert_value')
