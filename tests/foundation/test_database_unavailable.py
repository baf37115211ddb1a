"""While the database is unreachable, pages answer 503 "try again", not a 500 "bug" page.

Found by bench/soak.py --stop-postgres: during the outage, feed polls and replies answered 500
and logged an unhandled error each (/webhook already answered 503)."""
from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from portal.extensions import db


def _unreachable(*_args, **_kwargs):
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_pages_answer_503_while_the_database_is_down(client, auth, make_product, caplog):
    product = make_product("Cardio Plus")
    auth.as_member(product, "agent")
    feed = f"/p/{product.id}/feed"
    event.listen(db.engine, "before_cursor_execute", _unreachable)
    try:
        with caplog.at_level(logging.WARNING):
            page = client.get(feed)
            fragment = client.get(feed, headers={"HX-Request": "true"})
    finally:
        event.remove(db.engine, "before_cursor_execute", _unreachable)
    assert page.status_code == 503 and "Try again in a moment" in page.get_data(as_text=True)
    assert fragment.status_code == 503
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert client.get(feed).status_code == 200  # back once the database is
