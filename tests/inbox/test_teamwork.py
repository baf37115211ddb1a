"""Working a conversation as a team: status (and reopening), assignment, filters, search,
internal notes and canned replies, each only inside its own product."""
from __future__ import annotations

import re
import uuid

import pytest
import responses

from portal.extensions import db
from portal.models import AuditEvent, CannedReply, Conversation, ConversationNote, Membership, Message
from tests.webhook.payloads import envelope, messages_change, post_signed, text_message

HX = {"HX-Request": "true"}


def _post(client, auth, url, data, htmx=False):
    token = auth.csrf_token()
    headers = {"X-CSRFToken": token, **(HX if htmx else {})}
    return client.post(url, data={**data, "csrf_token": token}, headers=headers)


def _conv_url(conversation, suffix=""):
    return f"/p/{conversation.product_id}/conversations/{conversation.id}{suffix}"


def _list(client, product, **query):
    from urllib.parse import urlencode

    html = client.get(f"/p/{product.id}/conversations?{urlencode(query)}").get_data(as_text=True)
    return html.split('id="conversation-list"', 1)[1]


# ---- status ---------------------------------------------------------------------------------

def test_status_moves_between_open_pending_resolved(client, auth, two_products):
    cardio, _ = two_products
    user = auth.as_member(cardio.product)
    response = _post(client, auth, _conv_url(cardio.conversation, "/status"), {"status": "pending"})
    assert response.status_code == 303 and response.headers["Location"].endswith(_conv_url(cardio.conversation))
    db.session.expire_all()
    assert db.session.get(Conversation, cardio.conversation.id).status == "pending"
    response = _post(client, auth, _conv_url(cardio.conversation, "/status"), {"status": "resolved"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="conversation-controls"' in html
    assert re.search(r'value="resolved" class="small"\s+aria-pressed="true"', html)
    db.session.expire_all()
    assert db.session.get(Conversation, cardio.conversation.id).status == "resolved"
    audit = db.session.query(AuditEvent).filter_by(action="conversation.status").all()
    assert [(a.detail["old"], a.detail["new"], a.user_id) for a in audit] == [
        ("open", "pending", user.id), ("pending", "resolved", user.id)]


@pytest.mark.parametrize("bad", ["", "closed", "RESOLVED", "x" * 500])
def test_unknown_status_is_refused_and_changes_nothing(client, auth, two_products, bad):
    cardio, _ = two_products
    auth.as_member(cardio.product)
    response = _post(client, auth, _conv_url(cardio.conversation, "/status"), {"status": bad}, htmx=True)
    assert response.status_code == 422 and "Status must be one of" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Conversation, cardio.conversation.id).status == "open"


@pytest.mark.parametrize("status", ["pending", "resolved"])
def test_a_new_customer_message_reopens_the_conversation(client, app, inbox, make_product, status):
    """The webhook's bulk update of conversations sets them open again.
    Payload: Meta's "Text messages" webhook example (Cloud API, Webhooks > messages)."""
    product = make_product("Cardio Plus")
    account = inbox.account(product, phone_number_id="106540352242922")
    conversation = inbox.conversation(account, wa_id="16315551181")
    conversation.status = status
    other = inbox.conversation(inbox.account(product, phone_number_id="106540352242923"), wa_id="16315551182")
    other.status = "resolved"
    db.session.commit()
    body = envelope(messages_change("106540352242922", messages=[text_message(f"wamid.{uuid.uuid4().hex}", "Back again")]))
    assert post_signed(client, body).status_code == 200
    db.session.expire_all()
    assert db.session.get(Conversation, conversation.id).status == "open"
    assert db.session.get(Conversation, conversation.id).unread_count == 1
    assert db.session.get(Conversation, other.id).status == "resolved"  # only the one written to


# ---- assignment -----------------------------------------------------------------------------

def test_assign_to_a_member_then_to_nobody(client, auth, make_user, two_products):
    cardio, _ = two_products
    me = auth.as_member(cardio.product, role="agent")
    colleague = make_user()
    db.session.add(Membership(product_id=cardio.product.id, user_id=colleague.id, role="agent"))
    db.session.commit()
    _post(client, auth, _conv_url(cardio.conversation, "/assignee"), {"assignee": str(colleague.id)})
    db.session.expire_all()
    assert db.session.get(Conversation, cardio.conversation.id).assignee_user_id == colleague.id
    html = _list(client, cardio.product)
    assert f"→ <span translate=\"no\">{colleague.email.split('@')[0]}</span>" in html
    _post(client, auth, _conv_url(cardio.conversation, "/assignee"), {"assignee": str(me.id)}, htmx=True)
    assert "→ me" in _list(client, cardio.product)
    _post(client, auth, _conv_url(cardio.conversation, "/assignee"), {"assignee": ""})
    db.session.expire_all()
    assert db.session.get(Conversation, cardio.conversation.id).assignee_user_id is None


@pytest.mark.parametrize("who", ["other product's member", "not a uuid", "unknown"])
def test_cannot_assign_to_someone_outside_the_product(client, auth, make_user, two_products, who):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    outsider = make_user()
    db.session.add(Membership(product_id=flex.product.id, user_id=outsider.id, role="owner"))
    db.session.commit()
    value = {"other product's member": str(outsider.id), "not a uuid": "nobody", "unknown": str(uuid.uuid4())}[who]
    response = _post(client, auth, _conv_url(cardio.conversation, "/assignee"), {"assignee": value}, htmx=True)
    assert response.status_code == 422 and "Choose a member of the product" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Conversation, cardio.conversation.id).assignee_user_id is None


