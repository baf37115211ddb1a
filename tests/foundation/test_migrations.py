"""Migrations build the schema from empty on this backend, and agree with the models."""
import os
import re
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db
from tests.conftest import _test_config


@pytest.fixture
def empty_database_url(tmp_path):
    base = os.environ.get("DATABASE_URL", "")
    if not re.match(r"postgres(ql)?(\+\w+)?://", base):
        yield "sqlite:///" + str(tmp_path / "migrate.db")
        return
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"maestra_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_models_and_keeps_data(empty_database_url):
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert diffs == [], f"models and migrations disagree: {diffs}"

        # Upgrading an existing database again keeps what it holds.
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO products (id, name, created_at) VALUES (:id, 'Kept', CURRENT_TIMESTAMP)"),
                         {"id": uuid.uuid4().hex if conn.dialect.name == "sqlite" else str(uuid.uuid4())})
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM products")).scalars().all() == ["Kept"]
        db.engine.dispose()


def test_downgrade_to_empty_and_back(empty_database_url):
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "messages" in inspect(db.engine).get_table_names()
        db.engine.dispose()
