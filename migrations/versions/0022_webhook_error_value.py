"""value-level webhook errors said again in each reader's language: keep Meta's errors on the account

Revision ID: 0022_webhook_error_value
Revises: 0021_account_alert_value
Create Date: 2026-11-30 10:20:00

Errors stored before this revision keep their English text (they have no errors to describe again).
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_webhook_error_value'
down_revision = '0021_account_alert_value'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('whatsapp_accounts') as batch_op:
        batch_op.add_column(sa.Column('webhook_error_value', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('whatsapp_accounts') as batch_op:
        batch_op.drop_column('webhook_error_value')