# ---- filters --------------------------------------------------------------------------------

@pytest.fixture
def worked(inbox, make_product, make_user):
    """One product, two numbers, four conversations in different states; a second product alike."""
    product = make_product("Cardio Plus")
    me, colleague = make_user(), make_user()
    db.session.add_all([Membership(product_id=product.id, user_id=me.id, role="agent"),
                        Membership(product_id=product.id, user_id=colleague.id, role="agent")])
    first, second = inbox.account(product), inbox.account(product)
    rows = {}
    for name, account, status, assignee in (("Mine Open", first, "open", me), ("Theirs Open", first, "open", colleague),
                                            ("Nobody Pending", second, "pending", None), ("Mine Resolved", second, "resolved", me)):
        conversation = inbox.conversation(account, name=name)
        inbox.message(conversation, text=f"message of {name}")
        conversation.status, conversation.assignee_user_id = status, assignee.id if assignee else None
        rows[name] = conversation
    other = make_product("Flex 60")
    other_conversation = inbox.conversation(inbox.account(other), name="Mine Open elsewhere")
    inbox.message(other_conversation, text="message of Mine Open elsewhere")
    db.session.commit()
    return product, me, first, second, rows


def _names(html):
    return set(re.findall(r'data-name="([^"]+)"', html))


@pytest.mark.parametrize(("query", "expected"), [
    ({}, {"Mine Open", "Theirs Open"}),
    ({"view": "mine"}, {"Mine Open"}),
    ({"view": "mine", "status": "all"}, {"Mine Open", "Mine Resolved"}),
    ({"view": "unassigned", "status": "all"}, {"Nobody Pending"}),
    ({"status": "pending"}, {"Nobody Pending"}),
    ({"status": "resolved"}, {"Mine Resolved"}),
    ({"status": "all"}, {"Mine Open", "Theirs Open", "Nobody Pending", "Mine Resolved"}),
])
def test_filters(client, auth, worked, query, expected):
    product, me, first, second, rows = worked
    auth.login(me)
    assert _names(_list(client, product, **query)) == expected


def test_filter_by_number_and_the_poll_keeps_the_filters(client, auth, worked):
    product, me, first, second, rows = worked
    auth.login(me)
    html = _list(client, product, number=second.phone_number_id, status="all")
    assert _names(html) == {"Nobody Pending", "Mine Resolved"}
    poll = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert f"number={second.phone_number_id}" in poll and "status=all" in poll


