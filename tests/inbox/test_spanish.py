"""The inbox in Spanish: the conversation list, a thread with many kinds of message, the canned
replies page, the live feed, flash messages and form errors, and times in the product's zone;
the same pages stay English for an English reader."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from portal.extensions import db
from portal.models import CannedReply, utcnow
from tests.english_left import english_left

from .test_conversations import conv_url

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}

# What other areas' templates add to inbox pages (the template picker, the attachment controls,
# the new-conversation link): their owners translate them; these tests read the inbox's own parts.
OTHER_AREAS = [
    re.compile(r'<details class="template-picker.*?</details>', re.S),
    re.compile(r'<div class="reply-attach">.*?</div>', re.S),
    re.compile(r'<p><a class="button" href="[^"]*/conversations/new">[^<]*</a></p>'),
]


def _html(response, status: int = 200) -> str:
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def script_words(html: str) -> dict:
    """The words the inbox's scripts show, as the page hands them over (templates/inbox/_assets.html)."""
    return json.loads(re.search(r'<script type="application/json" id="inbox-words">(.*?)</script>', html, re.S).group(1))


def inbox_parts(html: str) -> str:
    for pattern in OTHER_AREAS:
        html = pattern.sub("", html)
    return html


def _kinds(inbox, conversation):
    """A thread with text, a reply, a location, an interactive reply, an order, a contact card, a
    system message, a reaction, an edited and a deleted message, an unsupported one and a failed reply."""
    original = inbox.message(conversation, text="hola, ¿tienen turnos?", direction="out", reaction_emoji="👍",
                             sent_by_user_id=None)
    inbox.message(conversation, text="sí, gracias", context_wamid=original.wamid)
    inbox.message(conversation, type="location", text=None, latitude=-16.5, longitude=-68.15, location_name="Oficina")
    inbox.message(conversation, type="interactive", text=None, reply_id="opt-1", reply_title="Sí, por favor")
    inbox.message(conversation, type="order", text=None, raw={"order": {"catalog_id": "c1", "product_items": [
        {"product_retailer_id": "sku-1", "quantity": 2, "item_price": 10.5, "currency": "BOB"}]}})
    inbox.message(conversation, type="contacts", text="Juana Pérez", raw={"contacts": [
        {"name": {"formatted_name": "Juana Pérez"}, "phones": [{"phone": "+59170000000", "type": "CELL"}]}]})
    inbox.message(conversation, type="system", text=None, raw={"system": {"type": "customer_changed_number",
                                                                          "new_wa_id": "59171111111"}})
    inbox.message(conversation, type="request_welcome", text=None)
    inbox.message(conversation, type="unsupported", text=None)
    inbox.message(conversation, text="mensaje corregido", edited_at=utcnow())
    inbox.message(conversation, text="borrado", revoked_at=utcnow())
    inbox.message(conversation, text="¿siguen ahí?", direction="out", status="failed", error_code=131047,
                  error_title="The 24-hour window is closed: the customer last wrote more than 24 hours ago, so "
                              "WhatsApp only allows an approved template until they write again.")


def test_the_conversation_list_in_spanish_and_in_english(client, auth, inbox, two_products):
    cardio = two_products[0]
    db.session.add(cardio.conversation)
    cardio.conversation.status = "pending"
    db.session.commit()
    auth.as_member(cardio.product)
    url = f"/p/{cardio.product.id}/conversations"
    html = inbox_parts(_html(client.get(url, headers=ES)))
    assert english_left(html) == []
    for words in ("Buscar mensajes, nombres, números", "Mías", "Sin asignar", "Cualquier estado", "Elige una conversación",
                  "Activar notificaciones"):
        assert words in html, words
    assert script_words(html)["new_conversation"] == "Nueva conversación: {name}"  # inbox-alerts.js's notification
    assert script_words(html)["today"] == "Hoy"
    pending = _html(client.get(url + "?status=pending", headers=ES))
    assert '<span class="badge status-pending">pendiente</span>' in pending
    assert "No hay conversaciones resueltas aquí." in _html(client.get(url + "?status=resolved", headers=ES))

    english = _html(client.get(url, headers=EN))
    for words in ("Search messages, names, numbers", "Mine", "Unassigned", "Any status", "Pick a conversation",
                  "Turn on notifications"):
        assert words in english, words
    assert script_words(english)["new_conversation"] == "New conversation: {name}"
    assert "No resolved conversations here." in _html(client.get(url + "?status=resolved", headers=EN))


