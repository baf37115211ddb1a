"""Per-key rate limit (429 with Retry-After), and the OpenAPI document: valid, complete, readable."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from portal.api.auth import PUBLIC_ENDPOINTS


@pytest.fixture
def app_config(app_config):
    return {**app_config, "API_RATE_LIMIT": "3 per minute"}


def test_a_key_over_its_limit_gets_429_with_retry_after_and_others_do_not(client, api_tenants):
    a, b = api_tenants
    answers = [client.get("/api/v1/contacts", headers=a.headers) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert client.get("/api/v1/contacts", headers=b.headers).status_code == 200


def test_the_openapi_document_is_valid_and_lists_every_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint not in PUBLIC_ENDPOINTS:
            path = rule.rule.replace("<uuid:", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented, (path, method)
    send = document["paths"]["/api/v1/messages"]["post"]
    body = document["components"]["schemas"]["SendMessageIn"]
    assert {"to", "from", "text", "template", "media"} <= set(body["properties"])
    assert "202" in send["responses"] and "429" in send["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in send["parameters"])


def test_the_reference_page_is_rendered_here(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "POST /api/v1/messages" in html and "Idempotency-Key" in html and "SendMessageIn" in html
    # Nothing loaded from elsewhere (no CDN): every script and stylesheet is the portal's own.
    assert re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html) is None
