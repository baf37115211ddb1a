"""A send Meta refuses: the reply keeps Meta's own words and code, and each reader reads the
portal's sentence around them in their language ("Meta rechazó el mensaje: <Meta's words>
(código N)"); replies stored before, with the whole English sentence, still read so.

Graph error answers shaped as Meta's Cloud API "Error codes" page documents the envelope:
{"error": {"message", "type", "code", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}.
"""
from __future__ import annotations

import responses

from .test_conversations import conv_url
from .test_sending import GRAPH, outbound, post

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}
INVALID = "(#131009) Parameter value is not valid"


def meta_refuses(tenant, code: int, message: str, details: str = "Parameter value is not valid"):
    responses.post(f"{GRAPH}/{tenant.account.phone_number_id}/messages", status=400, json={"error": {
        "message": message, "type": "OAuthException", "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details}, "fbtrace_id": "AbCdEf123"}})


def thread(client, tenant, headers) -> str:
    response = client.get(conv_url(tenant), headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@responses.activate
def test_a_refusal_keeps_metas_words_and_is_said_in_each_readers_language(client, auth, two_products):
    tenant = two_products[0]
    meta_refuses(tenant, 131009, INVALID)
    auth.as_member(tenant.product)
    html = post(client, auth, tenant, headers={"HX-Request": "true", **ES}).get_data(as_text=True)
    assert f"Meta rechazó el mensaje: {INVALID} (código 131009)" in html
    [message] = outbound(tenant.product)
    assert (message.status, message.error_code, message.error_title) == ("failed", 131009, INVALID)

    spanish, english = thread(client, tenant, ES), thread(client, tenant, EN)
    assert f"Meta rechazó el mensaje: {INVALID} (código 131009)</span>" in spanish
    assert f"Meta refused the message: {INVALID} (code 131009)</span>" in english
    assert "Meta refused" not in spanish and "(code" not in english.replace("(code 131009)", "", 1)


@responses.activate
def test_a_refusal_the_portal_explains_is_explained_in_the_readers_language(client, auth, two_products):
    """131026 has the portal's own explanation; it is said in the reader's language, not the sender's."""
    tenant = two_products[0]
    meta_refuses(tenant, 131026, "Message undeliverable", details="Message Undeliverable.")
    auth.as_member(tenant.product)
    post(client, auth, tenant, headers={"HX-Request": "true", **ES})
    [message] = outbound(tenant.product)
    assert message.error_title == "Message undeliverable"
    spanish, english = thread(client, tenant, ES), thread(client, tenant, EN)
    assert ("WhatsApp no pudo entregar a este número: puede que no esté en WhatsApp, o el cliente debe aceptar "
            "los términos más recientes de WhatsApp o actualizar la app. Meta respondió: Message undeliverable "
            "(código 131026)") in spanish
    assert ("WhatsApp could not deliver to this number: it may not be on WhatsApp, or the customer must accept "
            "WhatsApp&#39;s latest terms or update the app. Meta said: Message undeliverable (code 131026)") in english


@responses.activate
def test_a_plain_form_post_flashes_the_refusal_in_the_readers_language(client, auth, two_products):
    tenant = two_products[0]
    meta_refuses(tenant, 131009, INVALID)
    auth.as_member(tenant.product)
    response = post(client, auth, tenant, headers=ES)
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers=ES).get_data(as_text=True)
    assert f"Meta rechazó el mensaje: {INVALID} (código 131009)" in page


def test_replies_refused_before_read_in_each_readers_language(client, auth, inbox, two_products):
    """Rows stored with the whole English sentence (and, for an explained code, the explanation in
    the sender's language): Meta's words are taken out of them and said again."""
    tenant = two_products[0]
    for title, code in ((f"Meta refused the message: {INVALID} (code 131009)", 131009),
                        ("Meta refused the message: Unsupported post request", None),
                        ("WhatsApp no pudo entregar a este número: puede que no esté en WhatsApp, o el cliente debe "
                         "aceptar los términos más recientes de WhatsApp o actualizar la app. Meta said: Message "
                         "undeliverable (code 131026)", 131026)):
        inbox.message(tenant.conversation, text="hola", direction="out", status="failed", wamid=None,
                      error_code=code, error_title=title)
    auth.as_member(tenant.product)
    spanish, english = thread(client, tenant, ES), thread(client, tenant, EN)
    assert f"Meta rechazó el mensaje: {INVALID} (código 131009)</span>" in spanish
    assert "Meta rechazó el mensaje: Unsupported post request</span>" in spanish
    assert "Meta respondió: Message undeliverable (código 131026)</span>" in spanish
    assert f"Meta refused the message: {INVALID} (code 131009)</span>" in english
    assert "Meta refused the message: Unsupported post request</span>" in english
    assert ("WhatsApp could not deliver to this number: it may not be on WhatsApp, or the customer must accept "
            "WhatsApp&#39;s latest terms or update the app. Meta said: Message undeliverable "
            "(code 131026)</span>") in english
    assert "Meta said" not in spanish and "Meta refused" not in spanish


def test_a_failed_status_and_the_portals_own_words_are_shown_as_before(client, auth, inbox, two_products):
    """A status webhook's failure (the message had a wamid) is Meta's title with its code; the
    portal's own sentences are translated, with no Meta wrapper around either."""
    tenant = two_products[0]
    inbox.message(tenant.conversation, text="hola", direction="out", status="failed", error_code=131049,
                  error_title="This message was not delivered to maintain healthy ecosystem engagement.")
    inbox.message(tenant.conversation, text="otra", direction="out", status="failed", wamid=None, error_code=130429,
                  error_title="WhatsApp is limiting how fast this number can send. Try again shortly.")
    auth.as_member(tenant.product)
    spanish = thread(client, tenant, ES)
    assert ("This message was not delivered to maintain healthy ecosystem engagement. (código 131049)</span>"
            in spanish)
    assert ("WhatsApp está limitando la velocidad de envío de este número. Vuelve a intentarlo en un momento.</span>"
            in spanish)
    assert "Meta rechazó" not in spanish and "130429" not in spanish
