"""Replies: the product's own token and number, pending before Meta is called, errors in words."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import NEEDS_RECONNECT, Message, PendingStatus, WhatsAppAccount, utcnow
from tests.conftest import TEST_GRAPH_URL

HX = {"HX-Request": "true"}
GRAPH = f"{TEST_GRAPH_URL}/v25.0"


def send_url(tenant):
    return f"/p/{tenant.product.id}/conversations/{tenant.conversation.id}/messages"


def graph_ok(tenant, wamid="wamid.SENT1"):
    responses.post(f"{GRAPH}/{tenant.account.phone_number_id}/messages",
                   json={"messaging_product": "whatsapp", "contacts": [{"input": "x", "wa_id": "x"}], "messages": [{"id": wamid}]})


def graph_error(tenant, code, message="Something went wrong", status=400):
    responses.post(f"{GRAPH}/{tenant.account.phone_number_id}/messages", status=status,
                   json={"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "TRACE"}})


def outbound(product):
    return db.session.execute(
        db.select(Message).where(Message.direction == "out", Message.product_id == product.id)
        .execution_options(all_products=True)
    ).scalars().all()


def post(client, auth, tenant, body="Hello there", headers=HX, **extra):
    return client.post(send_url(tenant), data={"body": body, **extra},
                       headers={**headers, "X-CSRFToken": auth.csrf_token()})


@responses.activate
@pytest.mark.parametrize("which", [0, 1])
def test_send_uses_the_products_own_token_and_number(client, auth, two_products, which):
    tenant = two_products[which]
    graph_ok(tenant)
    auth.as_member(tenant.product)
    response = post(client, auth, tenant)
    assert response.status_code == 200
    call = responses.calls[0]
    assert call.request.headers["Authorization"] == f"Bearer {tenant.account.access_token}"
    assert call.request.path_url.split("?")[0] == f"/v25.0/{tenant.account.phone_number_id}/messages"
    other = two_products[1 - which]
    assert other.account.access_token not in call.request.headers["Authorization"]
    payload = json.loads(call.request.body)
    assert payload == {"messaging_product": "whatsapp", "recipient_type": "individual",
                       "to": tenant.conversation.contact.wa_id, "type": "text",
                       "text": {"body": "Hello there", "preview_url": False}}
    [message] = outbound(tenant.product)
    assert (message.wamid, message.status, message.text) == ("wamid.SENT1", "sent", "Hello there")
    assert outbound(other.product) == []
    assert f'id="msg-{message.id}"' in response.get_data(as_text=True)


@responses.activate
def test_message_is_committed_as_pending_before_meta_is_called(app, client, auth, two_products):
    tenant = two_products[0]
    seen = []

    def meta(request):
        # Another connection (another web process) already sees the reply, pending.
        with db.engine.connect() as conn:
            seen.extend(conn.execution_options(all_products=True)  # (a raw look at every product's rows)
                        .execute(text("SELECT status, wamid FROM messages WHERE direction = 'out'")).all())
        return 200, {}, json.dumps({"messages": [{"id": "wamid.X"}]})

    responses.add_callback(responses.POST, f"{GRAPH}/{tenant.account.phone_number_id}/messages", callback=meta)
    auth.as_member(tenant.product)
    post(client, auth, tenant)
    assert [tuple(row) for row in seen] == [("pending", None)]


@responses.activate
def test_reply_to_a_message_sends_its_context(client, auth, inbox, two_products):
    tenant = two_products[0]
    question = inbox.message(tenant.conversation, text="which size?", wamid="wamid.QUESTION")
    graph_ok(tenant)
    auth.as_member(tenant.product)
    post(client, auth, tenant, body="Size M", reply_to=str(question.id))
    assert json.loads(responses.calls[0].request.body)["context"] == {"message_id": "wamid.QUESTION"}
    assert outbound(tenant.product)[0].context_wamid == "wamid.QUESTION"


@responses.activate
def test_meta_window_closed_error(client, auth, two_products):
    tenant = two_products[0]
    graph_error(tenant, 131047, "Re-engagement message")
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    [message] = outbound(tenant.product)
    assert message.status == "failed" and message.error_code == 131047 and message.wamid is None
    assert "24-hour window is closed" in html
    assert 'hx-swap-oob="true"' in html and 'type="submit" disabled>' in html  # the reply box closes
    assert "Retry" not in html


def test_window_closed_disables_the_box_before_typing(client, auth, inbox, make_product):
    product = make_product("Quiet")
    account = inbox.account(product)
    conversation = inbox.conversation(account, last_inbound_at=utcnow() - timedelta(hours=24, minutes=1))
    auth.as_member(product)
    html = client.get(f"/p/{product.id}/conversations/{conversation.id}").get_data(as_text=True)
    assert "24-hour window is closed" in html
    box = html.split('id="reply-box"', 1)[1].split("</form>", 1)[0]
    assert 'type="submit" disabled>' in box and "Replies are closed\" disabled>" in box
    with responses.RequestsMock() as meta:  # and a POST anyway is refused without calling Meta
        response = client.post(f"/p/{product.id}/conversations/{conversation.id}/messages",
                               data={"body": "late"}, headers={**HX, "X-CSRFToken": auth.csrf_token()})
        assert len(meta.calls) == 0
    assert response.status_code == 409 and "24-hour window is closed" in response.get_data(as_text=True)
    assert outbound(product) == []


def test_window_open_within_24_hours(client, auth, inbox, make_product):
    product = make_product("Recent")
    conversation = inbox.conversation(inbox.account(product), last_inbound_at=utcnow() - timedelta(hours=23, minutes=59))
    auth.as_member(product)
    html = client.get(f"/p/{product.id}/conversations/{conversation.id}").get_data(as_text=True)
    assert "window is closed" not in html
    assert " disabled>" not in html.split('id="reply-box"', 1)[1].split("</form>", 1)[0]


@responses.activate
def test_token_error_marks_the_account_and_shows_the_banner(client, auth, two_products):
    tenant, other = two_products
    graph_error(tenant, 190, "Error validating access token: Session has expired")
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    db.session.expire_all()
    assert tenant.account.status == NEEDS_RECONNECT
    assert db.session.get(WhatsAppAccount, other.account.id).status != NEEDS_RECONNECT
    [message] = outbound(tenant.product)
    assert message.status == "failed" and message.error_code == 190
    assert "must reconnect" in html and 'id="reconnect-banner" hx-swap-oob="true"' in html
    assert "Reconnect needed" in html
    dashboard = client.get(f"/p/{tenant.product.id}/channels").get_data(as_text=True)
    assert "Reconnect needed" in dashboard
    page = client.get(f"/p/{tenant.product.id}/conversations/{tenant.conversation.id}").get_data(as_text=True)
    assert "Reconnect needed" in page and "must reconnect" in page
    # The next reply is refused before anything is stored or sent.
    response = post(client, auth, tenant, body="again")
    assert response.status_code == 409 and len(responses.calls) == 1
    assert len(outbound(tenant.product)) == 1


@responses.activate
@pytest.mark.parametrize("code", [130429, 131056, 4, 80007])
def test_rate_limits_say_try_again_and_stay_retryable(client, auth, two_products, code):
    tenant = two_products[0]
    graph_error(tenant, code, "Rate limit hit")
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    [message] = outbound(tenant.product)
    assert message.status == "failed" and message.error_code == code and message.wamid is None
    assert "Try again shortly" in html and "Retry" in html

    responses.replace(responses.POST, f"{GRAPH}/{tenant.account.phone_number_id}/messages",
                      json={"messages": [{"id": "wamid.RETRIED"}]})
    retry = client.post(f"{send_url(tenant)}/{message.id}/retry", headers={**HX, "X-CSRFToken": auth.csrf_token()})
    assert retry.status_code == 200 and retry.headers["HX-Retarget"] == f"#msg-{message.id}"
    db.session.expire_all()
    assert (message.status, message.wamid, message.error_code) == ("sent", "wamid.RETRIED", None)
    assert len(outbound(tenant.product)) == 1  # the same message, not a second one
    again = client.post(f"{send_url(tenant)}/{message.id}/retry", headers={**HX, "X-CSRFToken": auth.csrf_token()})
    assert again.status_code == 409


@responses.activate
def test_meta_unreachable_is_retryable(client, auth, two_products):
    tenant = two_products[0]
    responses.post(f"{GRAPH}/{tenant.account.phone_number_id}/messages", status=503, body="upstream down")
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    assert "Try again shortly" in html and "Retry" in html
    assert outbound(tenant.product)[0].status == "failed"


@responses.activate
def test_other_errors_show_metas_message_and_code(client, auth, two_products):
    tenant = two_products[0]
    graph_error(tenant, 131026, "Message undeliverable")
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    assert "Message undeliverable" in html and "131026" in html
    [message] = outbound(tenant.product)
    assert message.status == "failed" and "Message undeliverable" in message.error_title
    assert "Retry" not in html


@pytest.mark.parametrize("body, words", [("   ", "Write a message"), ("x" * 4097, "at most 4096")])
def test_bad_body_is_a_422_and_nothing_is_stored(client, auth, two_products, body, words):
    tenant = two_products[0]
    auth.as_member(tenant.product)
    with responses.RequestsMock() as meta:
        response = post(client, auth, tenant, body=body)
        assert len(meta.calls) == 0
    assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#reply-box"
    assert outbound(tenant.product) == []


def test_cannot_send_into_another_products_conversation(client, auth, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    token = auth.csrf_token()
    for url in (send_url(flex), f"/p/{cardio.product.id}/conversations/{flex.conversation.id}/messages"):
        assert client.post(url, data={"body": "hi"}, headers={**HX, "X-CSRFToken": token}).status_code == 404
    assert outbound(flex.product) == []


def test_send_needs_csrf(client, auth, two_products):
    tenant = two_products[0]
    auth.as_member(tenant.product)
    assert client.post(send_url(tenant), data={"body": "hi"}, headers=HX).status_code == 400
    assert outbound(tenant.product) == []


@responses.activate
def test_plain_form_post_redirects_back(client, auth, two_products):
    tenant = two_products[0]
    graph_ok(tenant)
    auth.as_member(tenant.product)
    response = client.post(send_url(tenant), data={"body": "no js", "csrf_token": auth.csrf_token()})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/conversations/{tenant.conversation.id}")


@responses.activate
def test_statuses_that_arrived_before_the_wamid_are_applied_after_the_send(client, auth, two_products):
    """Meta's "delivered" webhook can beat its own answer to the send: it is kept, then applied."""
    tenant = two_products[0]
    db.session.add(PendingStatus(product_id=tenant.product.id, wamid="wamid.EARLY", status="delivered",
                                 status_at=utcnow()))
    db.session.commit()
    graph_ok(tenant, wamid="wamid.EARLY")
    auth.as_member(tenant.product)
    post(client, auth, tenant)
    db.session.expire_all()
    sent = db.session.execute(select(Message).where(Message.wamid == "wamid.EARLY")).scalar_one()
    assert sent.status == "delivered"
    assert db.session.execute(select(PendingStatus).where(PendingStatus.wamid == "wamid.EARLY")).first() is None


def test_a_failed_message_is_claimed_for_retry_once(app, inbox, two_products):
    from portal.inbox.sending import claim_for_retry
    from portal.tenancy import enter_product, leave_product

    tenant = two_products[0]
    message = inbox.message(tenant.conversation, text="rate limited", direction="out", status="failed",
                            error_code=130429, wamid=None, status_at=utcnow())
    stale_copy = (message.status, message.status_at)
    enter_product(tenant.product.id)
    try:
        assert claim_for_retry(message) is True
        assert message.status == "pending"
        # A second click that still saw the failed message claims nothing.
        message.status, message.status_at = stale_copy
        db.session.expunge(message)
        assert claim_for_retry(message) is False
    finally:
        leave_product()


def test_plain_form_post_with_bad_input_is_a_422_page_keeping_the_text(client, auth, two_products):
    tenant = two_products[0]
    auth.as_member(tenant.product)
    response = client.post(send_url(tenant), data={"body": "x" * 4097, "csrf_token": auth.csrf_token()})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html and "at most 4096" in html
    assert "x" * 4097 in html  # what was typed is not lost
    assert outbound(tenant.product) == []
