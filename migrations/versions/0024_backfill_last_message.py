"""conversations stored before 0023 name their latest message, so their list line too is said in
the reader's language

Revision ID: 0024_backfill_last_message
Revises: 0023_conversation_last_message
Create Date: 2026-11-30 13:20:00

The latest message is the one ingest would have chosen: the latest by Meta's time (the portal's
own time for what it sent), the later-stored one at equal times; reactions, edits and deletions
are not messages of the list (they change the one they name). Conversations with no message
stay without one and keep their stored preview. Nothing else changes, so going back is a no-op.
"""
from alembic import op


revision = '0024_backfill_last_message'
down_revision = '0023_conversation_last_message'
branch_labels = None
depends_on = None


BACKFILL = (
    "UPDATE conversations SET last_message_id = ("
    "SELECT m.id FROM messages m WHERE m.conversation_id = conversations.id AND m.product_id = conversations.product_id "
    "AND m.type NOT IN ('reaction', 'edit', 'revoke') "
    "ORDER BY COALESCE(m.sent_at, m.created_at) DESC, m.id DESC LIMIT 1) "
    "WHERE last_message_id IS NULL AND last_message_at IS NOT NULL"
)


def upgrade():
    op.execute(BACKFILL)


def downgrade():
    pass
