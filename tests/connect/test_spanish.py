"""The channels page's connection status, its buttons' notices and the connect flow's pages in Spanish."""
from __future__ import annotations

import re

from tests.english_left import english_left

from .conftest import connect, start_connect

HX = {"HX-Request": "true"}
ES = {"Accept-Language": "es-BO,es;q=0.9"}


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_a_connected_number_in_spanish_and_in_english(app, make_product, auth, meta, alice):
    meta.add(alice)
    product = make_product("Cardio Plus")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    auth.as_member(product, "owner", client=client)
    linked = connect(client, auth, product, alice)
    assert linked.status_code == 302
    page = _html(client.get(linked.headers["Location"]))
    assert "Vinculado a Meta: +591 11111111" in page  # the flash

    fragment = _html(client.get(f"/p/{product.id}/meta/status", headers=HX))
    assert english_left(fragment) == []
    for text in ("Números de WhatsApp", "conectado", "suscrito", "Último mensaje recibido", "ninguno aún",
                 "Verificar ahora", "Desconectar", "Conectar con Meta", "vence en", "Detalles de Meta",
                 "¿Desconectar +591 11111111?"):
        assert text in fragment, text

    checked = client.post(f"/p/{product.id}/meta/accounts/{_account_id(fragment)}/check",
                          headers={**HX, "X-CSRFToken": auth.csrf_token(client)})
    assert "verificado: token válido, vence en" in _html(checked) and english_left(_html(checked)) == []

    english = _html(client.get(f"/p/{product.id}/meta/status", headers={**HX, "Accept-Language": "en"}))
    for text in ("WhatsApp numbers", "connected", "subscribed", "Last message received", "none yet", "Check now",
                 "Connect with Meta", "expires in"):
        assert text in english, text


def _account_id(html: str) -> str:
    return re.search(r"/meta/accounts/([0-9a-f-]+)/check", html).group(1)


def test_a_cancelled_dialog_and_a_bad_sign_in_in_spanish(app, make_product, auth, meta, alice):
    meta.add(alice)
    product = make_product("Cardio Plus")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    auth.as_member(product, "owner", client=client)
    state = start_connect(client, auth, product)["state"][0]
    cancelled = client.get("/meta-oauth-callback", query_string={"state": state, "error": "access_denied",
                                                                  "error_reason": "user_denied"},
                           follow_redirects=True)
    assert "Cancelaste el diálogo de Meta, así que no se vinculó nada." in _html(cancelled)

    refused = client.get("/meta-oauth-callback", query_string={"state": "made-up", "code": "x"})
    page = _html(refused)
    assert refused.status_code == 400 and english_left(page) == []
    assert "Este inicio de sesión no se puede usar" in page and "Empieza de nuevo desde el panel" in page
