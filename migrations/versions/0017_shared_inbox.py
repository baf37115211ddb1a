"""a shared inbox: conversation status and assignee, notes, canned replies, invitations,
password resets, and the message search index

Revision ID: 0017_shared_inbox
Revises: 0018_api_and_hooks
Create Date: 2026-11-30 04:20:00

Existing conversations become "open" and unassigned. The search index is made for the
database in use (SQLite FTS5 with triggers, PostgreSQL a GIN expression index; see
portal/inbox/search.py) and covers the messages already stored.
"""
from alembic import op
import sqlalchemy as sa

revision = '0017_shared_inbox'
down_revision = '0018_api_and_hooks'
branch_labels = None
depends_on = None

# The search index as portal/inbox/search.py defines it today, copied so that this migration
# keeps doing what it did when later code changes.
PG_INDEX = "ix_messages_text_search"
PG_DDL = (
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON messages "
    "USING gin (to_tsvector('simple', coalesce(text, '')))",
)
PG_DROP = (f"DROP INDEX IF EXISTS {PG_INDEX}",)
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5("
    "text, product_id, message_id UNINDEXED, conversation_id UNINDEXED, tokenize='unicode61')",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN "
    "INSERT INTO messages_fts (text, message_id, conversation_id, product_id) "
    "VALUES (new.text, new.id, new.conversation_id, new.product_id); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF text, conversation_id ON messages BEGIN "
    "DELETE FROM messages_fts WHERE message_id = old.id; "
    "INSERT INTO messages_fts (text, message_id, conversation_id, product_id) "
    "SELECT new.text, new.id, new.conversation_id, new.product_id WHERE new.text IS NOT NULL; END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN "
    "DELETE FROM messages_fts WHERE message_id = old.id; END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS messages_fts_insert", "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete", "DROP TABLE IF EXISTS messages_fts",
)
SQLITE_BACKFILL = ("INSERT INTO messages_fts (text, message_id, conversation_id, product_id) "
                   "SELECT text, id, conversation_id, product_id FROM messages WHERE text IS NOT NULL")


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column('conversations', sa.Column('status', sa.String(length=16), server_default='open', nullable=False))
    op.add_column('conversations', sa.Column('assignee_user_id', sa.Uuid(), nullable=True))  # no FK: see the model
    op.create_index('ix_conversations_assignee_user_id', 'conversations', ['assignee_user_id'], unique=False)
    op.create_index('ix_conversations_product_status_last', 'conversations',
                    ['product_id', 'status', 'last_message_at'], unique=False)

    op.create_table(
        'conversation_notes',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('conversation_id', sa.Uuid(), nullable=False),
        sa.Column('author_user_id', sa.Uuid(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('product_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_conversation_notes_conversation', 'conversation_notes', ['conversation_id', 'created_at'])
    op.create_index('ix_conversation_notes_product_id', 'conversation_notes', ['product_id'])

    op.create_table(
        'canned_replies',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('shortcut', sa.String(length=32), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('product_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('product_id', 'shortcut', name='uq_canned_reply_shortcut'),
    )
    op.create_index('ix_canned_replies_product_id', 'canned_replies', ['product_id'])

    op.create_table(
        'invitations',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('accepted_at', sa.DateTime(), nullable=True),
        sa.Column('accepted_by_user_id', sa.Uuid(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('product_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['accepted_by_user_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_invitations_product_id', 'invitations', ['product_id'])

    op.create_table(
        'password_resets',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_password_resets_user_id', 'password_resets', ['user_id'])

    if dialect == 'sqlite':
        for statement in SQLITE_DDL + (SQLITE_BACKFILL,):
            op.execute(statement)
    elif dialect == 'postgresql':
        for statement in PG_DDL:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in (SQLITE_DROP if dialect == 'sqlite' else PG_DROP if dialect == 'postgresql' else ()):
        op.execute(statement)
    op.drop_table('password_resets')
    op.drop_table('invitations')
    op.drop_table('canned_replies')
    op.drop_index('ix_conversation_notes_product_id', table_name='conversation_notes')
    op.drop_index('ix_conversation_notes_conversation', table_name='conversation_notes')
    op.drop_table('conversation_notes')
    op.drop_index('ix_conversations_product_status_last', table_name='conversations')
    op.drop_index('ix_conversations_assignee_user_id', table_name='conversations')
    op.drop_column('conversations', 'assignee_user_id')  # SQLite 3.35+ drops a plain column in place
    op.drop_column('conversations', 'status')
