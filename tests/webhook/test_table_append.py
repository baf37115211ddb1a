"""The journal table's kept connection (PostgreSQL; portal/webhook/table_append.py): a connection
that died (a server restart, a killed backend) fails one append at most, and Meta's delivery is
still answered 200, by the view, on a fresh connection."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.webhook import journal
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, WABA_A

def _on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WEBHOOK_PROCESSING": "journal"}


@pytest.fixture
def postgresql_only(app):
    if not _on_postgresql():
        pytest.skip("the journal is a file on SQLite: there is no table connection to keep")


def _kill(appender) -> None:
    pid = appender.connection.driver_connection.info.backend_pid
    with db.engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_dead_kept_connection_fails_one_append_and_the_next_reconnects(app, postgresql_only):
    appender = journal.table_appender()
    appender.append(b'{"n": 1}')
    _kill(appender)
    with pytest.raises(OperationalError):
        appender.append(b'{"n": 2}')
    appender.append(b'{"n": 3}')
    assert journal.backlog() == 2


def test_meta_still_gets_its_200_when_the_kept_connection_died(app, client, two_products, postgresql_only):
    body = p.envelope(p.entry(WABA_A, p.messages_change(NUMBER_A, [p.text_message("wamid.k1")])))
    assert p.post_signed(client, body).status_code == 200
    _kill(journal.table_appender())
    again = p.envelope(p.entry(WABA_A, p.messages_change(NUMBER_A, [p.text_message("wamid.k2")])))
    assert p.post_signed(client, again).status_code == 200  # the fast path failed; the view's append reconnected
    assert journal.backlog() == 2


@pytest.fixture
def database_down(app):
    """The test database refusing every connection, as while PostgreSQL is stopped (new connections
    refused, the open ones cut), until the returned function (or the test's end) lets them in again."""
    import psycopg

    name = db.engine.url.database
    server = db.engine.url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)

    def admin(sql: str) -> None:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(sql)

    admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    try:
        yield lambda: admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        db.session.remove()
        db.engine.dispose()


def test_meta_gets_a_503_while_the_database_is_down_and_a_200_once_it_is_back(app, client, two_products,
                                                                             postgresql_only, database_down):
    """Found by bench/soak.py --all-faults: with PostgreSQL stopped, opening the kept connection raised
    the driver's own error, which the view did not know, and Meta got a 500."""
    body = p.envelope(p.entry(WABA_A, p.messages_change(NUMBER_A, [p.text_message("wamid.down1")])))
    for _ in range(2):  # the fast path steps aside, the view answers; and again on the next delivery
        answer = p.post_signed(client, body)
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert "retry later" in answer.get_data(as_text=True)
    database_down()
    assert p.post_signed(client, body).status_code == 200
    assert journal.backlog() == 1
