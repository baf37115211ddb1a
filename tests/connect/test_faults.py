"""Meta failing at each step, refusing access, or a number taken by another product: nothing half-written."""
from __future__ import annotations

import pytest
from markupsafe import escape
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, ConnectAttempt, WhatsAppAccount

from .conftest import FAILURES, MetaUser, connect, snapshot

STEP_LABELS = {
    "exchange": "Exchanging Meta's authorization code for a token",
    "long_lived": "Making the token long-lived",
    "debug": "Checking the token with Meta (debug_token)",
    "waba": "Reading the WhatsApp Business Account 2001",
    "phone_numbers": "Reading the phone numbers of WhatsApp Business Account 2001",
    "phone_numbers_page2": "Reading the phone numbers of WhatsApp Business Account 2001",
    "subscribe": "Subscribing the app to the webhooks of WhatsApp Business Account 2001",
    "businesses": "Finding your WhatsApp Business Accounts",
    "owned": "Finding your WhatsApp Business Accounts",
}


@pytest.fixture
def connected(app, make_product, auth, meta, alice):
    """A product with an earlier connection (so "untouched" means something), ready to reconnect."""
    meta.add(alice)
    product = make_product("Cardio Plus")
    client = app.test_client()
    auth.as_member(product, "owner", client=client)
    assert connect(client, auth, product, alice).status_code == 302
    client.get(f"/p/{product.id}/channels")  # consume the success flash
    alice.generation = 1
    alice.numbers.append(("3009", "+591 99999999", "Cardio Two"))
    return client, product


@pytest.mark.parametrize("kind", FAILURES)
@pytest.mark.parametrize("step", sorted(STEP_LABELS))
def test_a_failure_at_any_step_changes_nothing(connected, meta, alice, auth, step, kind):
    client, product = connected
    if step in ("businesses", "owned"):
        alice.granular, alice.business_id = False, "5001"
    if step == "phone_numbers_page2":
        alice.page_size = 1
    meta.fail[step] = kind
    before = snapshot()
    response = connect(client, auth, product, alice)
    body = response.get_data(as_text=True)
    assert response.status_code == 502, body
    assert str(escape(STEP_LABELS[step])) in body
    assert "try again" in body and "Nothing was saved" in body
    assert snapshot() == before
    # The attempt is spent all the same: the state was single-use.
    assert db.session.execute(select(ConnectAttempt.used_at).execution_options(all_products=True)).scalars().all()[-1]


@pytest.mark.parametrize("override, message", [
    ({"is_valid": False}, "not valid"),
    ({"app_id": "999"}, "different Meta app"),
])
def test_a_token_meta_disowns_is_not_stored(connected, meta, alice, auth, override, message):
    client, product = connected
    meta.debug_overrides = override
    before = snapshot()
    response = connect(client, auth, product, alice)
    assert response.status_code == 502 and message in response.get_data(as_text=True)
    assert snapshot() == before


def test_paging_link_to_another_host_is_not_followed(connected, meta, alice, auth):
    client, product = connected
    alice.page_size = 1
    meta.foreign_paging = True
    before = snapshot()
    response = connect(client, auth, product, alice)
    assert response.status_code == 502
    assert not any("evil.test" in c.request.url for c in meta.rsps.calls)
    assert snapshot() == before


@pytest.fixture
def owner(app, make_product, auth, meta):
    product = make_product("Cardio Plus")
    client = app.test_client()
    auth.as_member(product, "owner", client=client)
    return client, product


def test_grant_without_whatsapp_permission(owner, meta, alice, auth):
    client, product = owner
    alice.granular = False
    alice.scopes = ("public_profile",)
    meta.add(alice)
    before = snapshot()
    response = connect(client, auth, product, alice)
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "whatsapp_business_management" in body and "No WhatsApp Business Account was shared" in body
    assert snapshot() == before
    assert not any("subscribed_apps" in c.request.url for c in meta.rsps.calls)


