"""The suite's secret scan really catches a leak (so its silence means something)."""
import logging

import requests
import responses

from tests.conftest import TEST_APP_SECRET, SecretScan


def test_scan_learns_tokens_from_the_wire_and_finds_them(app):
    scan = SecretScan()
    with responses.RequestsMock() as mock:
        mock.get("https://graph.meta.test/v25.0/me", json={"access_token": "EAAlearnedfromanswer"})
        request = requests.Request("GET", "https://graph.meta.test/v25.0/me",
                                   headers={"Authorization": "Bearer EAAbearertoken123"},
                                   params={"fb_exchange_token": "EAAparamtoken456"}).prepare()
        response = requests.Session().send(request)
    scan.learn_from_request(request, response)
    assert {"EAAlearnedfromanswer", "EAAbearertoken123", "EAAparamtoken456", TEST_APP_SECRET} <= scan.secrets
    scan.outputs = [("page", "hello EAAbearertoken123"), ("log", "clean")]
    assert scan.hits() == ["page: contains a secret"]


def test_scan_sees_responses_and_logs(client, secret_scan):
    client.get("/login")
    assert any("/login" in where for where, _ in secret_scan.outputs)
    secret_scan.secrets.add("planted-secret-value")
    logging.getLogger("probe").warning("harmless")
    assert secret_scan.hits() == []
    secret_scan.outputs.append(("probe", "planted-secret-value"))
    assert secret_scan.hits()
    secret_scan.outputs.pop()  # leave the real scan clean