@pytest.mark.parametrize("query", ["view=everyone", "status=closed", "q=" + "x" * 201, "selected=nope"])
def test_bad_filters_are_a_clear_400(client, auth, worked, query):
    product, me, *_ = worked
    auth.login(me)
    response = client.get(f"/p/{product.id}/conversations?{query}")
    assert response.status_code == 400


# ---- search ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("q", "expected"), [
    ("message", {"Mine Open", "Theirs Open", "Nobody Pending", "Mine Resolved"}),
    ("pend", {"Nobody Pending"}),              # a word's beginning finds it
    ("MESSAGE of theirs", {"Theirs Open"}),    # every word must match; case does not matter
    ("resolved", {"Mine Resolved"}),           # the contact's name
    ("nothing-like-this", set()),
    ("\"* OR NEAR(", set()),                     # query syntax is never passed through
])
def test_search_over_messages_and_contacts(client, auth, worked, q, expected):
    product, me, *_ = worked
    auth.login(me)
    assert _names(_list(client, product, q=q, status="all")) == expected


def test_search_by_phone_number_and_new_messages_are_found(client, auth, inbox, worked):
    product, me, first, second, rows = worked
    auth.login(me)
    wa_id = rows["Theirs Open"].contact.wa_id
    assert _names(_list(client, product, q=wa_id[-6:], status="all")) == {"Theirs Open"}
    inbox.message(rows["Mine Open"], text="the invoice number is 88231")
    assert _names(_list(client, product, q="88231", status="all")) == {"Mine Open"}
    db.session.query(Message).filter(Message.text == "the invoice number is 88231").delete()
    db.session.commit()
    assert _names(_list(client, product, q="88231", status="all")) == set()  # the index follows deletions


def test_search_never_finds_another_products_messages(client, auth, worked):
    product, me, *_ = worked
    auth.login(me)
    html = _list(client, product, q="elsewhere", status="all")
    assert _names(html) == set() and "Nothing matches" in html


# ---- notes ----------------------------------------------------------------------------------

def test_a_note_is_kept_for_the_team_and_never_sent_to_meta(client, auth, two_products):
    cardio, _ = two_products
    user = auth.as_member(cardio.product)
    before = db.session.query(Message).count()
    with responses.RequestsMock() as meta:  # any request to Meta would fail the test
        response = _post(client, auth, _conv_url(cardio.conversation, "/notes"),
                         {"body": "VIP: <b>call</b> before noon"}, htmx=True)
        page = client.get(_conv_url(cardio.conversation)).get_data(as_text=True)
        assert len(meta.calls) == 0
    assert response.status_code == 200
    assert "VIP: &lt;b&gt;call&lt;/b&gt; before noon" in response.get_data(as_text=True)
    [note] = db.session.query(ConversationNote).all()
    assert note.author_user_id == user.id and note.product_id == cardio.product.id
    assert db.session.query(Message).count() == before  # not a message: nothing to send, nothing in the feed
    panel = page.split('id="contact-panel"', 1)[1]
    thread = page.split('id="thread-messages"', 1)[1].split('id="contact-panel"', 1)[0]
    assert "VIP:" in panel and "VIP:" not in thread


def test_an_empty_note_is_refused(client, auth, two_products):
    cardio, _ = two_products
    auth.as_member(cardio.product)
    response = _post(client, auth, _conv_url(cardio.conversation, "/notes"), {"body": "   "}, htmx=True)
    assert response.status_code == 422 and "Write the note" in response.get_data(as_text=True)
    assert db.session.query(ConversationNote).count() == 0


# ---- canned replies -------------------------------------------------------------------------

