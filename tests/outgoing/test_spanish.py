"""The outgoing webhooks pages, their errors and flashes in Spanish; English unchanged."""
from __future__ import annotations

import re

from portal.extensions import db
from portal.models import OutgoingEndpoint
from tests.english_left import english_left


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_webhooks_pages_in_spanish(client, auth, make_product):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner")
    page = _html(client.get(f"/p/{product.id}/hooks"))
    assert english_left(page) == []
    assert "Aún no hay endpoints." in page and "Agregar un endpoint" in page and "Eventos" in page

    refused = client.post(f"/p/{product.id}/hooks", data={"csrf_token": auth.csrf_token(), "url": "https://example.com/h"})
    assert refused.status_code == 422 and "Elige al menos un evento entre:" in _html(refused)
    bad_url = client.post(f"/p/{product.id}/hooks", data={"csrf_token": auth.csrf_token(), "url": "ftp://example.com/h",
                                                          "events": "message.received"})
    assert bad_url.status_code == 422 and "La URL debe empezar con" in _html(bad_url)

    added = client.post(f"/p/{product.id}/hooks", data={"csrf_token": auth.csrf_token(), "url": "https://example.com/h",
                                                        "events": ["message.received", "message.sent"]})
    page = _html(added)
    assert added.status_code == 200 and english_left(page) == []
    assert "Secreto de firma de https://example.com/h" in page and "Cópialo ahora" in page and "activo" in page

    endpoint = db.session.query(OutgoingEndpoint).one()
    detail = _html(client.get(f"/p/{product.id}/hooks/{endpoint.id}"))
    assert english_left(detail) == [] and "Registro de entregas" in detail and "Aún no se envió nada." in detail
    assert "Eliminar endpoint" in detail

    removed = client.post(f"/p/{product.id}/hooks/{endpoint.id}/delete", data={"csrf_token": auth.csrf_token()},
                          follow_redirects=True)
    assert "Endpoint eliminado." in _html(removed) and english_left(_html(removed)) == []


def test_webhooks_page_in_english_unchanged(client, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner")
    page = _html(client.get(f"/p/{product.id}/hooks"))
    assert "No endpoints yet." in page and "Add an endpoint" in page
    refused = client.post(f"/p/{product.id}/hooks", data={"csrf_token": auth.csrf_token(), "url": "https://example.com/h"})
    assert re.search(r"Choose at least one event among: message\.received", _html(refused))
