"""Every product route, every method, as a member: each SQL statement that reaches a tenant table
names product_id, and carries the product in scope (never another product's id).

The routes come from app.url_map (a new route is covered without editing this test); object
ids in URLs come from the object matrix's factories. Statements are captured at the driver
(SQLAlchemy's before_cursor_execute), so Core statements, text() and connection.execute are
seen as well as the ORM's. Not checked: the ORM's own flush of objects loaded through the
scope (UPDATE/DELETE by primary key, guarded by tenancy._stamp_product) and refreshes of an
object's own row by primary key; and statements that say all_products on purpose.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from portal.extensions import db
from portal.models import Membership, Message
from portal.tenancy import TenantScopeError, _flushing, _tenant_tables, enter_product, leave_product, names_product
from tests.security.test_object_matrix import _objects_of, fill_rule
from tests.foundation.test_route_matrix import PRODUCT_ROUTES


@pytest.fixture
def captured():
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        options = context.execution_options if context is not None else {}
        if not (_flushing.get() or options.get("all_products") or options.get("tenant_row_refresh")):
            statements.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    yield statements
    event.remove(Engine, "before_cursor_execute", capture)


@pytest.mark.parametrize(("rule", "method"), PRODUCT_ROUTES)
def test_every_tenant_statement_of_a_product_route_names_the_product_in_scope(
        client, auth, make_product, captured, rule, method):
    product_a, product_b = make_product("Cardio Plus"), make_product("Flex 60")
    owner_a = db.session.query(Membership).filter_by(product_id=product_a.id).one()
    objects = _objects_of(product_a, owner_a)
    _objects_of(product_b, db.session.query(Membership).filter_by(product_id=product_b.id).one())
    auth.as_member(product_a, role="owner")
    token = auth.csrf_token()
    captured.clear()
    response = client.open(fill_rule(rule, product_a.id, objects), method=method,
                           data={"csrf_token": token, "body": "hello"}, headers={"X-CSRFToken": token})
    assert response.status_code != 500, (rule, method)  # (502: a route that asks Meta, unreachable here)
    tenant_statements = [(sql, params) for sql, params in captured if _tenant_tables().search(sql)]
    for sql, params in tenant_statements:
        assert "product_id" in sql, sql
        assert names_product(params, product_a.id), sql
        assert not names_product(params, product_b.id), sql


def test_core_and_raw_statements_on_tenant_tables_fail_inside_a_product_scope(app, make_product):
    product = make_product("Cardio Plus")
    enter_product(product.id)
    try:
        for statement in (select(Message.__table__), text("SELECT count(*) FROM messages")):
            with pytest.raises(TenantScopeError):
                db.session.execute(statement)
            db.session.rollback()
        with pytest.raises(TenantScopeError):
            with db.engine.connect() as conn:
                conn.execute(text("DELETE FROM conversations"))
        # Saying so, or naming the product, is allowed.
        db.session.execute(select(Message.__table__).execution_options(all_products=True))
        db.session.execute(select(Message.__table__).where(Message.__table__.c.product_id == product.id))
    finally:
        leave_product()
    db.session.execute(select(Message.__table__))  # no product in scope: cross-product code works as before