def test_a_thread_of_many_kinds_in_spanish_and_in_english(client, auth, inbox, make_product):
    product = make_product("Clínica")
    conversation = inbox.conversation(inbox.account(product), name="Ana Pérez")  # the page's <title> shows the name
    _kinds(inbox, conversation)
    auth.as_member(product)
    url = f"/p/{product.id}/conversations/{conversation.id}"
    html = inbox_parts(_html(client.get(url, headers=ES)))
    assert english_left(html) == []
    for words in ("Ubicación", "Abrir mapa", "Tocó", "Pedido", "Cant.", "Tarjeta de contacto",
                  "El cliente cambió su número de teléfono a +59171111111", "El cliente abrió el chat por primera vez.",
                  "WhatsApp no pudo transmitir este mensaje.", "Se eliminó este mensaje", ">editado<",
                  "La ventana de 24 horas está cerrada", "No enviado", '<span class="msg-quote-who">Tú</span>',
                  "Notas internas", "Asignada a", "Nadie", "Cliente desde", "Detalles", "Responder", "Enviar",
                  "Intro envía · Mayús+Intro agrega una línea", ">abierta</span>"):
        assert words in html, words

    english = _html(client.get(url, headers=EN))
    for words in ("Location", "Open map", "Tapped", "Order", "Qty", "Contact card",
                  "The customer changed their phone number to +59171111111", "The customer opened the chat for the first time.",
                  "WhatsApp could not pass this message on.", "This message was deleted", ">edited<",
                  "The 24-hour window is closed", "Not sent", '<span class="msg-quote-who">You</span>',
                  "Internal notes", "Assigned to", "Nobody", "Customer since", "Details", "Reply", "Send",
                  "Enter sends · Shift+Enter adds a line", ">open</span>"):
        assert words in english, words


def test_the_closed_window_and_a_form_error_in_spanish(client, auth, inbox, make_product):
    product = make_product()
    account = inbox.account(product)
    closed = inbox.conversation(account, last_inbound_at=utcnow() - timedelta(days=2))
    inbox.message(closed, text="hola", created_at=utcnow() - timedelta(days=2))
    auth.as_member(product)
    html = _html(client.get(f"/p/{product.id}/conversations/{closed.id}", headers=ES))
    assert "La ventana de 24 horas está cerrada: el cliente escribió por última vez hace más de 24 horas" in html
    assert 'placeholder="Las respuestas están cerradas"' in html
    assert "The 24-hour window is closed" in _html(client.get(f"/p/{product.id}/conversations/{closed.id}", headers=EN))

    open_one = inbox.conversation(account)
    refused = client.post(f"/p/{product.id}/conversations/{open_one.id}/messages",
                          data={"body": "  ", "csrf_token": auth.csrf_token()}, headers=ES)
    assert "Escribe un mensaje antes de enviarlo." in _html(refused, 422)


def test_canned_replies_page_and_its_flash_messages_in_spanish(client, auth, make_product):
    product = make_product()
    auth.as_member(product, role="admin")
    url = f"/p/{product.id}/canned-replies"
    html = _html(client.get(url, headers=ES))
    assert english_left(html) == []
    for words in ("Respuestas rápidas", "Todavía no hay respuestas rápidas.", "Agregar una respuesta rápida",
                  "Atajo (se escribe después de /)", "escribe <kbd>/</kbd> y el atajo"):
        assert words in html, words

    added = client.post(url, data={"shortcut": "horario", "body": "Atendemos de 8 a 18.", "csrf_token": auth.csrf_token()},
                        headers=ES, follow_redirects=True)
    html = _html(added)
    assert "Se agregó /horario." in html and english_left(html) == []
    assert ">Eliminar</button>" in html
    again = client.post(url, data={"shortcut": "horario", "body": "otra", "csrf_token": auth.csrf_token()}, headers=ES)
    assert "/horario ya existe." in _html(again, 422)

    english = _html(client.get(url, headers=EN))
    assert "Canned replies" in english and "Add a canned reply" in english and ">Delete</button>" in english
    reply = db.session.query(CannedReply).one()
    deleted = client.post(f"{url}/{reply.id}/delete", data={"csrf_token": auth.csrf_token()}, follow_redirects=True)
    assert "/horario deleted." in _html(deleted)


