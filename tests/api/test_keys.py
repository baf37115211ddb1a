"""API keys: shown once, only a hash kept, last use recorded, revoked at once; no key, no access."""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import select, text

from portal.extensions import db
from portal.models import ApiKey, AuditEvent


def test_cli_prints_the_key_once_and_stores_only_its_hash(app, runner, make_product, client):
    product = make_product("Cardio Plus")
    result = runner.invoke(args=["api-keys", "create", str(product.id), "--name", "Booking system"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"mst_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}", key)
    stored = db.session.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert key not in " ".join(str(v) for v in stored.values())
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(stored["prefix"])
    answer = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    listing = runner.invoke(args=["api-keys", "list", str(product.id)])
    assert "Booking system" in listing.output and key not in listing.output


def test_cli_refuses_bad_input(runner, app):
    result = runner.invoke(args=["api-keys", "create", "not-a-product", "--name", "x"])
    assert result.exit_code != 0 and "no product" in result.output
    result = runner.invoke(args=["api-keys", "create", "0192c6a0-0000-7000-8000-000000000000", "--name", "x"])
    assert result.exit_code != 0


def test_owner_creates_lists_and_revokes_a_key_in_the_ui(client, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, role="owner")
    token = auth.csrf_token()
    page = client.post(f"/p/{product.id}/api-keys", data={"name": "CRM", "csrf_token": token})
    assert page.status_code == 200
    key = re.search(r"(mst_[0-9a-f]{8}_[A-Za-z0-9_-]+)", page.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    listing = client.get(f"/p/{product.id}/api-keys").get_data(as_text=True)
    assert "CRM" in listing and key not in listing  # only the prefix, never the key again
    api_key = db.session.execute(select(ApiKey).execution_options(all_products=True)).scalar_one()
    assert api_key.last_used_at is not None
    revoked = client.post(f"/p/{product.id}/api-keys/{api_key.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    answer = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthorized"
    actions = set(db.session.execute(select(AuditEvent.action).execution_options(all_products=True)).scalars())
    assert {"api_key.created", "api_key.revoked"} <= actions


def test_agents_cannot_see_or_make_keys(client, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, role="agent")
    token = auth.csrf_token()
    assert client.get(f"/p/{product.id}/api-keys").status_code == 403
    assert client.post(f"/p/{product.id}/api-keys", data={"name": "x", "csrf_token": token}).status_code == 403
    assert db.session.execute(select(ApiKey).execution_options(all_products=True)).first() is None


def test_empty_name_is_a_clear_422(client, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, role="admin")
    page = client.post(f"/p/{product.id}/api-keys", data={"name": "  ", "csrf_token": auth.csrf_token()})
    assert page.status_code == 422 and "name" in page.get_data(as_text=True)


def test_missing_or_wrong_key_is_401_json_without_cookies(client, api_tenants):
    for headers in ({}, {"Authorization": "Bearer mst_00000000_nope"}, {"Authorization": "Basic abc"}):
        answer = client.get("/api/v1/conversations", headers=headers)
        assert answer.status_code == 401
        assert answer.is_json and set(answer.get_json()["error"]) == {"code", "message"}
        assert "WWW-Authenticate" in answer.headers
        assert "Set-Cookie" not in answer.headers
    ok = client.get("/api/v1/conversations", headers=api_tenants[0].headers)
    assert ok.status_code == 200 and "Set-Cookie" not in ok.headers


def test_a_browser_session_is_not_an_api_key(client, auth, api_tenants):
    auth.as_member(api_tenants[0].product, role="owner")
    assert client.get("/api/v1/conversations").status_code == 401


def test_unknown_api_urls_and_methods_answer_json(client, api_tenants):
    headers = api_tenants[0].headers
    missing = client.get("/api/v1/nothing-here", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/contacts", headers=headers)
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"
    bad_id = client.get("/api/v1/messages/not-a-uuid", headers=headers)
    assert bad_id.status_code == 404 and bad_id.is_json
