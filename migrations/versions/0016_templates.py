"""message templates per product and WhatsApp Business Account

Revision ID: 0016_templates
Revises: 0019_session_version (main's head; the lead re-chains at merge)
Create Date: 2026-12-01 10:00:00

A new table only: existing data is untouched.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_templates'
down_revision = '0014_message_kinds'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'message_templates',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('business_account_id', sa.String(length=64), nullable=False),
        sa.Column('meta_id', sa.String(length=64), nullable=True),
        sa.Column('name', sa.String(length=512), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('quality_score', sa.String(length=16), nullable=True),
        sa.Column('rejected_reason', sa.Text(), nullable=True),
        sa.Column('parameter_format', sa.String(length=16), nullable=False),
        sa.Column('components', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('synced_at', sa.DateTime(), nullable=True),
        sa.Column('product_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('product_id', 'business_account_id', 'name', 'language',
                            name='uq_template_product_waba_name_lang'),
    )
    with op.batch_alter_table('message_templates') as batch_op:
        batch_op.create_index(batch_op.f('ix_message_templates_business_account_id'), ['business_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_templates_meta_id'), ['meta_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_templates_product_id'), ['product_id'], unique=False)


def downgrade():
    op.drop_table('message_templates')
