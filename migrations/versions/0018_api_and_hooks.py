"""the product API and outgoing webhooks: API keys (hash only), idempotent requests, endpoints,
the event outbox and the delivery log

Revision ID: 0018_api_and_hooks
Revises: 0016_templates (was 0004; re-chained after merging main, which has 0019)
Create Date: 2026-11-30 04:04:58

New tables only: existing data is untouched.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_api_and_hooks'
down_revision = '0016_templates'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_product_id'), ['product_id'], unique=False)

    op.create_table('outgoing_endpoints',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('failing_since', sa.DateTime(), nullable=True),
    sa.Column('paused_at', sa.DateTime(), nullable=True),
    sa.Column('paused_reason', sa.String(length=512), nullable=True),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outgoing_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_endpoints_product_id'), ['product_id'], unique=False)

    op.create_table('outgoing_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outgoing_events', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_events_product_created', ['product_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_events_product_id'), ['product_id'], unique=False)

    op.create_table('outgoing_deliveries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('endpoint_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('response_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['outgoing_endpoints.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['outgoing_events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'endpoint_id', name='uq_outgoing_delivery_event_endpoint')
    )
    with op.batch_alter_table('outgoing_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_deliveries_endpoint_created', ['endpoint_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_deliveries_product_id'), ['product_id'], unique=False)
        batch_op.create_index('ix_outgoing_deliveries_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('api_idempotent_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.Uuid(), nullable=True),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('product_id', 'idempotency_key', name='uq_idempotent_request_key')
    )
    with op.batch_alter_table('api_idempotent_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_idempotent_requests_product_id'), ['product_id'], unique=False)



def downgrade():
    with op.batch_alter_table('api_idempotent_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_idempotent_requests_product_id'))

    op.drop_table('api_idempotent_requests')
    with op.batch_alter_table('outgoing_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_deliveries_status_next')
        batch_op.drop_index(batch_op.f('ix_outgoing_deliveries_product_id'))
        batch_op.drop_index('ix_outgoing_deliveries_endpoint_created')

    op.drop_table('outgoing_deliveries')
    with op.batch_alter_table('outgoing_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_events_product_id'))
        batch_op.drop_index('ix_outgoing_events_product_created')

    op.drop_table('outgoing_events')
    with op.batch_alter_table('outgoing_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_endpoints_product_id'))

    op.drop_table('outgoing_endpoints')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_product_id'))

    op.drop_table('api_keys')
