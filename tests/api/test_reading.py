"""GET conversations (cursor pagination, filters), a conversation's messages, contacts."""
from __future__ import annotations

from datetime import timedelta

from portal.models import utcnow
from tests.inbox.conftest import Inbox


def _walk(client, headers, path, limit):
    seen, cursor, pages = [], None, 0
    while True:
        url = f"{path}{'&' if '?' in path else '?'}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=headers).get_json()
        seen += [row["id"] for row in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_conversations_page_by_cursor_without_skips_or_repeats(client, api_tenants):
    a, b = api_tenants
    inbox = Inbox()
    made = [inbox.conversation(a.account, wa_id=f"59189{i:06d}") for i in range(6)]
    for _ in range(3):
        inbox.conversation(b.account)
    seen, pages = _walk(client, a.headers, "/api/v1/conversations", 3)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == {str(c.id) for c in made} | {str(a.conversation.id)}


def test_conversation_filters(client, api_tenants):
    a, _ = api_tenants
    inbox = Inbox()
    other_number = inbox.account(a.product)
    quiet = inbox.conversation(other_number, wa_id="59189909999", last_inbound_at=utcnow() - timedelta(days=2))
    by_number = client.get(f"/api/v1/conversations?number={other_number.phone_number_id}", headers=a.headers).get_json()
    assert [row["id"] for row in by_number["data"]] == [str(quiet.id)]
    assert by_number["data"][0]["window_open"] is False
    unread = client.get("/api/v1/conversations?unread=true", headers=a.headers).get_json()
    assert [row["id"] for row in unread["data"]] == [str(a.conversation.id)]
    assert unread["data"][0]["window_open"] is True and unread["data"][0]["contact"]["wa_id"] == a.contact.wa_id
    by_contact = client.get("/api/v1/conversations?contact=59189909999", headers=a.headers).get_json()
    assert [row["id"] for row in by_contact["data"]] == [str(quiet.id)]


def test_a_conversations_messages_newest_first(client, api_tenants):
    a, _ = api_tenants
    inbox = Inbox()
    later = [inbox.message(a.conversation, text=f"m{i}", created_at=utcnow() + timedelta(seconds=i + 1)) for i in range(4)]
    seen, _ = _walk(client, a.headers, f"/api/v1/conversations/{a.conversation.id}/messages", 2)
    assert seen == [str(m.id) for m in reversed(later)] + [str(a.message.id)]
    one = client.get(f"/api/v1/messages/{later[0].id}", headers=a.headers).get_json()
    assert one["text"] == "m0" and one["direction"] == "in" and one["created_at"].endswith("+00:00")


def test_contacts_and_filter(client, api_tenants):
    a, _ = api_tenants
    body = client.get("/api/v1/contacts", headers=a.headers).get_json()
    assert [row["wa_id"] for row in body["data"]] == [a.contact.wa_id] and body["next_cursor"] is None
    empty = client.get("/api/v1/contacts?wa_id=000", headers=a.headers).get_json()
    assert empty["data"] == []


def test_bad_list_arguments_are_4xx(client, api_tenants):
    a, _ = api_tenants
    for url, status, code in (("/api/v1/conversations?cursor=%%%", 400, "invalid_cursor"),
                              ("/api/v1/conversations?cursor=bm9wZQ", 400, "invalid_cursor"),
                              ("/api/v1/contacts?limit=0", 422, "invalid"),
                              ("/api/v1/contacts?limit=abc", 422, "invalid"),
                              ("/api/v1/conversations?unread=maybe", 422, "invalid")):
        answer = client.get(url, headers=a.headers)
        assert answer.status_code == status, url
        assert answer.get_json()["error"]["code"] == code, url
