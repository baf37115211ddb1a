"""The sandbox's pages in Spanish (Accept-Language: es, or the switch) and unchanged in English.

Each page is rendered with something in it (a conversation with a status, deliveries, a template,
a flash), so a string left unmarked anywhere on it shows up in english_left().
The sandbox's JSON (its API for the CLI, the Graph API) stays English.
"""
from __future__ import annotations


import pytest

from tests.english_left import english_left

from .conftest import ANA, CARDIO, CARDIO_PHONE, CARDIO_WABA, V, csrf_from, customer_says, dialog_params

ES = {"Accept-Language": "es-BO,es;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def lived_in(box, meta):
    """A world with something on every page: a subscribed number, a conversation in both directions
    with a read status, a token, a pending template and a delivered webhook."""
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)
    customer_says(box, CARDIO_PHONE, ANA, "Hola, ¿tienen envíos?")
    reply = {"id": "wamid.sandbox-reply", "type": "text", "text": {"body": "Sí, a todo el país"}}
    box.world.record_message(CARDIO_PHONE, ANA, reply, inbound=False)
    box.world.set_status("wamid.sandbox-reply", "read")
    meta.token_for(CARDIO)
    box.world.add_template(CARDIO_WABA, "checkup_reminder", "es", "UTILITY",
                           [{"type": "BODY", "text": "Hola {{1}}"}], status="PENDING")
    return box


def _post(sbx, page, url, headers, **data):
    token = csrf_from(sbx.get(page, headers=headers).get_data(as_text=True))
    return sbx.post(url, data={"csrf_token": token, **data}, headers=headers, follow_redirects=True)


PAGES = {
    "phone": (f"/phone?number={CARDIO_PHONE}&customer={ANA}",
              ["Teléfono del cliente", "Escribe como", "Enviar texto", "leído", "ventana de 24 horas",
               "Todo lo demás que envía Meta", "respuestas a un WhatsApp Flow"],
              ["Customer phone", "Write as", "Send text", "read", "24-hour window", "Everything else Meta sends",
               "answers to a WhatsApp Flow"]),
    "controls": ("/controls",
                 ["Empresas y tokens", "1 válidos · 0 vencidos · 0 revocados", "Revocar tokens", "Calidad de",
                  "Entregas de webhooks", "Respuesta del portal"],
                 ["Businesses and tokens", "1 valid · 0 expired · 0 revoked", "Revoke tokens", "Quality of",
                  "Webhook deliveries", "Portal answered"]),
    "templates": ("/controls/templates",
                  ["Plantillas de mensaje", "Aprobar checkup_reminder", "Rechazar checkup_reminder",
                   "Motivo para rechazar checkup_reminder"],
                  ["Message templates", "Approve checkup_reminder", "Reject checkup_reminder",
                   "Reason to reject checkup_reminder"]),
    "dialog": (f"{V}/dialog/oauth?client_id={dialog_params()['client_id']}&redirect_uri="
               f"{dialog_params()['redirect_uri']}&state=s&scope={dialog_params()['scope']}",
               ["pide acceso", "Elige la empresa que compartirás", "Autorizar", "Cancelar",
                "Enviar y recibir mensajes de WhatsApp"],
               ["is asking for access", "Choose the business to share", "Authorize", "Cancel",
                "Send and receive WhatsApp messages"]),
    "dialog with a configuration": (f"{V}/dialog/oauth?client_id={dialog_params()['client_id']}&redirect_uri="
                                    f"{dialog_params()['redirect_uri']}&config_id=555",
                                    ["token de empresa que no vence", "Configuración <code>555</code> (<span translate=\"no\">Facebook"],
                                    ["business token that does not expire",
                                     "Configuration <code>555</code> (<span translate=\"no\">Facebook Login for Business</span>): a"]),
}


