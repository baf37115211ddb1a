"""The status panel, Check now and Disconnect."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.connect.status import expiry_text
from portal.extensions import db
from portal.models import AuditEvent, Contact, Conversation, Message, WhatsAppAccount, utcnow

from .conftest import G, connect

HX = {"HX-Request": "true"}


def _rows(**where):
    db.session.expire_all()
    statement = select(WhatsAppAccount).execution_options(all_products=True).order_by(WhatsAppAccount.phone_number_id)
    for key, value in where.items():
        statement = statement.where(getattr(WhatsAppAccount, key) == value)
    return db.session.execute(statement).scalars().all()


@pytest.fixture
def linked(app, make_product, auth, meta, alice):
    """Cardio Plus with two numbers of one WhatsApp Business Account, linked by its owner."""
    alice.numbers.append(("3003", "+591 33333333", "Cardio Two"))
    meta.add(alice)
    product = make_product("Cardio Plus")
    client = app.test_client()
    auth.as_member(product, "owner", client=client)
    assert connect(client, auth, product, alice).status_code == 302
    meta.rsps.calls.reset()
    return client, product


def _post(client, auth, path, htmx=True):
    headers = {**HX, "X-CSRFToken": auth.csrf_token(client)} if htmx else {}
    data = {} if htmx else {"csrf_token": auth.csrf_token(client)}
    return client.post(path, headers=headers, data=data)


def test_dashboard_shows_the_self_refreshing_panel(linked):
    client, product = linked
    page = client.get(f"/p/{product.id}/channels").get_data(as_text=True)
    assert f'hx-get="/p/{product.id}/meta/status"' in page and 'hx-trigger="every 30s"' in page
    assert 'hx-swap="outerHTML"' in page
    for text in ("+591 11111111", "Cardio Plus", "+591 33333333", "2001", "Cardio WABA", "10001",
                 "subscribed", "GREEN", "connected", "Check now", "Disconnect", "Connect with Meta"):
        assert text in page, text
    assert "Reconnect" not in page  # offered only where a number needs it


def test_status_partial_alone_for_htmx_and_full_page_otherwise(linked):
    client, product = linked
    fragment = client.get(f"/p/{product.id}/meta/status", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "+591 11111111" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    page = client.get(f"/p/{product.id}/meta/status").get_data(as_text=True)
    assert "<html" in page and "+591 11111111" in page


def test_agents_see_the_status_without_buttons(app, linked, auth):
    _, product = linked
    agent = app.test_client()
    auth.as_member(product, "agent", client=agent)
    page = agent.get(f"/p/{product.id}/meta/status", headers=HX).get_data(as_text=True)
    assert "+591 11111111" in page
    assert "Check now" not in page and "Disconnect" not in page and "Connect with Meta" not in page
    account = _rows(phone_number_id="3001")[0]
    for action in ("check", "disconnect"):
        assert _post(agent, auth, f"/p/{product.id}/meta/accounts/{account.id}/{action}").status_code == 403
    assert len(_rows()) == 2


def test_other_products_cannot_see_or_touch_the_accounts(app, linked, auth, make_product, meta):
    _, product = linked
    outsider = app.test_client()
    other = make_product("Flex 60")
    auth.as_member(other, "owner", client=outsider)
    account = _rows(phone_number_id="3001")[0]
    assert "+591 11111111" not in outsider.get(f"/p/{other.id}/meta/status").get_data(as_text=True)
    assert outsider.get(f"/p/{product.id}/meta/status").status_code == 404
    for action in ("check", "disconnect"):
        assert _post(outsider, auth, f"/p/{other.id}/meta/accounts/{account.id}/{action}").status_code == 404
    assert len(_rows()) == 2 and len(meta.rsps.calls) == 0


def test_empty_panel_offers_connect(app, make_product, auth):
    product = make_product()
    client = app.test_client()
    auth.as_member(product, "admin", client=client)
    page = client.get(f"/p/{product.id}/meta/status", headers=HX).get_data(as_text=True)
    assert "No WhatsApp number is linked" in page and "Connect with Meta" in page


def test_check_now_refreshes_and_returns_the_partial(linked, auth, meta, alice):
    client, product = linked
    account = _rows(phone_number_id="3001")[0]
    db.session.execute(update(WhatsAppAccount).values(quality_rating="RED", display_name="Old", last_checked_at=None)
                       .execution_options(all_products=True))
    db.session.commit()
    response = _post(client, auth, f"/p/{product.id}/meta/accounts/{account.id}/check")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'class="card meta-status"' in body
    assert "+591 11111111 checked: token valid" in body
    row = _rows(phone_number_id="3001")[0]
    assert row.quality_rating == "GREEN" and row.display_name == "Cardio Plus" and row.last_checked_at is not None
    paths = [c.request.url.split("?")[0] for c in meta.rsps.calls]
    assert paths == [f"{G}/debug_token", f"{G}/2001/phone_numbers"]


def test_check_now_marks_a_dead_token(linked, auth, meta):
    client, product = linked
    account = _rows(phone_number_id="3001")[0]
    meta.debug_overrides = {"is_valid": False}
    body = _post(client, auth, f"/p/{product.id}/meta/accounts/{account.id}/check").get_data(as_text=True)
    assert "no longer valid" in body and "needs reconnect" in body
    assert _rows(phone_number_id="3001")[0].state == "needs_reconnect"


def test_check_now_when_meta_is_down_changes_nothing(linked, auth, meta):
    client, product = linked
    account = _rows(phone_number_id="3001")[0]
    before = (account.status, account.last_checked_at, account.token_expires_at)
    meta.fail["debug"] = "5xx"
    body = _post(client, auth, f"/p/{product.id}/meta/accounts/{account.id}/check").get_data(as_text=True)
    assert "Could not check" in body and "try again" in body
    row = _rows(phone_number_id="3001")[0]
    assert (row.status, row.last_checked_at, row.token_expires_at) == before


def test_check_now_without_htmx_redirects_with_a_flash(linked, auth):
    client, product = linked
    account = _rows(phone_number_id="3001")[0]
    response = _post(client, auth, f"/p/{product.id}/meta/accounts/{account.id}/check", htmx=False)
    assert response.status_code == 303
    assert "checked: token valid" in client.get(response.headers["Location"]).get_data(as_text=True)


def _add_history(product_id, phone_number_id):
    contact = Contact(product_id=product_id, wa_id="59170000000", profile_name="Ana")
    db.session.add(contact)
    db.session.flush()
    conversation = Conversation(product_id=product_id, phone_number_id=phone_number_id, contact_id=contact.id)
    db.session.add(conversation)
    db.session.flush()
    db.session.add(Message(product_id=product_id, conversation_id=conversation.id, phone_number_id=phone_number_id,
                           wamid="wamid.1", direction="in", type="text", text="hola"))
    db.session.commit()


def test_disconnect_keeps_history_and_the_webhooks_of_the_other_number(linked, auth, meta):
    client, product = linked
    _add_history(product.id, "3001")
    account = _rows(phone_number_id="3001")[0]
    response = _post(client, auth, f"/p/{product.id}/meta/accounts/{account.id}/disconnect")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "+591 11111111 is disconnected" in body
    assert [r.phone_number_id for r in _rows()] == ["3003"]
    # 3003 still needs the account's webhooks: no unsubscribe yet.
    assert not any(c.request.method == "DELETE" for c in meta.rsps.calls)
    assert db.session.execute(select(Message.text).execution_options(all_products=True)).scalars().all() == ["hola"]

    last = _rows()[0]
    _post(client, auth, f"/p/{product.id}/meta/accounts/{last.id}/disconnect")
    assert _rows() == []
    deletes = [c.request for c in meta.rsps.calls if c.request.method == "DELETE"]
    assert [r.url.split("?")[0] for r in deletes] == [f"{G}/2001/subscribed_apps"]
    assert "appsecret_proof=" in deletes[0].url
    audit = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "meta.disconnected").execution_options(all_products=True)
        .order_by(AuditEvent.created_at)
    ).scalars().all()
    assert [(e.detail["phone_number_id"], e.detail["webhooks_unsubscribed"]) for e in audit] == [
        ("3001", False), ("3003", True)]


def test_disconnect_with_a_dead_token_still_disconnects(linked, auth, meta):
    client, product = linked
    meta.fail["unsubscribe"] = "envelope"
    for account in _rows():
        response = _post(client, auth, f"/p/{product.id}/meta/accounts/{account.id}/disconnect", htmx=False)
        assert response.status_code == 303
    assert _rows() == []


def test_disconnect_needs_csrf(linked):
    client, product = linked
    account = _rows(phone_number_id="3001")[0]
    assert client.post(f"/p/{product.id}/meta/accounts/{account.id}/disconnect").status_code == 400
    assert len(_rows()) == 2


def test_expiry_text():
    now = utcnow()
    assert expiry_text(None, now) == "never"
    assert expiry_text(now - timedelta(seconds=1), now) == "expired"
    assert expiry_text(now + timedelta(days=12, hours=3), now) == "expires in 12 days"
    assert expiry_text(now + timedelta(days=1), now) == "expires in 1 day"
    assert expiry_text(now + timedelta(hours=5), now) == "expires in 5 hours"


def test_expiring_soon_and_expired_states_are_shown(linked):
    client, product = linked
    db.session.execute(update(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == "3001")
                       .values(token_expires_at=utcnow() + timedelta(days=3)).execution_options(all_products=True))
    db.session.execute(update(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == "3003")
                       .values(token_expires_at=utcnow() - timedelta(days=1)).execution_options(all_products=True))
    db.session.commit()
    page = client.get(f"/p/{product.id}/meta/status", headers=HX).get_data(as_text=True)
    assert "expiring soon" in page and "expires in 2 days" in page
    assert "needs reconnect" in page and "expired" in page
    assert page.count(">Reconnect</button>") == 2
