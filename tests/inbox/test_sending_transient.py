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


@responses.activate
def test_a_send_meta_took_but_never_answered_is_not_offered_again_at_once(client, auth, two_products):
    """A read timeout: the request reached Meta, which may have sent the message. Retrying at once
    would risk sending it twice (seen in the media soak under load), so the reply stays pending,
    says so, and is offered again only once it is stale (STALE_PENDING, as for a send cut by a crash)."""
    from datetime import timedelta

    import requests

    from portal.inbox import sending

    tenant = two_products[0]
    url = f"{GRAPH}/{tenant.account.phone_number_id}/messages"
    responses.post(url, body=requests.exceptions.ReadTimeout("read timed out"))
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    [message] = outbound(tenant.product)
    assert (message.status, message.wamid, message.error_code) == ("pending", None, None)
    assert "may have been sent" in html and "Retry" not in html
    assert not sending.retryable(message)
    assert client.post(f"{send_url(tenant)}/{message.id}/retry", headers={**HX, "X-CSRFToken": auth.csrf_token()}
                       ).status_code in (404, 409, 422)
    assert len(responses.calls) == 1  # nothing sent again

    message.status_at -= sending.STALE_PENDING + timedelta(seconds=1)
    db.session.commit()
    assert sending.retryable(message)


@responses.activate
def test_a_send_that_never_reached_meta_is_retryable_at_once(client, auth, two_products):
    import requests

    tenant = two_products[0]
    url = f"{GRAPH}/{tenant.account.phone_number_id}/messages"
    responses.post(url, body=requests.exceptions.ConnectTimeout("connect timed out"))
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    [message] = outbound(tenant.product)
    assert message.status == "failed" and "Meta could not be reached" in html and "Retry" in html


@responses.activate
@pytest.mark.parametrize("answer", [{"json": {"messaging_product": "whatsapp", "contacts": [{"input": "x"}]}},
                                    {"body": "<html>OK</html>", "content_type": "text/html"}])
def test_a_send_meta_took_without_giving_its_id_is_not_offered_again_at_once(client, auth, two_products, answer):
    """A 200 without `messages[0].id` (or not JSON at all): Meta took the request and may have sent the
    message, so it is handled as a timeout is: pending, said in words, no Retry until it is stale."""
    from portal.inbox import sending

    tenant = two_products[0]
    responses.post(f"{GRAPH}/{tenant.account.phone_number_id}/messages", status=200, **answer)
    auth.as_member(tenant.product)
    html = post(client, auth, tenant).get_data(as_text=True)
    [message] = outbound(tenant.product)
    assert (message.status, message.wamid, message.error_code) == ("pending", None, None)
    assert "may have been sent" in html and "Retry" not in html and "refused" not in html
    assert not sending.retryable(message)
