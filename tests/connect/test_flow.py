"""The happy path of Connect with Meta, and what is sent to Meta on the way."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from portal import signals
from portal.extensions import db
from portal.models import AuditEvent, WhatsAppAccount
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET, TEST_DIALOG_URL

from .conftest import APP_TOKEN, LONG_EXPIRES_AT, G, connect, raw_tokens, start_connect


def _accounts(product_id=None):
    statement = select(WhatsAppAccount).execution_options(all_products=True).order_by(WhatsAppAccount.phone_number_id)
    if product_id is not None:
        statement = statement.where(WhatsAppAccount.product_id == product_id)
    db.session.expire_all()
    return db.session.execute(statement).scalars().all()


def test_dialog_redirect_carries_client_id_scopes_and_state(client, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner")
    response = client.post(f"/p/{product.id}/meta/connect", data={"csrf_token": auth.csrf_token()})
    location = urlparse(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{TEST_DIALOG_URL}/v25.0/dialog/oauth"
    query = parse_qs(location.query)
    assert query["client_id"] == [TEST_APP_ID]
    assert query["scope"] == ["whatsapp_business_management,whatsapp_business_messaging"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://localhost/meta-oauth-callback"]
    assert len(query["state"][0]) >= 40
    assert str(product.id) not in response.headers["Location"]  # the product is not in the state
    assert "config_id" not in query


@pytest.fixture
def login_config(app_config):
    app_config["META_LOGIN_CONFIG_ID"] = "777000111"


def test_config_id_variant(login_config, meta, alice, make_product, client, auth):
    product = make_product("Cardio Plus")
    auth.as_member(product, "admin")
    meta.add(alice)
    query = start_connect(client, auth, product)
    assert query["config_id"] == ["777000111"]
    assert query["response_type"] == ["code"]
    assert query["override_default_response_type"] == ["true"]
    assert "scope" not in query
    response = client.get("/meta-oauth-callback", query_string={"code": alice.code, "state": query["state"][0]})
    assert response.status_code == 302
    # A business token from Login for Business is kept as it is: no fb_exchange_token.
    assert not any("fb_exchange_token" in (c.request.url or "") for c in meta.rsps.calls)
    (account,) = _accounts(product.id)
    assert account.access_token == alice.short_token


def test_two_products_two_meta_users_get_their_own_tokens(app, meta, alice, bob, make_product, make_user, auth,
                                                         leak_guard):
    cardio, flex = make_product("Cardio Plus"), make_product("Flex 60")
    meta.add(alice), meta.add(bob)
    client_a, client_b = app.test_client(), app.test_client()
    auth.as_member(cardio, "owner", client=client_a)
    auth.as_member(flex, "owner", client=client_b)

    response = connect(client_a, auth, cardio, alice)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/p/{cardio.id}/channels")
    assert connect(client_b, auth, flex, bob).status_code == 302

    (a,) = _accounts(cardio.id)
    (b,) = _accounts(flex.id)
    assert (a.phone_number_id, a.phone_number, a.display_name) == ("3001", "+591 11111111", "Cardio Plus")
    assert (b.phone_number_id, b.phone_number, b.display_name) == ("3002", "+591 22222222", "Flex 60")
    assert a.access_token == alice.long_token and b.access_token == bob.long_token
    assert a.meta_user_id == "10001" and b.meta_user_id == "10002"
    assert a.meta_app_id == b.meta_app_id == TEST_APP_ID
    assert (a.business_account_id, a.business_account_name) == ("2001", "Cardio WABA")
    assert a.status == "connected" and a.quality_rating == "GREEN"
    assert a.webhooks_subscribed_at is not None and a.last_checked_at is not None
    assert a.token_expires_at == datetime.fromtimestamp(LONG_EXPIRES_AT, timezone.utc).replace(tzinfo=None)
    stored = raw_tokens()
    assert stored["3001"] != stored["3002"]
    assert alice.long_token not in stored["3001"] and bob.long_token not in stored["3002"]  # encrypted at rest

    page = client_a.get(f"/p/{cardio.id}/channels").get_data(as_text=True)
    assert "Linked to Meta: +591 11111111 (Cardio Plus)." in page
    assert "+591 22222222" not in page
    assert any("Linked to Meta: +591 11111111" in blob for blob in leak_guard)  # the guard sees what is rendered
    actions = db.session.execute(
        select(AuditEvent.action).where(AuditEvent.product_id == cardio.id).execution_options(all_products=True)
    ).scalars().all()
    assert "meta.connected" in actions


def test_requests_sent_to_meta(meta, alice, make_product, client, auth):
    product = make_product()
    auth.as_member(product, "owner")
    meta.add(alice)
    assert connect(client, auth, product, alice).status_code == 302
    calls = [c.request for c in meta.rsps.calls]

    exchange = next(r for r in calls if r.method == "POST" and r.url.startswith(f"{G}/oauth/access_token"))
    form = parse_qs(exchange.body if isinstance(exchange.body, str) else exchange.body.decode())
    assert form["client_id"] == [TEST_APP_ID] and form["client_secret"] == [TEST_APP_SECRET]
    assert form["code"] == [alice.code] and form["grant_type"] == ["authorization_code"]
    assert form["redirect_uri"] == ["http://localhost/meta-oauth-callback"]
    assert "Authorization" not in exchange.headers  # not HTTP Basic

    long_lived = next(r for r in calls if r.method == "GET" and r.url.startswith(f"{G}/oauth/access_token"))
    query = parse_qs(urlparse(long_lived.url).query)
    assert query["grant_type"] == ["fb_exchange_token"] and query["fb_exchange_token"] == [alice.short_token]

    debug = next(r for r in calls if r.url.startswith(f"{G}/debug_token"))
    query = parse_qs(urlparse(debug.url).query)
    assert query["access_token"] == [APP_TOKEN] and query["input_token"] == [alice.long_token]

    with_token = [r for r in calls if r.headers.get("Authorization")]
    assert {urlparse(r.url).path for r in with_token} >= {"/v25.0/2001", "/v25.0/2001/phone_numbers",
                                                          "/v25.0/2001/subscribed_apps"}
    for r in with_token:
        token = r.headers["Authorization"].removeprefix("Bearer ")
        proof = hmac.new(TEST_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        assert parse_qs(urlparse(r.url).query)["appsecret_proof"] == [proof]
    subscribe = next(r for r in calls if r.method == "POST" and r.url.startswith(f"{G}/2001/subscribed_apps"))
    assert subscribe.headers["Authorization"] == f"Bearer {alice.long_token}"


def test_signal_fires_after_commit_with_the_linked_numbers(app, meta, alice, make_product, client, auth):
    alice.numbers.append(("3003", "+591 33333333", "Cardio Plus"))
    product = make_product()
    auth.as_member(product, "owner")
    meta.add(alice)
    received = []

    def receiver(sender, product_id, phone_number_ids):
        # Sent after the commit: another connection (session) already sees the rows.
        with db.engine.connect() as conn:
            from sqlalchemy import text
            # (every product's rows, on purpose: a raw statement must say so while a product is in scope)
            count = conn.execution_options(all_products=True).execute(text("SELECT count(*) FROM whatsapp_accounts")).scalar_one()
        received.append((sender, product_id, sorted(phone_number_ids), count))

    signals.numbers_linked.connect(receiver)
    try:
        assert connect(client, auth, product, alice).status_code == 302
    finally:
        signals.numbers_linked.disconnect(receiver)
    assert received == [(app, product.id, ["3001", "3003"], 2)]


def test_fallback_to_businesses_and_paging(meta, alice, make_product, client, auth):
    alice.granular = False
    alice.business_id = "5001"
    alice.page_size = 2
    alice.numbers += [("3003", "+591 3", "C3"), ("3004", "+591 4", "C4"), ("3005", "+591 5", "C5")]
    product = make_product()
    auth.as_member(product, "owner")
    meta.add(alice)
    assert connect(client, auth, product, alice).status_code == 302
    assert [a.phone_number_id for a in _accounts(product.id)] == ["3001", "3003", "3004", "3005"]
    paths = [urlparse(c.request.url).path for c in meta.rsps.calls]
    assert "/v25.0/me/businesses" in paths and "/v25.0/5001/owned_whatsapp_business_accounts" in paths
    assert paths.count("/v25.0/2001/phone_numbers") == 2


def test_reconnect_updates_in_place(meta, alice, make_product, client, auth):
    product = make_product()
    auth.as_member(product, "owner")
    meta.add(alice)
    assert connect(client, auth, product, alice).status_code == 302
    (first,) = _accounts(product.id)
    first_id, first_cipher = first.id, raw_tokens()["3001"]

    alice.generation = 1
    alice.expires_at = LONG_EXPIRES_AT + 86400
    response = connect(client, auth, product, alice)
    assert response.status_code == 302
    (again,) = _accounts(product.id)
    assert again.id == first_id
    assert again.access_token == alice.long_token and raw_tokens()["3001"] != first_cipher
    assert again.token_expires_at == datetime.fromtimestamp(LONG_EXPIRES_AT + 86400, timezone.utc).replace(tzinfo=None)
    assert "Reconnected to Meta" in client.get(f"/p/{product.id}/channels").get_data(as_text=True)
    actions = db.session.execute(select(AuditEvent.action).execution_options(all_products=True)).scalars().all()
    assert actions.count("meta.connected") == 1 and actions.count("meta.reconnected") == 1


def test_a_failing_signal_receiver_does_not_undo_the_connection(meta, alice, make_product, client, auth, caplog):
    product = make_product()
    auth.as_member(product, "owner")
    meta.add(alice)

    def broken_receiver(sender, **kwargs):
        raise RuntimeError("replay failed")

    signals.numbers_linked.connect(broken_receiver)
    try:
        response = connect(client, auth, product, alice)
    finally:
        signals.numbers_linked.disconnect(broken_receiver)
    assert response.status_code == 302
    assert [a.phone_number_id for a in _accounts(product.id)] == ["3001"]
    assert any("numbers_linked receiver failed" in r.getMessage() for r in caplog.records)


def test_a_number_listed_in_two_accounts_is_linked_once(meta, alice, make_product, client, auth):
    product = make_product()
    auth.as_member(product, "owner")
    meta.add(alice)
    # Two granted accounts whose phone_numbers both list 3001 (the fake answers the same numbers for any account).
    meta.debug_overrides = {"granular_scopes": [
        {"scope": "whatsapp_business_management", "target_ids": ["2001", "2009"]}]}
    assert connect(client, auth, product, alice).status_code == 302
    (account,) = _accounts(product.id)
    assert (account.phone_number_id, account.business_account_id) == ("3001", "2001")
