"""Meta's transient errors (HTTP 500, code 1 or 2, is_transient) leave a reply retryable.

Found by bench/soak.py --graph-faults: such a reply was marked failed for good
("Meta refused the message ... (code 2)") with no Retry, although Meta asks to retry.
"""
from __future__ import annotations

import pytest
import responses

from portal.extensions import db
from tests.inbox.test_sending import GRAPH, HX, outbound, post, send_url


@responses.activate
@pytest.mark.parametrize("code", [1, 2])
def test_transient_meta_error_is_retryable(client, auth, two_products, code):
    tenant = two_products[0]
    url = f"{GRAPH}/{tenant.account.phone_number_id}/messages"
    responses.post(url, status=500, json={"error": {
        "message": "An unexpected error has occurred. Please retry your request later.",
        "type": "OAuthException", "is_transient": True, "code": code, "fbtrace_id": "TRACE"}})
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    [message] = outbound(tenant.product)
    assert message.status == "failed" and message.error_code == code and message.wamid is None
    assert "temporary problem" in html and "Retry" in html

    responses.replace(responses.POST, url, json={"messages": [{"id": "wamid.AFTER_TRANSIENT"}]})
    retry = client.post(f"{send_url(tenant)}/{message.id}/retry", headers={**HX, "X-CSRFToken": auth.csrf_token()})
    assert retry.status_code == 200
    db.session.expire_all()
    assert (message.status, message.wamid) == ("sent", "wamid.AFTER_TRANSIENT")
    assert len(outbound(tenant.product)) == 1
