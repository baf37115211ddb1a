"""The live feed: only the product's own messages, and a cursor that returns exactly what is new."""
from __future__ import annotations

import re
from datetime import timedelta

from tests.inbox.conftest import feed_url

HX = {"HX-Request": "true"}


def _cursor(html: str) -> str:
    match = re.search(r'id="feed-poller"[^>]*hx-get="[^"]*after=([^"&]+)', html, re.S)
    assert match, "no poller with a cursor in the feed"
    return match.group(1)


def _feed_ids(html: str) -> list[str]:
    return re.findall(r'id="feed-([0-9a-f-]{36})"', html)


def test_feed_shows_only_own_messages(client, auth, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    html = client.get(feed_url(cardio.product), headers=HX).get_data(as_text=True)
    assert html.count("Cardio Plus message") == 3
    assert "Flex 60 message" not in html
    assert "Customer of Cardio Plus" in html


def test_feed_is_a_full_page_without_htmx(client, auth, two_products):
    auth.as_member(two_products[0].product)
    html = client.get(feed_url(two_products[0].product)).get_data(as_text=True)
    assert "<html" in html and "Live feed" in html


def test_channels_page_has_the_feed_panel_and_nav(client, auth, two_products):
    product = two_products[0].product
    auth.as_member(product)
    html = client.get(f"/p/{product.id}/channels").get_data(as_text=True)
    assert f'hx-get="/p/{product.id}/feed"' in html
    assert f'href="/p/{product.id}/conversations"' in html


def test_feed_of_another_product_is_404(client, auth, two_products):
    auth.as_member(two_products[0].product)
    assert client.get(feed_url(two_products[1].product), headers=HX).status_code == 404


def test_cursor_returns_exactly_the_new_messages_then_204(client, auth, inbox, two_products):
    cardio, flex = two_products
    auth.as_member(cardio.product)
    cursor = _cursor(client.get(feed_url(cardio.product), headers=HX).get_data(as_text=True))

    assert client.get(feed_url(cardio.product, after=cursor), headers=HX).status_code == 204

    new = [inbox.message(cardio.conversation, text=f"new {i}") for i in range(3)]
    inbox.message(flex.conversation, text="not yours")
    response = client.get(feed_url(cardio.product, after=cursor), headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert sorted(_feed_ids(html)) == sorted(str(m.id) for m in new)
    assert _feed_ids(html) == [str(m.id) for m in reversed(new)]  # newest first, prepended
    assert "not yours" not in html
    assert 'hx-swap-oob="true"' in html  # the poller comes back with the next cursor

    next_cursor = _cursor(html)
    assert client.get(feed_url(cardio.product, after=next_cursor), headers=HX).status_code == 204


def test_cursor_catches_a_message_committed_late_with_an_earlier_time(client, auth, inbox, two_products):
    cardio = two_products[0]
    auth.as_member(cardio.product)
    newest = inbox.message(cardio.conversation, text="newest")
    cursor = _cursor(client.get(feed_url(cardio.product), headers=HX).get_data(as_text=True))
    # Stamped before `newest` but committed after the page read the feed (an overlapping webhook transaction).
    late = inbox.message(cardio.conversation, text="late", created_at=newest.created_at - timedelta(seconds=1))
    html = client.get(feed_url(cardio.product, after=cursor), headers=HX).get_data(as_text=True)
    assert _feed_ids(html) == [str(late.id)]
    assert client.get(feed_url(cardio.product, after=_cursor(html)), headers=HX).status_code == 204


def test_feed_filters_by_number(client, auth, inbox, make_product):
    product = make_product("Two numbers")
    first, second = inbox.account(product), inbox.account(product)
    a = inbox.message(inbox.conversation(first), text="to the first number")
    b = inbox.message(inbox.conversation(second), text="to the second number")
    auth.as_member(product)
    html = client.get(feed_url(product, number=second.phone_number_id), headers=HX).get_data(as_text=True)
    assert _feed_ids(html) == [str(b.id)]
    cursor = _cursor(html)
    inbox.message(inbox.conversation(first, name="Other"), text="first again")
    assert client.get(feed_url(product, after=cursor, number=second.phone_number_id), headers=HX).status_code == 204
    all_numbers = client.get(feed_url(product), headers=HX).get_data(as_text=True)
    assert str(a.id) in all_numbers and str(b.id) in all_numbers


def test_bad_cursor_is_a_400_in_words(client, auth, two_products):
    auth.as_member(two_products[0].product)
    response = client.get(feed_url(two_products[0].product, after="'; drop table messages"), headers=HX)
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_feed_needs_login(client, two_products):
    response = client.get(feed_url(two_products[0].product))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_empty_feed_polls_then_shows_the_first_message(client, auth, inbox, make_product):
    product = make_product("Empty")
    auth.as_member(product)
    html = client.get(feed_url(product), headers=HX).get_data(as_text=True)
    assert "No messages yet" in html
    cursor = _cursor(html)
    assert client.get(feed_url(product, after=cursor), headers=HX).status_code == 204
    first = inbox.message(inbox.conversation(inbox.account(product)), text="first ever")
    assert _feed_ids(client.get(feed_url(product, after=cursor), headers=HX).get_data(as_text=True)) == [str(first.id)]


def test_a_poll_is_one_query_on_messages(app, client, auth, inbox, two_products):
    from sqlalchemy import event

    from portal.extensions import db

    cardio = two_products[0]
    auth.as_member(cardio.product)
    cursor = _cursor(client.get(feed_url(cardio.product), headers=HX).get_data(as_text=True))
    statements = []

    def record(conn, cursor_, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(feed_url(cardio.product, after=cursor), headers=HX).status_code == 204
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    on_messages = [s for s in statements if "FROM messages" in s]
    assert len(on_messages) == 1
    assert "messages.product_id" in on_messages[0] and "messages.created_at >=" in on_messages[0]
