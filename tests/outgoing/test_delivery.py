"""Outgoing webhooks end to end: a Meta-shaped inbound webhook (payloads from tests/webhook/payloads.py,
shaped as Meta's "Webhooks: messages" reference documents) reaches the product's own endpoint,
signed; failures are retried with backoff on the job engine; the log, resend, pause and resume."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import responses
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs import engine
from portal.models import AuditEvent, OutgoingDelivery, OutgoingEndpoint, OutgoingEvent, utcnow
from portal.outgoing import events as outgoing_events
from tests.api.conftest import graph_sent, make_api_tenant
from tests.outgoing.conftest import verify
from tests.webhook.payloads import envelope, messages_change, post_signed, status, text_message


def _all(model):
    return db.session.execute(select(model).execution_options(all_products=True)).scalars().all()


def add_hook(runner, product, url, *events) -> tuple[OutgoingEndpoint, str]:
    args = ["hooks", "add", str(product.id), url]
    for event in events:
        args += ["--event", event]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    secret = re.search(r"(whsec_[A-Za-z0-9_-]+)", result.output).group(1)
    endpoint = db.session.execute(select(OutgoingEndpoint).where(OutgoingEndpoint.url == url)
                                  .execution_options(all_products=True)).scalar_one()
    return endpoint, secret


def inbound(client, tenant, wamid="wamid.IN1", body="Is my order ready?"):
    answer = post_signed(client, envelope(messages_change(tenant.account.phone_number_id,
                                                          messages=[text_message(wamid, body, sender="59170112233")])))
    assert answer.status_code == 200


def run_scheduled_retry() -> float:
    """Run the one retry the engine has scheduled, at its time; returns its delay from now in seconds."""
    huey = engine().huey
    [task] = huey.scheduled()
    delay = (task.eta - utcnow()).total_seconds()
    for due in huey.read_schedule(task.eta):
        huey.execute(due, timestamp=task.eta)
    return delay


@pytest.fixture
def tenants(app, make_product):
    return make_api_tenant(make_product, "Cardio Plus"), make_api_tenant(make_product, "Flex 60")


def test_an_inbound_message_reaches_the_products_endpoint_signed(client, runner, tenants, receiver):
    a, b = tenants
    endpoint, secret = add_hook(runner, a.product, receiver.url, "message.received", "conversation.updated")
    add_hook(runner, b.product, receiver.url + "/b", "message.received")
    inbound(client, a)
    types = sorted(e["type"] for e in receiver.events())
    assert types == ["conversation.updated", "message.received"]
    request = next(r for r in receiver.received if json.loads(r["body"])["type"] == "message.received")
    assert request["path"] == "/maestra-events"
    assert verify(secret, request["headers"]["X-Maestra-Signature"], request["body"])
    assert not verify(secret, request["headers"]["X-Maestra-Signature"], request["body"] + b" ")
    assert not verify("whsec_other", request["headers"]["X-Maestra-Signature"], request["body"])
    event = json.loads(request["body"])
    assert set(event) == {"id", "type", "created_at", "product_id", "data"}
    assert event["product_id"] == str(a.product.id)
    assert request["headers"]["X-Maestra-Event-Id"] == event["id"]
    message = event["data"]["message"]
    assert (message["wamid"], message["text"], message["direction"], message["contact_wa_id"]) == (
        "wamid.IN1", "Is my order ready?", "in", "59170112233")
    assert event["data"]["contact"] == {"wa_id": "59170112233", "profile_name": "Kerry Fisher"}
    [delivery] = [d for d in _all(OutgoingDelivery) if d.event.type == "message.received"]
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert all(json.loads(r["body"])["product_id"] == str(a.product.id) for r in receiver.received)


def test_meta_redelivering_a_webhook_records_no_second_event(client, runner, tenants, receiver):
    a, _ = tenants
    add_hook(runner, a.product, receiver.url, "message.received")
    inbound(client, a)
    inbound(client, a)
    assert len(receiver.received) == 1
    assert len(_all(OutgoingEvent)) == 1


def test_without_endpoints_ingest_records_nothing(client, tenants):
    inbound(client, tenants[0])
    assert _all(OutgoingEvent) == [] and _all(OutgoingDelivery) == []


@pytest.fixture
def app_config(app_config):
    return {**app_config, "OUTGOING_WEBHOOK_TIMEOUT": 0.5}


def test_500_then_timeout_then_success_with_backoff_and_one_event_id(client, runner, tenants, receiver):
    a, _ = tenants
    endpoint, secret = add_hook(runner, a.product, receiver.url, "message.received")
    receiver.plan = [500, "hang", 200]
    inbound(client, a)
    [delivery] = _all(OutgoingDelivery)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("retrying", 1, 500)
    assert 25 <= run_scheduled_retry() <= 31
    db.session.expire_all()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == (
        "retrying", 2, None, "timed out")
    assert 55 <= run_scheduled_retry() <= 61
    db.session.expire_all()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)
    assert engine().huey.scheduled() == []
    assert len(receiver.received) == 3
    assert {json.loads(r["body"])["id"] for r in receiver.received} == {str(delivery.event_id)}
    assert len({r["body"] for r in receiver.received}) == 1  # the same bytes every time
    assert all(verify(secret, r["headers"]["X-Maestra-Signature"], r["body"]) for r in receiver.received)
    assert db.session.get(OutgoingEndpoint, endpoint.id).failing_since is None


def test_backoff_doubles_up_to_an_hour_and_lasts_over_a_day():
    from portal.outgoing.delivery import RETRY_FOR, retry_delay

    delays = [retry_delay(n) for n in range(1, 40)]
    assert delays[:4] == [30, 60, 120, 240] and max(delays) == 3600
    assert RETRY_FOR >= timedelta(hours=24)


def test_a_delivery_older_than_the_retry_window_fails_for_good(client, runner, tenants, receiver):
    a, _ = tenants
    add_hook(runner, a.product, receiver.url, "message.received")
    receiver.plan = [500, 500]
    inbound(client, a)
    [delivery] = _all(OutgoingDelivery)
    delivery.created_at = utcnow() - timedelta(hours=24, minutes=1)
    db.session.commit()
    run_scheduled_retry()
    db.session.expire_all()
    assert delivery.status == "failed" and engine().huey.scheduled() == []


def test_an_endpoint_failing_for_a_day_is_paused_shown_and_resumed(client, auth, runner, tenants, receiver):
    a, _ = tenants
    endpoint, _secret = add_hook(runner, a.product, receiver.url, "message.received")
    endpoint.failing_since = utcnow() - timedelta(hours=25)
    db.session.commit()
    receiver.plan = [503]
    inbound(client, a)
    db.session.expire_all()
    [delivery] = _all(OutgoingDelivery)
    assert delivery.status == "paused" and endpoint.paused_at is not None
    assert engine().huey.scheduled() == []
    assert "outgoing.endpoint_paused" in {e.action for e in _all(AuditEvent)}
    inbound(client, a, wamid="wamid.IN2")  # while paused: recorded, not sent
    assert len(receiver.received) == 1
    auth.as_member(a.product, role="owner")
    dashboard = client.get(f"/p/{a.product.id}/channels").get_data(as_text=True)
    assert "Webhooks paused" in dashboard and receiver.url in dashboard
    token = auth.csrf_token()
    assert client.post(f"/p/{a.product.id}/hooks/{endpoint.id}/resume", data={"csrf_token": token}).status_code == 303
    assert len(receiver.received) == 3
    assert sorted(d.status for d in _all(OutgoingDelivery)) == ["delivered", "delivered"]
    assert "Webhooks paused" not in client.get(f"/p/{a.product.id}/channels").get_data(as_text=True)


def test_agents_do_not_see_the_paused_panel(client, auth, runner, tenants, receiver):
    a, _ = tenants
    endpoint, _secret = add_hook(runner, a.product, receiver.url, "message.received")
    endpoint.paused_at = utcnow()
    db.session.commit()
    auth.as_member(a.product, role="agent")
    assert "Webhooks paused" not in client.get(f"/p/{a.product.id}/channels").get_data(as_text=True)


def test_the_log_and_resend(client, auth, runner, tenants, receiver):
    a, _ = tenants
    endpoint, _secret = add_hook(runner, a.product, receiver.url, "message.received")
    inbound(client, a)
    [delivery] = _all(OutgoingDelivery)
    auth.as_member(a.product, role="admin")
    log = client.get(f"/p/{a.product.id}/hooks/{endpoint.id}").get_data(as_text=True)
    assert "message.received" in log and "delivered" in log and str(delivery.event_id) in log
    token = auth.csrf_token()
    answer = client.post(f"/p/{a.product.id}/hooks/{endpoint.id}/deliveries/{delivery.id}/resend", data={"csrf_token": token})
    assert answer.status_code == 303
    assert len(receiver.received) == 2
    assert len({json.loads(r["body"])["id"] for r in receiver.received}) == 1
    db.session.expire_all()
    assert delivery.attempts == 2


@responses.activate
def test_message_sent_and_its_statuses_are_events(client, runner, tenants, receiver):
    a, _ = tenants
    add_hook(runner, a.product, receiver.url, "message.sent", "message.status")
    graph_sent(a, "wamid.OUT1")
    sent = client.post("/api/v1/messages", headers=a.headers, json={"to": a.contact.wa_id, "text": "Ready!"}).get_json()
    answer = post_signed(client, envelope(messages_change(a.account.phone_number_id, statuses=[
        status("wamid.OUT1", "delivered", recipient=a.contact.wa_id)])))
    assert answer.status_code == 200
    events = receiver.events()
    assert [e["type"] for e in events] == ["message.sent", "message.status"]
    assert events[0]["data"]["message"]["id"] == sent["id"] and events[0]["data"]["message"]["wamid"] == "wamid.OUT1"
    assert events[1]["data"]["message_id"] == sent["id"] and events[1]["data"]["status"] == "delivered"


def test_an_event_is_recorded_only_with_its_transaction(app, runner, tenants, receiver):
    a, _ = tenants
    add_hook(runner, a.product, receiver.url, "account.alert")
    outgoing_events.record(a.product.id, "account.alert", {"field": "test"})
    db.session.rollback()
    assert _all(OutgoingEvent) == [] and receiver.received == []
    outgoing_events.record(a.product.id, "account.alert", {"field": "test"})
    db.session.commit()
    assert [e["type"] for e in receiver.events()] == ["account.alert"]
    assert db.session.execute(select(func.count()).select_from(OutgoingDelivery)).scalar_one() == 1


def test_hooks_cli_refuses_bad_input(runner, tenants):
    a, _ = tenants
    for args in (["hooks", "add", "nope", "https://example.com"],
                 ["hooks", "add", str(a.product.id), "ftp://example.com/x"],
                 ["hooks", "add", str(a.product.id), "https://user:pw@example.com/x"],
                 ["hooks", "add", str(a.product.id), "https://example.com/x", "--event", "message.nope"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
    assert _all(OutgoingEndpoint) == []


def test_owner_adds_an_endpoint_in_the_ui_and_sees_the_secret_once(app, client, auth, tenants):
    a, _ = tenants
    auth.as_member(a.product, role="owner")
    token = auth.csrf_token()
    page = client.post(f"/p/{a.product.id}/hooks", data={"url": "https://crm.example.com/hook", "csrf_token": token,
                                                           "events": ["message.received", "template.status"]})
    assert page.status_code == 200
    endpoint = _all(OutgoingEndpoint)[0]
    assert endpoint.secret in page.get_data(as_text=True)
    assert endpoint.events == ["message.received", "template.status"]
    assert endpoint.secret not in client.get(f"/p/{a.product.id}/hooks").get_data(as_text=True)
    bad = client.post(f"/p/{a.product.id}/hooks", data={"url": "https://crm.example.com/hook", "csrf_token": token})
    assert bad.status_code == 422
    agent = app.test_client()
    auth.as_member(a.product, role="agent", client=agent)
    assert agent.get(f"/p/{a.product.id}/hooks").status_code == 403


def test_account_and_template_events_from_meta(client, runner, tenants, receiver):
    """phone_number_quality_update and message_template_status_update, as Meta's "Webhooks: WhatsApp
    Business Account" reference shows them, reach account.alert and template.status endpoints."""
    from tests.webhook.payloads import field_change

    a, _ = tenants
    add_hook(runner, a.product, receiver.url, "account.alert", "template.status")
    waba = a.account.business_account_id
    body = envelope(
        field_change("phone_number_quality_update", {"display_phone_number": "15550783881", "event": "FLAGGED",
                                                     "current_limit": "TIER_10K"}),
        field_change("message_template_status_update", {"event": "APPROVED", "message_template_id": 594425479261596,
                                                        "message_template_name": "booking_confirmed",
                                                        "message_template_language": "es", "reason": "NONE"}),
        waba_id=waba)
    assert post_signed(client, body).status_code == 200
    by_type = {e["type"]: e["data"] for e in receiver.events()}
    assert by_type["account.alert"]["field"] == "phone_number_quality_update"
    assert by_type["account.alert"]["value"]["event"] == "FLAGGED"
    assert by_type["template.status"]["value"]["message_template_name"] == "booking_confirmed"
    assert post_signed(client, body).status_code == 200  # Meta again: no new events
    assert len(receiver.received) == 2


@responses.activate
def test_a_token_meta_refuses_while_sending_is_an_account_alert(client, runner, tenants, receiver):
    from tests.api.conftest import GRAPH

    a, _ = tenants
    add_hook(runner, a.product, receiver.url, "account.alert", "message.sent")
    responses.post(f"{GRAPH}/{a.account.phone_number_id}/messages", status=401, json={"error": {
        "message": "Error validating access token: Session has expired", "type": "OAuthException", "code": 190,
        "fbtrace_id": "T"}})
    body = client.post("/api/v1/messages", headers=a.headers, json={"to": a.contact.wa_id, "text": "hi"}).get_json()
    assert body["status"] == "failed" and body["error"]["code"] == "reconnect_required"
    [event] = receiver.events()
    assert event["type"] == "account.alert" and event["data"]["field"] == "needs_reconnect"
    assert event["data"]["phone_number_id"] == a.account.phone_number_id