def test_grant_whose_businesses_hold_no_waba(owner, meta, alice, auth):
    client, product = owner
    alice.granular = False  # scope granted but no target_ids; /me/businesses finds nothing
    meta.add(alice)
    before = snapshot()
    response = connect(client, auth, product, alice)
    assert response.status_code == 403 and "whatsapp_business_management" in response.get_data(as_text=True)
    assert snapshot() == before


def test_permission_error_on_the_fallback_means_missing_permission(owner, meta, alice, auth):
    client, product = owner
    alice.granular, alice.business_id = False, "5001"
    meta.add(alice)
    meta.rsps.replace("GET", "https://graph.meta.test/v25.0/me/businesses", status=403, json={
        "error": {"message": "(#200) Requires business_management permission", "code": 200, "fbtrace_id": "T"}})
    response = connect(client, auth, product, alice)
    assert response.status_code == 403 and "whatsapp_business_management" in response.get_data(as_text=True)


def test_account_without_numbers(owner, meta, alice, auth):
    client, product = owner
    alice.numbers = []
    meta.add(alice)
    before = snapshot()
    response = connect(client, auth, product, alice)
    assert response.status_code == 409 and "no phone number" in response.get_data(as_text=True)
    assert snapshot() == before


def test_number_linked_to_another_product_is_refused(app, make_product, auth, meta, alice):
    cardio, flex = make_product("Cardio Plus Secret Name"), make_product("Flex 60")
    meta.add(alice)
    mallory = meta.add(MetaUser("mallory", user_id="10009", waba_id="2001", waba_name="Cardio WABA",
                                numbers=[("3005", "+591 55555555", "Other"), ("3001", "+591 11111111", "Cardio Plus")]))
    client_a, client_b = app.test_client(), app.test_client()
    auth.as_member(cardio, "owner", client=client_a)
    auth.as_member(flex, "owner", client=client_b)
    assert connect(client_a, auth, cardio, alice).status_code == 302
    before_rows = snapshot()["whatsapp_accounts"]
    meta.rsps.calls.reset()

    response = connect(client_b, auth, flex, mallory)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "+591 11111111 is already linked to another product" in body
    assert "Cardio Plus Secret Name" not in body and str(cardio.id) not in body
    assert snapshot()["whatsapp_accounts"] == before_rows  # neither number of the grant was written
    assert not any("subscribed_apps" in c.request.url for c in meta.rsps.calls)
    refused = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "meta.connect_refused").execution_options(all_products=True)
    ).scalar_one()
    assert refused.product_id == flex.id and "+591 11111111" in refused.detail["numbers"]
    assert "Cardio" not in str(refused.detail)


def test_number_taken_between_check_and_write(app, make_product, auth, meta, alice, monkeypatch):
    """The unique phone_number_id catches a race the read-only check cannot see."""
    from portal.connect import linking

    cardio, flex = make_product("Cardio Plus"), make_product("Flex 60")
    meta.add(alice)
    client_a = app.test_client()
    auth.as_member(cardio, "owner", client=client_a)
    assert connect(client_a, auth, cardio, alice).status_code == 302
    real_check, checks = linking.numbers_linked_elsewhere, []

    def blind_first_check(product_id, ids):
        # The first (pre-subscribe) check misses the other product's row, as a concurrent link would.
        checks.append(ids)
        return set() if len(checks) == 1 else real_check(product_id, ids)

    monkeypatch.setattr(linking, "numbers_linked_elsewhere", blind_first_check)
    client_b = app.test_client()
    auth.as_member(flex, "owner", client=client_b)
    response = connect(client_b, auth, flex, alice)
    assert response.status_code == 409 and "already linked to another product" in response.get_data(as_text=True)
    assert len(checks) == 2
    rows = db.session.execute(select(WhatsAppAccount).execution_options(all_products=True)).scalars().all()
    assert [(r.product_id, r.phone_number_id) for r in rows] == [(cardio.id, "3001")]