def test_owner_adds_canned_replies_agents_use_them(client, auth, make_user, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product, role="owner")
    with responses.RequestsMock() as meta:
        response = _post(client, auth, f"/p/{cardio.product.id}/canned-replies", {"shortcut": "/Hours", "body": "8 to 18"})
        assert len(meta.calls) == 0
    assert response.status_code == 303
    duplicate = _post(client, auth, f"/p/{cardio.product.id}/canned-replies", {"shortcut": "hours", "body": "again"})
    assert duplicate.status_code == 422 and "/hours already exists" in duplicate.get_data(as_text=True)
    [reply] = db.session.query(CannedReply).all()
    assert (reply.shortcut, reply.body, reply.product_id) == ("hours", "8 to 18", cardio.product.id)

    agent = make_user()
    db.session.add(Membership(product_id=cardio.product.id, user_id=agent.id, role="agent"))
    db.session.commit()
    auth.logout()
    auth.login(agent)
    box = client.get(_conv_url(cardio.conversation)).get_data(as_text=True).split('id="reply-box"', 1)[1]
    assert 'data-shortcut="hours" data-body="8 to 18"' in box
    refused = _post(client, auth, f"/p/{cardio.product.id}/canned-replies", {"shortcut": "x", "body": "y"})
    assert refused.status_code == 403
    assert _post(client, auth, f"/p/{cardio.product.id}/canned-replies/{reply.id}/delete", {}).status_code == 403
    # Another product's reply box never offers them.
    auth.logout()
    auth.as_member(flex.product)
    assert "data-shortcut" not in client.get(_conv_url(flex.conversation)).get_data(as_text=True)


@pytest.mark.parametrize(("shortcut", "body"), [("", "x"), ("has space", "x"), ("a" * 33, "x"), ("ok", ""), ("ok", "x" * 4097)])
def test_bad_canned_replies_are_refused(client, auth, two_products, shortcut, body):
    cardio, _ = two_products
    auth.as_member(cardio.product, role="admin")
    response = _post(client, auth, f"/p/{cardio.product.id}/canned-replies", {"shortcut": shortcut, "body": body})
    assert response.status_code == 422
    assert db.session.query(CannedReply).count() == 0


# ---- who sent it, unread counts -------------------------------------------------------------

@responses.activate
def test_each_reply_records_and_shows_its_sender(client, auth, two_products):
    cardio, _ = two_products
    user = auth.as_member(cardio.product)
    responses.add(responses.POST, f"https://graph.meta.test/v25.0/{cardio.account.phone_number_id}/messages",
                  json={"messages": [{"id": "wamid.SENT"}]})
    html = _post(client, auth, _conv_url(cardio.conversation, "/messages"), {"body": "On it"}, htmx=True).get_data(as_text=True)
    [reply] = db.session.query(Message).filter_by(direction="out").all()
    assert reply.sent_by_user_id == user.id
    assert f'<span class="msg-sender" title="Sent by" translate="no">{user.email.split("@")[0]}</span>' in html


def test_unread_counts_in_title_navigation_and_product_list(client, auth, inbox, make_user, two_products):
    cardio, flex = two_products
    user = auth.as_member(cardio.product)
    db.session.add(Membership(product_id=flex.product.id, user_id=user.id, role="agent"))
    db.session.commit()
    second = inbox.conversation(cardio.account, name="Second")
    inbox.message(second, text="hi")
    html = client.get(f"/p/{cardio.product.id}/conversations").get_data(as_text=True)
    assert "<title>(2) Cardio Plus</title>" in html
    assert re.search(r'id="nav-unread"\s*title="[^"]+">2<', html)
    products = client.get("/?all=1").get_data(as_text=True)
    assert re.search(r"Cardio Plus</span>\s*<span[^>]*>2 unread<", products)
    assert re.search(r"Flex 60</span>\s*<span[^>]*>1 unread<", products)


def test_a_word_in_very_many_messages_lists_the_latest_conversations(client, auth, worked, monkeypatch):
    """The search reads the product's latest MAX_MATCHES matching messages, so a common word stays cheap."""
    from portal.inbox import search

    product, me, first, second, rows = worked
    auth.login(me)
    monkeypatch.setattr(search, "MAX_MATCHES", 1)
    assert _names(_list(client, product, q="message", status="all")) == {"Mine Resolved"}  # the latest one
    monkeypatch.setattr(search, "MAX_MATCHES", 5000)
    assert len(_names(_list(client, product, q="message", status="all"))) == 4
