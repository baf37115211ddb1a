"""The templates pages and fragments in Spanish (Accept-Language: es): nothing English left,
the key Spanish words there; the same pages in English unchanged. Validation errors, filling
errors and flashes come in the reader's language; stored values (status, category) stay Meta's."""
from __future__ import annotations

import responses
from sqlalchemy import select

from portal.extensions import db
from portal.message_templates import definition, labels
from portal.models import MessageTemplate
from tests.english_left import english_left

from .conftest import G, NUMBER_A, WABA_A

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}
MEDIA_TEMPLATE = [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hello {{1}}, your order {{2}} shipped."},
                  {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}"},
                                                  {"type": "COPY_CODE", "example": "SAVE10"}]}]


def _page(client, url, headers=ES, status=200, **kwargs):
    response = client.get(url, headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_templates_index_in_spanish(client, auth, tenants, make_template):
    cardio, _ = tenants
    make_template(cardio, name="order_update", status="APPROVED")
    make_template(cardio, name="spring_sale", status="IN_APPEAL", category="MARKETING", language="es")
    auth.as_member(cardio, role="admin")
    html = _page(client, f"/p/{cardio.id}/templates")
    assert english_left(html) == []
    for words in ("Plantillas de mensaje", "Crear una plantilla", "Sincronizar ahora", "Categoría", "Calidad",
                  "aprobada", "en apelación", "utilidad", "Cualquiera"):
        assert words in html, words
    assert 'data-status="APPROVED"' in html and 'data-status="IN_APPEAL"' in html  # stored values stay Meta's
    fragment = _page(client, f"/p/{cardio.id}/templates?q=zzz", headers={**ES, "HX-Request": "true"})
    assert "No hay plantillas." in fragment and english_left(fragment) == []
    english = _page(client, f"/p/{cardio.id}/templates", headers=EN)
    assert "Message templates" in english and "Sync now" in english and ">approved<" in english
    assert "in appeal" in english and "Plantillas de mensaje" not in english


def test_new_template_form_and_its_problems_in_spanish(client, auth, tenants):
    cardio, _ = tenants
    auth.as_member(cardio, role="admin")
    html = _page(client, f"/p/{cardio.id}/templates/new")
    assert english_left(html) == []
    for words in ("Crear una plantilla", "Encabezado", "Cuerpo", "Botones (opcional)", "Respuesta rápida",
                  "Visitar sitio web", "Autenticación", "Enviar a Meta", "Inglés (EE. UU.)", "ninguno"):
        assert words in html, words
    response = client.post(f"/p/{cardio.id}/templates/new", headers=ES, data={
        "csrf_token": auth.csrf_token(), "waba_id": WABA_A, "name": "Bad Name", "language": "en_US",
        "category": "UTILITY", "header_format": "NONE", "body": "{{1}} shipped", "footer": "x" * 70})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "La plantilla no se envió:" in html
    assert "El nombre solo puede tener minúsculas, dígitos y guiones bajos" in html
    assert "El pie admite como máximo 60 caracteres; tiene 70." in html
    assert "El cuerpo no puede empezar ni terminar con una variable" in html
    assert "Indica un valor de ejemplo para cada variable del cuerpo (Meta los exige): {{1}}." in html
    assert english_left(html) == []
    samples = client.post(f"/p/{cardio.id}/templates/new/samples", headers=ES,
                          data={"csrf_token": auth.csrf_token(), "body": "Hi {{1}}"}).get_data(as_text=True)
    assert "Ejemplo para {{1}}" in samples and english_left(samples) == []
    english = client.post(f"/p/{cardio.id}/templates/new", headers=EN, data={
        "csrf_token": auth.csrf_token(), "waba_id": WABA_A, "name": "Bad Name", "language": "en_US",
        "category": "UTILITY", "header_format": "NONE", "body": "Hello there"}).get_data(as_text=True)
    assert "The template was not submitted:" in english and "The name may hold only lowercase letters" in english


def test_created_flash_and_template_page_in_spanish(client, auth, tenants, graph):
    cardio, _ = tenants
    graph.add(responses.POST, f"{G}/{WABA_A}/message_templates",
              json={"id": "594425479261596", "status": "PENDING", "category": "UTILITY"})
    auth.as_member(cardio, role="admin")
    response = client.post(f"/p/{cardio.id}/templates/new", headers=ES, data={
        "csrf_token": auth.csrf_token(), "waba_id": WABA_A, "name": "order_update", "language": "en_US",
        "category": "UTILITY", "header_format": "NONE", "body": "Hi {{1}}, your order shipped.", "body_sample_1": "Ana"})
    assert response.status_code == 303
    html = _page(client, response.headers["Location"])
    assert "Plantilla order_update (en_US) enviada a Meta: está pendiente." in html
    assert "Esperando la revisión de Meta." in html and "Eliminar en Meta" in html and "Vista previa" in html
    assert english_left(html) == []
    template = db.session.execute(select(MessageTemplate)).scalar_one()
    assert template.status == "PENDING"  # the stored value stays Meta's
    english = _page(client, response.headers["Location"], headers=EN)
    assert "Waiting for Meta" in english and "review." in english and "Delete at Meta" in english
    assert 'data-status="PENDING">pending<' in english


def test_rejected_template_page_keeps_metas_reason_and_translates_the_portals_words(client, auth, tenants, make_template):
    cardio, _ = tenants
    template = make_template(cardio, status="REJECTED", category="MARKETING")
    template.rejected_reason = "INVALID_FORMAT · The template has too many variables for its length"
    db.session.commit()
    auth.as_member(cardio, role="agent")
    html = _page(client, f"/p/{cardio.id}/templates/{template.id}")
    assert "Rechazada por Meta." in html and "Motivo de Meta" in html and "rechazada" in html
    assert 'translate="no">INVALID_FORMAT' in html  # Meta's own words, shown as Meta wrote them
    assert english_left(html) == []
    assert "Rejected by Meta." in _page(client, f"/p/{cardio.id}/templates/{template.id}", headers=EN)


def test_meta_refusal_and_delete_flash_in_spanish(client, auth, tenants, graph, make_template):
    cardio, _ = tenants
    template = make_template(cardio, meta_id="594425479261596")
    graph.add(responses.DELETE, f"{G}/{WABA_A}/message_templates",
              json={"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100}}, status=400)
    auth.as_member(cardio, role="admin")
    response = client.post(f"/p/{cardio.id}/templates/{template.id}/delete", headers=ES,
                           data={"csrf_token": auth.csrf_token()}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Meta rechazó eliminar la plantilla: Invalid parameter" in html and "(código 100)" in html
    graph.replace(responses.DELETE, f"{G}/{WABA_A}/message_templates", json={"success": True})
    html = client.post(f"/p/{cardio.id}/templates/{template.id}/delete", headers=ES,
                       data={"csrf_token": auth.csrf_token()}, follow_redirects=True).get_data(as_text=True)
    assert "Plantilla order_update (en_US) eliminada en Meta." in html


def test_sync_flash_in_spanish(client, auth, tenants, graph):
    cardio, _ = tenants
    graph.add(responses.GET, f"{G}/{WABA_A}/message_templates", json={"data": [], "paging": {}})
    auth.as_member(cardio, role="admin")
    html = client.post(f"/p/{cardio.id}/templates/sync", headers=ES, data={"csrf_token": auth.csrf_token()},
                       follow_redirects=True).get_data(as_text=True)
    assert "Sincronizado con Meta: 0 plantillas." in html


def test_fill_form_preview_and_filling_error_in_spanish(client, auth, tenants, make_template, make_conversation):
    cardio, _ = tenants
    template = make_template(cardio, components=MEDIA_TEMPLATE)
    conversation = make_conversation(cardio)
    auth.as_member(cardio, role="agent")
    url = f"/p/{cardio.id}/conversations/{conversation.id}/template?template_id={template.id}"
    html = _page(client, url)
    for words in ("Enviar una plantilla", "Imagen del encabezado", "Un enlace https público al archivo",
                  "Final del enlace del botón “Track”", "Código para copiar", "Enviar plantilla", "Vista previa",
                  "← Volver a la conversación"):
        assert words in html, words
    assert english_left(html) == []
    fragment = _page(client, url, headers={**ES, "HX-Request": "true"})
    assert "Enviar plantilla" in fragment and english_left(fragment) == []
    preview = client.post(f"/p/{cardio.id}/templates/{template.id}/preview", headers=ES,
                          data={"csrf_token": auth.csrf_token(), "body_1": "Ana"}).get_data(as_text=True)
    assert "Vista previa" in preview and "Hello Ana" in preview and english_left(preview) == []
    response = client.post(f"/p/{cardio.id}/conversations/{conversation.id}/template", headers=ES,
                           data={"csrf_token": auth.csrf_token(), "template_id": str(template.id)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Completa Imagen del encabezado." in html and english_left(html) == []
    english = client.post(f"/p/{cardio.id}/conversations/{conversation.id}/template", headers=EN,
                          data={"csrf_token": auth.csrf_token(), "template_id": str(template.id)}).get_data(as_text=True)
    assert "Fill in Header image." in english and "Send template" in english


def test_new_conversation_form_in_spanish(client, auth, tenants, make_template):
    cardio, _ = tenants
    template = make_template(cardio)
    auth.as_member(cardio, role="agent")
    url = f"/p/{cardio.id}/conversations/new"
    html = _page(client, url)
    for words in ("Iniciar una conversación con una plantilla", "Para (número de teléfono con código de país)",
                  "Elige una plantilla aprobada…", "Desde"):
        assert words in html, words
    assert english_left(html) == []
    chosen = _page(client, f"{url}?number={NUMBER_A}&template_id={template.id}", headers={**ES, "HX-Request": "true"})
    assert "Enviar plantilla" in chosen and english_left(chosen) == []
    response = client.post(url, headers=ES, data={"csrf_token": auth.csrf_token(), "number": NUMBER_A,
                                                  "template_id": str(template.id), "phone": "555",
                                                  "body_1": "Ana", "body_2": "A-17"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Escribe el número de teléfono en formato internacional" in html and english_left(html) == []
    response = client.post(url, headers=ES, data={"csrf_token": auth.csrf_token(), "number": NUMBER_A, "phone": "+15551230001"})
    assert "Elige un número y una plantilla aprobada de su cuenta de WhatsApp." in response.get_data(as_text=True)
    english = _page(client, url, headers=EN)
    assert "Start a conversation with a template" in english and "Choose an approved template…" in english


def test_labels_keep_stored_values_and_fall_back_to_metas_names(app):
    with app.test_request_context(headers=ES):
        assert labels.label("status", "APPROVED") == "aprobada"
        assert labels.label("status", "SOMETHING_NEW") == "something new"
        assert labels.label("category", None) == ""
        assert "El código caduca después de 1 a 90 minutos." in definition.check(
            definition.Draft(name="otp", category="AUTHENTICATION", code_expiration_minutes="500"))
    with app.test_request_context(headers=EN):
        assert labels.label("status", "IN_APPEAL") == "in appeal"
        assert "The code expires after 1 to 90 minutes." in definition.check(
            definition.Draft(name="otp", category="AUTHENTICATION", code_expiration_minutes="500"))


def test_a_template_meta_refuses_is_flashed_in_the_readers_language(client, auth, tenants, graph, make_template,
                                                                    make_conversation):
    """The portal's explanation and wrapper in Spanish, Meta's own words as Meta wrote them (Graph's
    error envelope as Meta's Cloud API "Error codes" page documents it)."""
    cardio, _ = tenants
    template = make_template(cardio)
    conversation = make_conversation(cardio)
    graph.add(responses.POST, f"{G}/{NUMBER_A}/messages", status=400, json={"error": {
        "message": "(#132001) Template name does not exist in the translation", "type": "OAuthException", "code": 132001,
        "error_data": {"messaging_product": "whatsapp", "details": "template name (order_update) does not exist in en_US"},
        "fbtrace_id": "AbC"}})
    auth.as_member(cardio, role="agent")
    html = client.post(f"/p/{cardio.id}/conversations/{conversation.id}/template", headers=ES, follow_redirects=True, data={
        "csrf_token": auth.csrf_token(), "template_id": str(template.id), "body_1": "Ana", "body_2": "A-17"}
    ).get_data(as_text=True)
    assert ("Esta plantilla no existe en Meta en este idioma (o aún no está aprobada). Sincroniza las plantillas y "
            "revisa su estado. Meta respondió: (#132001) Template name does not exist in the translation "
            "(código 132001)") in html
    assert "Meta said" not in html


def test_a_template_the_portal_refuses_to_send_says_why_in_the_readers_language(client, auth, tenants, make_template,
                                                                                make_conversation):
    """The portal's own reasons (stored English constants) come translated on the fill page."""
    from portal.models import WhatsAppAccount

    cardio, _ = tenants
    template = make_template(cardio)
    conversation = make_conversation(cardio)
    account = db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == NUMBER_A)).scalar_one()
    account.mark_needs_reconnect("test: the token expired")
    db.session.commit()
    auth.as_member(cardio, role="agent")
    response = client.post(f"/p/{cardio.id}/conversations/{conversation.id}/template", headers=ES, data={
        "csrf_token": auth.csrf_token(), "template_id": str(template.id), "body_1": "Ana", "body_2": "A-17"})
    assert response.status_code == 409
    assert "El acceso de este número de WhatsApp a Meta venció o fue revocado" in response.get_data(as_text=True)
