"""reactions in Meta's order: when the shown reaction was made, and where a message's reactions are

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 23:40:00

A reaction and its removal can reach the portal in either order (Meta reorders, drains store
side by side), and a reaction can arrive before the message it reacts to: `reaction_at` keeps
the time of the reaction a message shows, so an older one never replaces it, and the partial
index finds a new message's earlier reactions without indexing any other message.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages') as batch_op:
        batch_op.add_column(sa.Column('reaction_at', sa.DateTime(), nullable=True))
    op.create_index('ix_messages_reaction_target', 'messages', ['product_id', 'context_wamid'], unique=False,
                    postgresql_where=sa.text("type = 'reaction'"), sqlite_where=sa.text("type = 'reaction'"))


def downgrade():
    op.drop_index('ix_messages_reaction_target', table_name='messages')
    with op.batch_alter_table('messages') as batch_op:
        batch_op.drop_column('reaction_at')
