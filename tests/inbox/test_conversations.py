"""Conversations: the list, the thread, safe rendering, read marks, older pages, live ticks, media."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import responses
from responses import matchers

from portal.extensions import db
from portal.models import Message, utcnow
from portal.inbox.rendering import is_newer_status, message_html
from tests.conftest import TEST_GRAPH_URL

HX = {"HX-Request": "true"}
GRAPH = f"{TEST_GRAPH_URL}/v25.0"


def conv_url(tenant_or_conv, suffix=""):
    conversation = getattr(tenant_or_conv, "conversation", tenant_or_conv)
    return f"/p/{conversation.product_id}/conversations/{conversation.id}{suffix}"


def test_list_shows_only_own_conversations(client, auth, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    html = client.get(f"/p/{cardio.product.id}/conversations").get_data(as_text=True)
    assert "Customer of Cardio Plus" in html and "Customer of Flex 60" not in html
    assert cardio.account.phone_number in html  # which of the product's numbers
    assert re.search(r'class="badge badge-count unread-count"[^>]*>3<', html)


def test_list_polls_with_204_until_something_changes(client, auth, inbox, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    html = client.get(f"/p/{cardio.product.id}/conversations", headers=HX).get_data(as_text=True)
    version = re.search(r'conversations\?v=(\w+)', html).group(1)
    poll = f"/p/{cardio.product.id}/conversations?v={version}"
    assert client.get(poll, headers=HX).status_code == 204
    inbox.message(flex.conversation, text="other product's traffic")
    assert client.get(poll, headers=HX).status_code == 204
    inbox.message(cardio.conversation, text="a new one")
    response = client.get(poll, headers=HX)
    assert response.status_code == 200 and "a new one" in response.get_data(as_text=True)


def test_conversation_shows_only_its_messages(client, auth, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    html = client.get(conv_url(cardio)).get_data(as_text=True)
    thread = html.split('id="thread-messages"', 1)[1].split('id="reply-box"', 1)[0]
    assert thread.count("Cardio Plus message") == 3 and "Flex 60 message" not in html


@pytest.mark.parametrize("suffix", ["", "/updates?after=0", "/reply-box", "/older?before=00000000-0000-0000-0000-000000000000"])
def test_other_products_conversation_is_404(client, auth, two_products, suffix):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    # Flex's conversation under Cardio's URL, and Flex's own URL: both unknown to a Cardio member.
    assert client.get(f"/p/{cardio.product.id}/conversations/{flex.conversation.id}{suffix}").status_code == 404
    assert client.get(conv_url(flex, suffix)).status_code == 404


def test_opening_marks_read_and_resets_unread(client, auth, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    assert client.get(conv_url(cardio)).status_code == 200
    db.session.expire_all()
    assert cardio.conversation.unread_count == 0
    rows = db.session.execute(db.select(Message).execution_options(all_products=True)).scalars().all()
    assert all(m.read_at is not None for m in rows if m.product_id == cardio.product.id)
    assert all(m.read_at is None for m in rows if m.product_id == flex.product.id)
    assert flex.conversation.unread_count == 3


@responses.activate
def test_read_receipt_sent_to_meta_only_when_configured(app, client, auth, two_products):
    cardio = two_products[0]
    auth.as_member(cardio.product)
    responses.post(f"{GRAPH}/{cardio.account.phone_number_id}/messages", json={"success": True})
    client.get(conv_url(cardio))
    assert len(responses.calls) == 0  # off by default

    app.config["META_SEND_READ_RECEIPTS"] = True
    cardio.conversation.unread_count = 1
    db.session.execute(db.update(Message).values(read_at=None).execution_options(all_products=True))
    db.session.commit()
    client.get(conv_url(cardio))
    assert len(responses.calls) == 1
    call = responses.calls[0]
    assert call.request.headers["Authorization"] == f"Bearer {cardio.account.access_token}"
    assert b'"status": "read"' in call.request.body


def test_html_in_a_message_is_escaped_and_links_are_safe(client, auth, inbox, two_products):
    cardio = two_products[0]
    inbox.message(cardio.conversation, text='<script>alert(1)</script>\nsee https://example.com/a?b=1&c=2 "><img src=x onerror=alert(2)>')
    auth.as_member(cardio.product)
    html = client.get(conv_url(cardio)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">' in html
    assert "&lt;/script&gt;<br>" in html


def test_message_html_does_not_link_javascript_or_break_attributes():
    assert "<a" not in message_html("javascript:alert(1)")
    html = str(message_html('https://x.test/"onmouseover="alert(1)'))
    assert 'href="https://x.test/&#34;onmouseover=&#34;alert(1"' in html and '"onmouseover' not in html
    assert str(message_html("end of sentence https://x.test/page.")).endswith('</a>.')


def test_every_type_is_rendered(client, auth, inbox, two_products):
    cardio = two_products[0]
    conversation = cardio.conversation
    original = inbox.message(conversation, text="original question", direction="out", reaction_emoji="👍")
    inbox.message(conversation, type="image", text="my receipt", media_id="media-1", media_mime_type="image/jpeg")
    inbox.message(conversation, type="document", text=None, media_id="media-2", media_filename="invoice.pdf")
    inbox.message(conversation, type="location", text=None, latitude=-16.5, longitude=-68.15, location_name="Office")
    inbox.message(conversation, text="this is the answer", context_wamid=original.wamid)
    inbox.message(conversation, type="interactive", text=None, reply_id="opt-1", reply_title="Yes, please")
    inbox.message(conversation, type="order", text=None)
    auth.as_member(cardio.product)
    html = client.get(conv_url(cardio)).get_data(as_text=True)
    assert "Photo" in html and "my receipt" in html
    assert "invoice.pdf" in html and html.count(f"/p/{cardio.product.id}/media/") == 2
    assert "-16.500000, -68.150000" in html and "openstreetmap.org/?mlat=-16.500000&amp;mlon=-68.150000" in html
    assert re.search(r'class="msg-quote">\s*<span class="msg-quote-who">You</span> original question', html)
    assert 'class="msg-reaction"' in html and "👍" in html
    assert "Yes, please" in html
    assert 'class="msg-order"' in html and "Unsupported" not in html  # an order is a kind the thread shows


def test_older_messages_load_by_page(client, auth, inbox, make_product):
    product = make_product("Long talk")
    conversation = inbox.conversation(inbox.account(product))
    start = utcnow() - timedelta(hours=1)
    messages = [inbox.message(conversation, text=f"line {i:02d}", created_at=start + timedelta(seconds=i)) for i in range(35)]
    auth.as_member(product)
    html = client.get(conv_url(conversation)).get_data(as_text=True)
    assert "line 34" in html and "line 05" in html and "line 04" not in html
    sentinel = re.search(r'hx-get="([^"]+/older\?before=[^"]+)"\s+hx-trigger="intersect once"', html)
    assert sentinel and str(messages[5].id) in sentinel.group(1)
    older = client.get(sentinel.group(1), headers=HX).get_data(as_text=True)
    assert re.findall(r"line (\d\d)", older) == ["00", "01", "02", "03", "04"]
    assert "intersect" not in older  # the beginning of the conversation: no further page


def test_ticks_move_forward_only(client, auth, inbox, two_products):
    cardio = two_products[0]
    sent = inbox.message(cardio.conversation, text="reply", direction="out", status="delivered")
    auth.as_member(cardio.product)
    html = client.get(conv_url(cardio)).get_data(as_text=True)
    assert f'value="{sent.id}:delivered"' in html
    after = re.search(r'/updates\?after=([^"&]+)', html).group(1)
    poll = conv_url(cardio, f"/updates?after={after}")

    # The page shows "read" already: a "delivered" in the database never moves it back.
    assert client.get(f"{poll}&tick={sent.id}:read", headers=HX).status_code == 204
    assert client.get(f"{poll}&tick={sent.id}:delivered", headers=HX).status_code == 204

    sent.status = "read"
    db.session.commit()
    response = client.get(f"{poll}&tick={sent.id}:delivered", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="status-{sent.id}" hx-swap-oob="true"' in body and "ticks-read" in body
    assert f'name="tick" value="{sent.id}' not in body  # read is final: it stops asking
    assert is_newer_status("read", "delivered") and not is_newer_status("delivered", "read")
    assert not is_newer_status("sent", "failed") and is_newer_status("sent", "pending")


def test_open_conversation_receives_new_messages(client, auth, inbox, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    html = client.get(conv_url(cardio)).get_data(as_text=True)
    after = re.search(r'/updates\?after=([^"&]+)', html).group(1)
    inbox.message(flex.conversation, text="elsewhere")
    assert client.get(conv_url(cardio, f"/updates?after={after}"), headers=HX).status_code == 204
    new = inbox.message(cardio.conversation, text="are you there?")
    body = client.get(conv_url(cardio, f"/updates?after={after}"), headers=HX).get_data(as_text=True)
    assert f'id="msg-{new.id}"' in body and "elsewhere" not in body
    db.session.expire_all()
    assert new.read_at is not None  # the agent is looking at it
