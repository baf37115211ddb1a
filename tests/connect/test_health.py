"""The scheduled health checks (portal/connect/health.py): token and webhook subscription of every
grant, checked on the engine; all numbers of one grant change together; Meta down changes nothing.

Graph answers are shaped as Meta documents them: debug_token
(developers.facebook.com/docs/graph-api/reference/debug_token) and
GET /{waba-id}/subscribed_apps (developers.facebook.com/docs/graph-api/reference/whats-app-business-account/subscribed_apps).
"""
from __future__ import annotations

import json
from datetime import datetime

import responses

from portal.connect.health import check_every_product, check_product
from portal.extensions import db
from portal.jobs import enqueue
from portal.models import CONNECTED, NEEDS_RECONNECT, WhatsAppAccount
from tests.conftest import TEST_APP_ID, TEST_GRAPH_URL

G = f"{TEST_GRAPH_URL}/v25.0"


def link(product, phone_number_id, token, waba="waba-1"):
    account = WhatsAppAccount(product_id=product.id, phone_number_id=phone_number_id, business_account_id=waba,
                              access_token=token, phone_number=f"+{phone_number_id}", display_name="n")
    db.session.add(account)
    db.session.commit()
    return account.id


def debug_token(rsps, valid_tokens: set[str], expires_at=4102444800):
    def answer(request):
        token = request.params["input_token"]
        data = {"app_id": TEST_APP_ID, "type": "SYSTEM_USER", "is_valid": token in valid_tokens,
                "expires_at": expires_at, "scopes": ["whatsapp_business_management", "whatsapp_business_messaging"]}
        return 200, {}, json.dumps({"data": data})

    rsps.add_callback(responses.GET, f"{G}/debug_token", callback=answer)


def subscribed(rsps, waba: str, apps: list[str]):
    rsps.add(responses.GET, f"{G}/{waba}/subscribed_apps", json={"data": [
        {"whatsapp_business_api_data": {"id": app, "link": "https://www.facebook.com/games/?app_id=" + app,
                                        "name": "Maestra"}} for app in apps]})


def state(account_id):
    db.session.expire_all()
    return db.session.get(WhatsAppAccount, account_id).status


@responses.activate
def test_a_revoked_grant_marks_all_its_numbers_and_nothing_else(app, make_product):
    cardio, flex = make_product("Cardio Plus"), make_product("Flex 60")
    revoked_1 = link(cardio, "1001", "EAArevokedTOKEN")
    revoked_2 = link(cardio, "1002", "EAArevokedTOKEN")
    other_grant = link(cardio, "1003", "EAAgoodTOKEN", waba="waba-2")
    flex_number = link(flex, "2001", "EAAflexTOKEN", waba="waba-3")
    debug_token(responses, {"EAAgoodTOKEN", "EAAflexTOKEN"})
    subscribed(responses, "waba-2", [TEST_APP_ID])
    subscribed(responses, "waba-3", [TEST_APP_ID])
    enqueue(check_every_product)
    assert [state(a) for a in (revoked_1, revoked_2)] == [NEEDS_RECONNECT, NEEDS_RECONNECT]
    assert state(other_grant) == CONNECTED and state(flex_number) == CONNECTED
    assert db.session.get(WhatsAppAccount, other_grant).last_checked_at is not None
    assert db.session.get(WhatsAppAccount, revoked_1).status_reason == "Meta says the token is no longer valid."


@responses.activate
def test_an_expired_token_needs_a_reconnect(app, make_product):
    number = link(make_product(), "1001", "EAAoldTOKEN")
    debug_token(responses, {"EAAoldTOKEN"}, expires_at=int(datetime(2020, 1, 1).timestamp()))
    enqueue(check_every_product)
    assert state(number) == NEEDS_RECONNECT


@responses.activate
def test_a_lost_webhook_subscription_is_subscribed_again(app, make_product):
    number = link(make_product(), "1001", "EAAgoodTOKEN")
    debug_token(responses, {"EAAgoodTOKEN"})
    subscribed(responses, "waba-1", ["999999999999999"])  # another app only
    responses.add(responses.POST, f"{G}/waba-1/subscribed_apps", json={"success": True})
    enqueue(check_every_product)
    assert state(number) == CONNECTED
    assert [c.request.method for c in responses.calls if "subscribed_apps" in c.request.url] == ["GET", "POST"]
    assert db.session.get(WhatsAppAccount, number).webhooks_subscribed_at is not None


@responses.activate
def test_meta_unreachable_changes_nothing_and_the_job_fails_to_be_retried(app, make_product):
    product = make_product()
    number = link(product, "1001", "EAAgoodTOKEN")
    responses.add(responses.GET, f"{G}/debug_token", status=500, json={"error": {"message": "down", "code": 2}})
    huey = app.extensions["jobs"].huey
    enqueue(check_product, product.id)
    assert state(number) == CONNECTED
    [retry] = huey.scheduled()  # failed with MetaUnreachable: scheduled again, after its delay
    assert retry.name == app.extensions["jobs"].task_for(check_product).name and retry.retries == 4


def test_the_checks_are_scheduled_every_five_minutes(app):
    huey = app.extensions["jobs"].huey
    name = app.extensions["jobs"].task_for(check_every_product).name
    assert name in [t.name for t in huey.read_periodic(datetime(2026, 11, 30, 12, 5))]
    assert name not in [t.name for t in huey.read_periodic(datetime(2026, 11, 30, 12, 6))]