def test_a_refused_status_change_flashes_in_spanish(client, auth, two_products):
    cardio = two_products[0]
    auth.as_member(cardio.product)
    answer = client.post(conv_url(cardio, "/status"), data={"status": "closed", "csrf_token": auth.csrf_token()},
                         headers=ES, follow_redirects=True)
    assert "El estado debe ser uno de: open, pending, resolved." in _html(answer)


def test_the_feed_and_the_reconnect_banner_in_spanish(client, auth, inbox, two_products):
    cardio = two_products[0]
    inbox.message(cardio.conversation, text="¿llegó?", direction="out", status="failed", error_code=131000,
                  error_title="Meta could not be reached. Try again shortly.")
    inbox.message(cardio.conversation, type="location", text=None, location_name="Oficina", latitude=1.0, longitude=2.0)
    db.session.add(cardio.account)
    cardio.account.mark_needs_reconnect("test: the token expired")
    db.session.commit()
    auth.as_member(cardio.product)
    url = f"/p/{cardio.product.id}/feed"
    html = _html(client.get(url, headers=ES))
    assert english_left(html) == []
    for words in ("Actividad en vivo", "No enviado", 'title="No se pudo contactar a Meta. Vuelve a intentarlo en un momento."',
                  "Ubicación: Oficina", "Hay que volver a conectar.", "no se pueden enviar respuestas desde este número",
                  'title="Del cliente"'):
        assert words in html, words
    english = _html(client.get(url, headers=EN))
    for words in ("Live feed", 'title="Meta could not be reached. Try again shortly."', "Location: Oficina",
                  "Reconnect needed.", "replies cannot be sent from this number", 'title="From the customer"'):
        assert words in english, words


def test_the_activity_panel_in_spanish(client, auth, inbox, two_products):
    cardio = two_products[0]
    auth.as_member(cardio.product)
    page = _html(client.get(f"/p/{cardio.product.id}/channels", headers=ES))
    panel = re.search(r'<section class="card activity.*?</section>', page, re.S).group(0)
    assert english_left(panel) == []
    assert "Últimos 30 días" in panel and "recibidos" in panel and "mediana de primera respuesta" in panel
    english = _html(client.get(f"/p/{cardio.product.id}/channels", headers=EN))
    assert "Last 30 days" in english and "median first response" in english


def test_a_thread_shows_times_in_the_products_zone(client, auth, inbox, make_product):
    product = make_product()
    product.timezone = "America/La_Paz"
    db.session.commit()
    account = inbox.account(product)
    conversation = inbox.conversation(account)
    at = datetime.combine(utcnow().date() - timedelta(days=1), datetime.min.time()).replace(hour=13)
    inbox.message(conversation, text="buenos días", created_at=at)
    auth.as_member(product)
    html = _html(client.get(f"/p/{product.id}/conversations/{conversation.id}", headers=ES))
    time = re.search(r'<time datetime="' + at.isoformat() + r'Z" title="([^"]*)">', html)
    assert time and " 09:00:00" in time.group(1) and "13:00" not in time.group(1), time and time.group(0)


def test_the_contact_panel_says_until_when_free_replies_are_allowed_in_local_time(client, auth, inbox, make_product):
    from zoneinfo import ZoneInfo

    product = make_product()
    product.timezone = "America/La_Paz"
    account = inbox.account(product)
    open_one, closed_one = inbox.conversation(account), inbox.conversation(account)
    wrote = utcnow().replace(microsecond=0) - timedelta(hours=2)
    open_one.last_inbound_at, closed_one.last_inbound_at = wrote, wrote - timedelta(hours=23)
    db.session.commit()
    auth.as_member(product)
    ends = (wrote + timedelta(hours=24)).replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("America/La_Paz"))
    page = _html(client.get(f"/p/{product.id}/conversations/{open_one.id}", headers=ES))
    window = re.search(r'<dd id="reply-window">(.*?)</dd>', page, re.S).group(1).strip()
    assert window.startswith("hasta ") and window.endswith(ends.strftime("%H:%M")), window
    page = _html(client.get(f"/p/{product.id}/conversations/{closed_one.id}", headers=EN))
    assert re.search(r'<dd id="reply-window">closed: templates only until the customer writes</dd>', page)
