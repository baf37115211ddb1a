"""every kind of message Meta sends: contacts by phone or BSUID, edits, deletions, echoes, history, account alerts

Revision ID: 0014_message_kinds
Revises: 0015_media
Create Date: 2026-11-30 04:10:00

A customer may come with no phone number, only a business-scoped user id (BSUID): `wa_id`
becomes optional and `user_id` is unique per product beside it. Messages keep where they came
from (the WhatsApp Business app, its chat history), their group, and what edits and deletions
did to them (the text before the first edit stays for the audit). The partial index of
reactions that arrived before their message now also holds edits and deletions. Accounts keep
Meta's last alert (ban, restriction...) and the last webhook error, in words. Existing rows keep
their values; the new columns start empty.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_message_kinds'
down_revision = '0015_media'
branch_labels = None
depends_on = None

TARGETING = "type IN ('reaction', 'edit', 'revoke')"


def upgrade():
    with op.batch_alter_table('contacts') as batch_op:
        batch_op.alter_column('wa_id', existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column('user_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('username', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint('uq_contact_product_user_id', ['product_id', 'user_id'])
    with op.batch_alter_table('messages') as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('group_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('original_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
    op.drop_index('ix_messages_reaction_target', table_name='messages')
    op.create_index('ix_messages_target', 'messages', ['product_id', 'context_wamid'], unique=False,
                    postgresql_where=sa.text(TARGETING), sqlite_where=sa.text(TARGETING))
    with op.batch_alter_table('whatsapp_accounts') as batch_op:
        batch_op.add_column(sa.Column('alert_event', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('alert_text', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('alert_level', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('alert_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('webhook_error', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('webhook_error_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('whatsapp_accounts') as batch_op:
        for column in ('webhook_error_at', 'webhook_error', 'alert_at', 'alert_level', 'alert_text', 'alert_event'):
            batch_op.drop_column(column)
    op.drop_index('ix_messages_target', table_name='messages')
    op.create_index('ix_messages_reaction_target', 'messages', ['product_id', 'context_wamid'], unique=False,
                    postgresql_where=sa.text("type = 'reaction'"), sqlite_where=sa.text("type = 'reaction'"))
    with op.batch_alter_table('messages') as batch_op:
        for column in ('revoked_at', 'original_text', 'edited_at', 'group_id', 'origin'):
            batch_op.drop_column(column)
    with op.batch_alter_table('contacts') as batch_op:
        batch_op.drop_constraint('uq_contact_product_user_id', type_='unique')
        batch_op.drop_column('username')
        batch_op.drop_column('user_id')
        batch_op.alter_column('wa_id', existing_type=sa.String(length=32), nullable=False)
