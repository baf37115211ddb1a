"""The state: unguessable, single-use, 10 minutes, bound to the user and browser session; and who may start."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import ConnectAttempt, WhatsAppAccount, utcnow
from portal.connect.attempts import state_hash

from .conftest import snapshot, start_connect


def _callback(client, state, code="code-alice-0", **extra):
    return client.get("/meta-oauth-callback", query_string={"code": code, "state": state, **extra})


def _assert_refused(response, meta, before):
    assert response.status_code == 400
    assert "start again" in response.get_data(as_text=True).lower()
    assert len(meta.rsps.calls) == 0
    assert snapshot() == before


@pytest.fixture
def owner_client(app, make_product, auth, meta, alice):
    meta.add(alice)
    product = make_product("Cardio Plus")
    client = app.test_client()
    user = auth.as_member(product, "owner", client=client)
    return client, product, user


def test_state_is_stored_hashed_with_user_session_and_expiry(owner_client, auth):
    client, product, user = owner_client
    state = start_connect(client, auth, product)["state"][0]
    attempt = db.session.execute(select(ConnectAttempt).execution_options(all_products=True)).scalar_one()
    assert attempt.state_hash == state_hash(state) and state not in attempt.state_hash
    assert attempt.product_id == product.id and attempt.user_id == user.id
    with client.session_transaction() as session:
        assert attempt.session_id == session["sid"]
    assert timedelta(minutes=9) < attempt.expires_at - utcnow() <= timedelta(minutes=10)
    assert attempt.used_at is None


@pytest.mark.parametrize("state", ["", "not-a-known-state", "x" * 500])
def test_unknown_or_missing_state(owner_client, meta, state):
    client, _, _ = owner_client
    before = snapshot()
    _assert_refused(_callback(client, state), meta, before)


def test_replayed_state(owner_client, meta, alice, auth):
    client, product, _ = owner_client
    state = start_connect(client, auth, product)["state"][0]
    assert _callback(client, state).status_code == 302
    meta.rsps.calls.reset()
    before = snapshot()
    _assert_refused(_callback(client, state), meta, before)


def test_expired_state(owner_client, meta, auth):
    client, product, _ = owner_client
    state = start_connect(client, auth, product)["state"][0]
    db.session.execute(update(ConnectAttempt).values(expires_at=utcnow() - timedelta(seconds=1))
                       .execution_options(all_products=True))
    db.session.commit()
    before = snapshot()
    _assert_refused(_callback(client, state), meta, before)


def test_state_of_another_user(owner_client, meta, auth, app):
    client, product, _ = owner_client
    state = start_connect(client, auth, product)["state"][0]
    intruder = app.test_client()
    auth.as_member(product, "owner", client=intruder)  # even an owner of the same product
    before = snapshot()
    _assert_refused(_callback(intruder, state), meta, before)
    # The rightful user can still finish.
    assert _callback(client, state).status_code == 302


def test_state_of_another_browser_session_of_the_same_user(owner_client, meta, auth, app):
    client, product, user = owner_client
    state = start_connect(client, auth, product)["state"][0]
    other_browser = app.test_client()
    auth.login(user, client=other_browser)
    before = snapshot()
    _assert_refused(_callback(other_browser, state), meta, before)


def test_state_without_login(owner_client, meta, auth, app):
    client, product, _ = owner_client
    state = start_connect(client, auth, product)["state"][0]
    before = snapshot()
    _assert_refused(_callback(app.test_client(), state), meta, before)


def test_state_after_logout_and_login_again(owner_client, meta, auth):
    client, product, user = owner_client
    state = start_connect(client, auth, product)["state"][0]
    auth.logout(client)
    auth.login(user, client=client)  # a new session id
    before = snapshot()
    _assert_refused(_callback(client, state), meta, before)


def test_member_demoted_after_starting(owner_client, meta, auth):
    from portal.models import Membership

    client, product, user = owner_client
    state = start_connect(client, auth, product)["state"][0]
    db.session.execute(update(Membership).where(Membership.user_id == user.id).values(role="agent")
                       .execution_options(all_products=True))
    db.session.commit()
    response = _callback(client, state)
    assert response.status_code == 403
    assert len(meta.rsps.calls) == 0


def test_meta_refusal_goes_back_to_the_product(owner_client, meta, auth):
    client, product, _ = owner_client
    state = start_connect(client, auth, product)["state"][0]
    before = snapshot()
    response = client.get("/meta-oauth-callback", query_string={
        "error": "access_denied", "error_reason": "user_denied", "error_description": "Permissions error",
        "state": state})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/p/{product.id}/channels")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You cancelled the Meta dialog, so nothing was linked." in page
    assert len(meta.rsps.calls) == 0
    assert snapshot() == before


def test_callback_without_code(owner_client, meta, auth):
    client, product, _ = owner_client
    state = start_connect(client, auth, product)["state"][0]
    response = client.get("/meta-oauth-callback", query_string={"state": state})
    assert response.status_code == 400
    assert len(meta.rsps.calls) == 0


def test_state_is_not_reusable_across_products(app, meta, alice, make_product, auth):
    """Two products of one owner: each callback links to the product its own attempt named."""
    meta.add(alice)
    first, second = make_product("First"), make_product("Second")
    client = app.test_client()
    user = auth.as_member(first, "owner", client=client)
    from portal.models import Membership

    db.session.add(Membership(product_id=second.id, user_id=user.id, role="owner"))
    db.session.commit()
    start_connect(client, auth, first)
    state_second = start_connect(client, auth, second)["state"][0]
    assert _callback(client, state_second).status_code == 302
    account = db.session.execute(select(WhatsAppAccount).execution_options(all_products=True)).scalar_one()
    assert account.product_id == second.id


@pytest.mark.parametrize("role, status", [("agent", 403), (None, 404)])
def test_only_owners_and_admins_start(app, make_product, auth, meta, role, status):
    product = make_product()
    client = app.test_client()
    if role:
        auth.as_member(product, role, client=client)
    else:
        auth.as_member(make_product("Another"), "owner", client=client)
    response = client.post(f"/p/{product.id}/meta/connect", data={"csrf_token": auth.csrf_token(client)})
    assert response.status_code == status
    assert db.session.execute(select(ConnectAttempt).execution_options(all_products=True)).first() is None


def test_start_needs_csrf(owner_client):
    client, product, _ = owner_client
    assert client.post(f"/p/{product.id}/meta/connect").status_code == 400
