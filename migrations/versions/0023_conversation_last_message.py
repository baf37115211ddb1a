"""the conversation names the message its list preview shows, so each reader sees it in their language

Revision ID: 0023_conversation_last_message
Revises: 0022_webhook_error_value
Create Date: 2026-11-30 11:20:00

Conversations stored before this revision have none until their next message (0024 names it); the list shows
their stored (English) preview meanwhile.
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_conversation_last_message'
down_revision = '0022_webhook_error_value'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('conversations') as batch_op:
        batch_op.add_column(sa.Column('last_message_id', sa.Uuid(), nullable=True))


def downgrade():
    with op.batch_alter_table('conversations') as batch_op:
        batch_op.drop_column('last_message_id')