@pytest.mark.parametrize("name", PAGES)
def test_each_page_in_spanish(sbx, lived_in, name):
    path, spanish, english = PAGES[name]
    response = sbx.get(path, headers=ES)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert english_left(html) == []
    assert '<html lang="es">' in html
    for words in spanish:
        assert words in html, words
    assert "Sandbox de Meta" in html or "pide acceso" in html


@pytest.mark.parametrize("name", PAGES)
def test_each_page_unchanged_in_english(sbx, lived_in, name):
    path, spanish, english = PAGES[name]
    for headers in (EN, {}):  # Chromium's en-US, and no Accept-Language at all
        html = sbx.get(path, headers=headers).get_data(as_text=True)
        assert '<html lang="en">' in html
        for words in english:
            assert words in html, words
        assert not any(words in html for words in spanish if words not in english)


def test_people_and_meta_names_are_not_for_translation(sbx, lived_in):
    html = sbx.get(f"/phone?number={CARDIO_PHONE}&customer={ANA}", headers=ES).get_data(as_text=True)
    assert '<span class="text" translate="no">Hola, ¿tienen envíos?</span>' in html
    assert 'class="status status-read">leído</span>' in html  # Meta's value stays in the class


def test_dialog_errors_in_spanish(sbx):
    bad_app = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params(client_id="1"), headers=ES)
    assert bad_app.status_code == 400
    html = bad_app.get_data(as_text=True)
    assert "ID de app no válido" in html and english_left(html) == []
    scopes = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params(scope="read_minds"), headers=ES)
    assert "Permisos no válidos: read_minds." in scopes.get_data(as_text=True)
    english = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params(client_id="1"), headers=EN)
    assert "Invalid App ID" in english.get_data(as_text=True)
    page = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params(), headers=ES).get_data(as_text=True)
    nobody = sbx.post(f"{V}/dialog/oauth", headers=ES, data=dialog_params() | {
        "csrf_token": csrf_from(page), "decision": "authorize"})
    assert nobody.status_code == 400
    html = nobody.get_data(as_text=True)
    assert "Elige la empresa cuyas cuentas de WhatsApp quieres compartir." in html and english_left(html) == []


def test_flash_messages_in_spanish(sbx, lived_in, recorder):
    phone = f"/phone?number={CARDIO_PHONE}&customer={ANA}"
    sent = _post(sbx, phone, "/phone/send", ES, number=CARDIO_PHONE, customer=ANA, kind="text", text="Hola")
    html = sent.get_data(as_text=True)
    assert "Mensaje de texto del cliente: entregado al portal (HTTP 200)." in html
    assert english_left(html) == []
    empty = _post(sbx, phone, "/phone/send", ES, number=CARDIO_PHONE, customer=ANA, kind="text", text=" ")
    assert "Primero escribe un mensaje." in empty.get_data(as_text=True)
    kind = _post(sbx, phone, "/phone/kind", ES, number=CARDIO_PHONE, customer=ANA, kind="alert:ban")
    assert "Alerta de cuenta ban: entregado al portal" in kind.get_data(as_text=True)
    batch = _post(sbx, phone, "/phone/batch", ES, number=CARDIO_PHONE, customer=ANA, count="3")
    assert "Lote de 3 mensajes en un solo webhook" in batch.get_data(as_text=True)
    aged = _post(sbx, phone, "/phone/age", ES, number=CARDIO_PHONE, customer=ANA, hours="25")
    assert "la ventana de 24 horas está cerrada" in aged.get_data(as_text=True)
    revoked = _post(sbx, "/controls", f"/controls/businesses/{CARDIO}/revoke", ES)
    html = revoked.get_data(as_text=True)
    assert "1 token(s) revocado(s) (Meta invalidó la sesión)." in html and english_left(html) == []
    quality = _post(sbx, "/controls", f"/controls/numbers/{CARDIO_PHONE}/quality", ES, rating="GREEN")
    assert "La calidad ya era GREEN." in quality.get_data(as_text=True)
    [template] = [t for t in lived_in.world.find_templates(CARDIO_WABA) if t.name == "checkup_reminder"]
    reviewed = _post(sbx, "/controls/templates", f"/controls/templates/{template.id}", ES, event="APPROVED")
    html = reviewed.get_data(as_text=True)
    assert "Plantilla aprobada: message_template_status_update entregado (HTTP 200)." in html
    assert english_left(html) == []


