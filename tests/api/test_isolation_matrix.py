"""Every /api/v1 route, generated from app.url_map: a key of product A gets 404 on every object of
product B, sees none of B's rows in lists, and no key at all gets 401 (except the public document)."""
from __future__ import annotations

import uuid

import pytest

from portal import create_app
from portal.api.auth import PUBLIC_ENDPOINTS
from tests.conftest import _test_config


def _api_routes():
    app = create_app(_test_config("sqlite://"))
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint not in PUBLIC_ENDPOINTS:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.rule, method, tuple(sorted(rule.arguments))


ROUTES = sorted(set(_api_routes()))
OBJECT_ROUTES = [r for r in ROUTES if r[2]]


def _objects(tenant) -> dict:
    return {"message_id": tenant.message.id, "conversation_id": tenant.conversation.id, "contact_id": tenant.contact.id}


def _fill(rule: str, objects: dict) -> str:
    for name, value in objects.items():
        rule = rule.replace(f"<uuid:{name}>", str(value))
    assert "<" not in rule, f"add a factory for {rule} in {__file__}"
    return rule


def test_the_matrix_covers_every_object_route():
    assert {r[0] for r in OBJECT_ROUTES} >= {"/api/v1/messages/<uuid:message_id>",
                                            "/api/v1/conversations/<uuid:conversation_id>/messages"}


@pytest.mark.parametrize(("rule", "method", "params"), OBJECT_ROUTES)
def test_a_key_of_a_gets_404_on_every_object_of_b(client, api_tenants, rule, method, params):
    a, b = api_tenants
    own = client.open(_fill(rule, _objects(a)), method=method, headers=a.headers, json={})
    assert own.status_code in (200, 202, 422), own.get_data(as_text=True)
    for objects in (_objects(b), {name: uuid.uuid4() for name in params}):
        answer = client.open(_fill(rule, objects), method=method, headers=a.headers, json={})
        assert answer.status_code == 404, (rule, answer.status_code)
        assert answer.get_json()["error"]["code"] == "not_found"
        assert b.message.text not in answer.get_data(as_text=True)


@pytest.mark.parametrize(("rule", "method", "params"), ROUTES)
def test_no_key_is_401_everywhere(client, api_tenants, rule, method, params):
    answer = client.open(_fill(rule, _objects(api_tenants[0])), method=method, json={})
    assert answer.status_code == 401 and answer.is_json


@pytest.mark.parametrize("path", ["/api/v1/conversations", "/api/v1/contacts",
                                  "/api/v1/conversations?limit=200"])
def test_lists_hold_only_the_keys_product(client, api_tenants, path):
    a, b = api_tenants
    body = client.get(path, headers=a.headers).get_json()
    ids = {row["id"] for row in body["data"]}
    assert ids and ids <= {str(a.conversation.id), str(a.contact.id)}
    assert str(b.conversation.id) not in ids and str(b.contact.id) not in ids


def test_sending_to_another_products_contact_id_is_404_and_sends_nothing(client, api_tenants):
    a, b = api_tenants
    answer = client.post("/api/v1/messages", headers=a.headers,
                         json={"to": str(b.contact.id), "template": {"name": "hello_world", "language": "en_US"}})
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"


def test_from_another_products_number_is_refused(client, api_tenants):
    a, b = api_tenants
    answer = client.post("/api/v1/messages", headers=a.headers,
                         json={"to": a.contact.wa_id, "from": b.account.phone_number_id, "text": "hi"})
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "unknown_from"


@pytest.mark.parametrize(("rule", "method", "params"), ROUTES)
def test_every_tenant_statement_of_an_api_route_names_the_keys_product(client, api_tenants, rule, method, params):
    """As tests/security/test_sql_scope.py does for product pages: each SQL statement that reaches a
    tenant table (ORM, Core or text) names product_id and carries only the key's product."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from portal.tenancy import _flushing, _tenant_tables, names_product

    a, b = api_tenants
    url = _fill(rule, _objects(a))
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        options = context.execution_options if context is not None else {}
        if not (_flushing.get() or options.get("all_products") or options.get("tenant_row_refresh")):
            captured.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        body = {"to": "+591 7999 0000", "template": {"name": "hello_world", "language": "en_US"}}
        answer = client.open(url, method=method, headers=a.headers, json=body)
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    assert answer.status_code in (200, 202), answer.get_data(as_text=True)
    statements = [(sql, p) for sql, p in captured if _tenant_tables().search(sql)]
    assert statements
    for sql, parameters in statements:
        assert "product_id" in sql, sql
        assert names_product(parameters, a.product.id), sql
        assert not names_product(parameters, b.product.id), sql
