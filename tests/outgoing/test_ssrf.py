"""Where outgoing webhooks may go: https only in production, no private, loopback, link-local or
reserved address (checked on the resolved address at each delivery), and the connection goes to the
address that was checked, so a name that re-resolves elsewhere (DNS rebinding) cannot redirect it."""
from __future__ import annotations

import ipaddress
import json
import socket

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import OutgoingDelivery
from portal.outgoing import events as outgoing_events
from portal.outgoing import safety
from portal.outgoing.endpoints import EndpointError, add_endpoint
from tests.api.conftest import make_api_tenant


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "fe80::1",
                                     "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::"])
def test_non_public_addresses(address):
    assert not safety.is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address):
    assert safety.is_public(address)


def _fake_dns(monkeypatch, table: dict):
    """Names from `table`; addresses (what the pinned connection asks for) resolve as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
            return real(host, port, *args, **kwargs)
        except ValueError:
            pass
        if host not in table:
            raise socket.gaierror("no such name")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in table[host]]

    monkeypatch.setattr(safety.socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def strict(app):
    app.config["OUTGOING_WEBHOOKS_ALLOW_PRIVATE"] = False
    return app


def _deliver_to(runner_product, url):
    endpoint = add_endpoint(runner_product.id, url, ["account.alert"])
    db.session.commit()
    outgoing_events.record(runner_product.id, "account.alert", {"field": "test"})
    db.session.commit()
    return db.session.execute(select(OutgoingDelivery).where(OutgoingDelivery.endpoint_id == endpoint.id)
                              .execution_options(all_products=True)).scalar_one()


def test_loopback_is_refused_at_delivery_and_nothing_is_sent(strict, make_product, receiver):
    tenant = make_api_tenant(make_product, "Cardio Plus")
    delivery = _deliver_to(tenant.product, receiver.url)
    assert receiver.received == []
    assert delivery.status == "retrying" and delivery.response_code is None
    assert "private, loopback or reserved" in delivery.last_error


def test_a_name_resolving_to_any_private_address_is_refused(strict, make_product, receiver, monkeypatch):
    _fake_dns(monkeypatch, {"hooks.example.test": ["93.184.215.14", "10.0.0.5"],
                            "metadata.example.test": ["169.254.169.254"]})
    tenant = make_api_tenant(make_product, "Cardio Plus")
    for name in ("hooks.example.test", "metadata.example.test"):
        delivery = _deliver_to(tenant.product, f"http://{name}/x")
        assert delivery.status == "retrying" and "private" in delivery.last_error
    unknown = _deliver_to(tenant.product, "http://nowhere.example.test/x")
    assert "does not resolve" in unknown.last_error


def test_the_connection_goes_to_the_checked_address(app, make_product, receiver, monkeypatch):
    """The name resolves (once, when checked) to the receiver's address; the request reaches it with the
    name in Host. The connection never resolves the name again (urllib3 could not: it is not in DNS)."""
    _fake_dns(monkeypatch, {"receiver.example.test": ["127.0.0.1"]})
    tenant = make_api_tenant(make_product, "Cardio Plus")
    delivery = _deliver_to(tenant.product, f"http://receiver.example.test:{receiver.port}/in?x=1")
    assert delivery.status == "delivered", delivery.last_error
    [request] = receiver.received
    assert request["headers"]["Host"] == f"receiver.example.test:{receiver.port}"
    assert request["path"] == "/in?x=1"
    assert json.loads(request["body"])["type"] == "account.alert"


def test_rebinding_after_the_first_delivery_is_caught_at_the_next(strict, make_product, receiver, monkeypatch):
    answers = {"hooks.example.test": ["93.184.215.14"]}
    _fake_dns(monkeypatch, answers)
    tenant = make_api_tenant(make_product, "Cardio Plus")
    endpoint = add_endpoint(tenant.product.id, "http://hooks.example.test/x", ["account.alert"])
    db.session.commit()
    assert safety.resolve(endpoint.url).address == "93.184.215.14"
    answers["hooks.example.test"] = ["127.0.0.1"]
    with pytest.raises(safety.UnsafeDestination):
        safety.resolve(endpoint.url)


def test_production_takes_only_https(app, make_product):
    tenant = make_api_tenant(make_product, "Cardio Plus")
    app.config["PORTAL_ENV"] = "production"
    try:
        with pytest.raises(EndpointError, match="https"):
            add_endpoint(tenant.product.id, "http://crm.example.com/hook", ["message.received"])
        add_endpoint(tenant.product.id, "https://crm.example.com/hook", ["message.received"])
        with pytest.raises(safety.UnsafeDestination):
            safety.resolve("http://crm.example.com/hook")  # a stored http URL is refused at delivery too
    finally:
        app.config["PORTAL_ENV"] = "test"
        db.session.rollback()


def test_private_addresses_are_allowed_only_by_the_setting():
    from portal.config import load_config

    assert load_config("/tmp", {"PORTAL_ENV": "test"})["OUTGOING_WEBHOOKS_ALLOW_PRIVATE"] is True
    assert load_config("/tmp", {"PORTAL_ENV": "demo"})["OUTGOING_WEBHOOKS_ALLOW_PRIVATE"] is True
    assert load_config("/tmp", {"PORTAL_ENV": "test", "OUTGOING_WEBHOOKS_ALLOW_PRIVATE": "false"})[
        "OUTGOING_WEBHOOKS_ALLOW_PRIVATE"] is False