def test_flash_messages_unchanged_in_english(sbx, lived_in):
    phone = f"/phone?number={CARDIO_PHONE}&customer={ANA}"
    sent = _post(sbx, phone, "/phone/send", EN, number=CARDIO_PHONE, customer=ANA, kind="text", text="Hi")
    assert "Customer text message: delivered to the portal (HTTP 200)." in sent.get_data(as_text=True)
    kind = _post(sbx, phone, "/phone/kind", EN, number=CARDIO_PHONE, customer=ANA, kind="order")
    assert "Order: delivered to the portal (HTTP 200)." in kind.get_data(as_text=True)
    aged = _post(sbx, phone, "/phone/age", EN, number=CARDIO_PHONE, customer=ANA, hours="25")
    assert ("The customer's last message is now older: the 24-hour window is closed (a reply needs a template now)."
            in aged.get_data(as_text=True).replace("&#39;", "'"))
    [template] = [t for t in lived_in.world.find_templates(CARDIO_WABA) if t.name == "checkup_reminder"]
    reviewed = _post(sbx, "/controls/templates", f"/controls/templates/{template.id}", EN, event="PAUSED")
    assert "Template paused: message_template_status_update delivered (HTTP 200)." in reviewed.get_data(as_text=True)


def test_the_switch_changes_the_language_in_one_click_and_keeps_it(sbx, lived_in):
    page = sbx.get("/controls", headers=EN).get_data(as_text=True)
    assert 'name="language" value="es" lang="es">Español</button>' in page
    switched = sbx.post("/language", data={"csrf_token": csrf_from(page), "language": "es", "next": "/controls"},
                        headers=EN)
    assert switched.status_code == 303 and switched.headers["Location"] == "/controls"
    html = sbx.get("/controls", headers=EN).get_data(as_text=True)  # the choice beats Accept-Language
    assert "Empresas y tokens" in html and english_left(html) == []
    assert 'name="language" value="en" lang="en">English</button>' in html
    back = sbx.post("/language", data={"csrf_token": csrf_from(html), "language": "en", "next": "/phone"},
                    headers=ES)
    assert back.headers["Location"] == "/phone"
    assert "Customer phone" in sbx.get("/phone", headers=ES).get_data(as_text=True)


def test_the_switch_refuses_what_it_should(sbx):
    page = sbx.get("/phone").get_data(as_text=True)
    token = csrf_from(page)
    assert sbx.post("/language", data={"csrf_token": token, "language": "fr"}).status_code == 400
    outside = sbx.post("/language", data={"csrf_token": token, "language": "es", "next": "//evil.test/x"})
    assert outside.headers["Location"] == "/phone"  # never off the sandbox
    assert sbx.post("/language", data={"language": "es"}).status_code == 400  # CSRF-protected


def test_expired_form_explained_in_spanish(sbx):
    response = sbx.post("/phone/send", data={"kind": "text", "text": "x"}, headers=ES)
    assert response.status_code == 400
    assert "El formulario venció" in response.get_data(as_text=True)


def test_json_stays_english_whatever_the_language(sbx):
    answer = sbx.post("/api/messages", json={"number": CARDIO_PHONE, "from": ANA, "text": " "}, headers=ES)
    assert answer.status_code == 400
    assert answer.json == {"error": "Type a message first."}
    graph = sbx.get(f"{V}/me", headers={**ES, "Authorization": "Bearer not-a-token"})
    assert graph.status_code in (400, 401)
    assert graph.json["error"]["message"] == "Invalid OAuth access token - Cannot parse access token"  # Meta's words
