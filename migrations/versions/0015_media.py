"""media kept by the portal: where each message's media is stored, its size, hash and download state

Revision ID: 0015_media
Revises: 0019_session_version
Create Date: 2026-11-30 04:10:00

Inbound media is downloaded by a job (portal/media/download.py) and kept per product; outbound
media is kept the same way before it is uploaded to Meta. Existing messages keep their rows: their
media_state starts empty, so the media sweep downloads what Meta still keeps (30 days). The
partial index holds only the rows whose download never ran or never ended.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_media'
down_revision = '0019_session_version'
branch_labels = None
depends_on = None

UNFETCHED = "media_id IS NOT NULL AND (media_state IS NULL OR media_state = 'downloading')"


def upgrade():
    with op.batch_alter_table('messages') as batch_op:
        batch_op.add_column(sa.Column('media_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('media_size', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('media_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('media_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('media_error', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('media_attempts', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('media_duration', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('media_voice', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.create_index('ix_messages_media_unfetched', 'messages', ['created_at'], unique=False,
                    postgresql_where=sa.text(UNFETCHED), sqlite_where=sa.text(UNFETCHED))


def downgrade():
    op.drop_index('ix_messages_media_unfetched', table_name='messages')
    with op.batch_alter_table('messages') as batch_op:
        for column in ('media_voice', 'media_duration', 'media_attempts', 'media_error', 'media_state',
                       'media_sha256', 'media_size', 'media_key'):
            batch_op.drop_column(column)
