"""the job engine's queue on PostgreSQL (Huey's PostgresStorage tables)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 04:40:00

On PostgreSQL the job engine (portal/jobs.py) keeps its queue in the portal's own database,
so every worker on every host shares it. These are the tables Huey 3.5's PostgresStorage
creates (its `create_tables`), made here so that the schema has one author and a web process
never runs DDL at start. On SQLite the queue is a file of its own (Huey makes it) and this
migration does nothing.
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

HUEY_TABLES = (
    "create table if not exists huey_kv (queue text not null, key text not null, value bytea not null, "
    "primary key(queue, key))",
    "create table if not exists huey_schedule (id bigserial primary key, queue text not null, "
    "data bytea not null, timestamp double precision not null)",
    "create index if not exists huey_schedule_queue_timestamp on huey_schedule (queue, timestamp)",
    "create table if not exists huey_task (id bigserial primary key, queue text not null, data bytea not null, "
    "priority double precision not null default 0.0)",
    "create index if not exists huey_task_queue_priority_id on huey_task (queue, priority desc, id)",
    "create table if not exists huey_counter (queue text not null, key text not null, "
    "value bigint not null default 0, primary key(queue, key))",
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in HUEY_TABLES:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("huey_counter", "huey_task", "huey_schedule", "huey_kv"):
        op.execute(f"drop table if exists {table}")
