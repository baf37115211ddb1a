"""The receiver in docs/api.md, run as written (its secret and port filled in): it accepts what
Maestra sends and refuses a forged signature."""
from __future__ import annotations

import re
import threading
from http.server import HTTPServer
from pathlib import Path

import requests

from portal.extensions import db
from portal.outgoing import events as outgoing_events
from portal.outgoing.endpoints import add_endpoint
from portal.outgoing.signing import signature
from tests.api.conftest import make_api_tenant

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _receiver_class(secret: str):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    lines = code.strip().splitlines()
    assert lines[-1].startswith("HTTPServer(") and len(lines) <= 20
    namespace = {}
    exec("\n".join(lines[:-1]).replace('b"whsec_..."', repr(secret.encode())), namespace)
    return namespace["Receiver"]


def test_the_documented_receiver_verifies_maestras_signature(app, make_product, capsys):
    tenant = make_api_tenant(make_product, "Cardio Plus")
    endpoint = add_endpoint(tenant.product.id, "http://127.0.0.1:1/placeholder", ["account.alert"])
    db.session.commit()
    server = HTTPServer(("127.0.0.1", 0), _receiver_class(endpoint.secret))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        endpoint.url = url
        db.session.commit()
        outgoing_events.record(tenant.product.id, "account.alert", {"field": "docs"})
        db.session.commit()
        delivery = endpoint_delivery(endpoint)
        assert (delivery.status, delivery.response_code) == ("delivered", 204)
        assert "account.alert {'field': 'docs'}" in capsys.readouterr().out
        forged = requests.post(url, data=b'{"id":"x"}', timeout=5,
                               headers={"X-Maestra-Signature": signature("whsec_wrong", b'{"id":"x"}')})
        assert forged.status_code == 401
        stale = requests.post(url, data=b"{}", timeout=5,
                              headers={"X-Maestra-Signature": signature(endpoint.secret, b"{}", timestamp=1_000_000)})
        assert stale.status_code == 401
    finally:
        server.shutdown()
        server.server_close()


def endpoint_delivery(endpoint):
    from sqlalchemy import select

    from portal.models import OutgoingDelivery

    db.session.expire_all()
    return db.session.execute(select(OutgoingDelivery).where(OutgoingDelivery.endpoint_id == endpoint.id)
                              .execution_options(all_products=True)).scalar_one()
