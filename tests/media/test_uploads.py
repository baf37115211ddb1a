"""Outbound media from the reply box: Meta's limits first (in words), then POST /{phone-number-id}/media
(multipart: file, type, messaging_product) answering {id}, then a send by media id
(../shared/meta-reference.md, Media). Graph is mocked with `responses`."""
from __future__ import annotations

import io
import json
import os

import pytest
import responses
from sqlalchemy import select

from portal.extensions import db
from portal.models import Message
from portal.sandbox.media import sample_pdf, sample_png, sample_voice_note
from tests.conftest import TEST_GRAPH_URL
from tests.inbox.conftest import inbox, two_products  # noqa: F401  (tenants with a conversation each)

GRAPH = f"{TEST_GRAPH_URL}/v25.0"
HX = {"HX-Request": "true"}


def send(client, auth, tenant, data: bytes, name: str, caption: str = "", voice: str = ""):
    form = {"csrf_token": auth.csrf_token(), "body": caption, "voice": voice, "file": (io.BytesIO(data), name)}
    return client.post(f"/p/{tenant.product.id}/conversations/{tenant.conversation.id}/messages", data=form,
                       headers=HX, content_type="multipart/form-data")


def outbound() -> list[Message]:
    db.session.expire_all()
    return db.session.execute(select(Message).where(Message.direction == "out")
                              .execution_options(all_products=True)).scalars().all()


@responses.activate
def test_a_picture_is_uploaded_then_sent_by_media_id(app, client, auth, two_products):
    tenant = two_products[0]
    number = tenant.account.phone_number_id
    responses.post(f"{GRAPH}/{number}/media", json={"id": "7300000000000001"})
    responses.post(f"{GRAPH}/{number}/messages", json={
        "messaging_product": "whatsapp", "contacts": [{"input": "x", "wa_id": "x"}], "messages": [{"id": "wamid.out.1"}]})
    auth.as_member(tenant.product)
    png = sample_png(seed=5)
    response = send(client, auth, tenant, png, "receipt.png", caption="Your receipt")
    assert response.status_code == 200
    upload, message_call = responses.calls
    assert upload.request.headers["Authorization"] == f"Bearer {tenant.account.access_token}"
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in upload.request.body
    assert b'name="type"\r\n\r\nimage/png' in upload.request.body and png in upload.request.body
    sent = json.loads(message_call.request.body)
    assert sent["type"] == "image" and sent["image"] == {"id": "7300000000000001", "caption": "Your receipt"}
    [message] = outbound()
    assert message.status == "sent" and message.wamid == "wamid.out.1" and message.media_id == "7300000000000001"
    assert message.media_state == "stored" and message.type == "image"
    with open(os.path.join(app.config["MEDIA_ROOT"], str(message.product_id), message.media_key), "rb") as f:
        assert f.read() == png  # the thread shows the portal's own copy
    html = response.get_data(as_text=True)
    assert f'src="/p/{tenant.product.id}/media/{message.id}"' in html and "ticks-sent" in html


@responses.activate
def test_a_document_keeps_its_name_and_a_voice_note_goes_without_caption(app, client, auth, two_products):
    tenant = two_products[0]
    number = tenant.account.phone_number_id
    responses.post(f"{GRAPH}/{number}/media", json={"id": "7300000000000002"})
    responses.post(f"{GRAPH}/{number}/messages", json={"messages": [{"id": "wamid.out.2"}]})
    auth.as_member(tenant.product)
    assert send(client, auth, tenant, sample_pdf(), "lab results.pdf", caption="Here they are").status_code == 200
    assert json.loads(responses.calls[1].request.body)["document"] == {
        "id": "7300000000000002", "caption": "Here they are", "filename": "lab results.pdf"}
    responses.replace(responses.POST, f"{GRAPH}/{number}/messages", json={"messages": [{"id": "wamid.out.3"}]})
    assert send(client, auth, tenant, sample_voice_note(4), "voice-note.ogg", voice="1").status_code == 200
    assert json.loads(responses.calls[3].request.body)["audio"] == {"id": "7300000000000002"}
    voice = [m for m in outbound() if m.type == "audio"][0]
    assert voice.media_voice and round(voice.media_duration) == 4


def test_meta_limits_are_checked_first_and_said_in_words(app, client, auth, two_products):
    """Nothing is stored or sent when a limit is broken (no Graph mock: a call would fail the test)."""
    tenant = two_products[0]
    auth.as_member(tenant.product)
    big_png = sample_png() + b"\x00" * (5 * 1024 * 1024)
    cases = [
        (big_png, "big.png", "", "a picture must be JPEG or PNG and at most 5 MB"),
        (b"<html><script>alert(1)</script></html>", "page.html", "", "WhatsApp cannot carry this kind of file"),
        (b"GIF89a" + b"\x00" * 40, "funny.gif", "", "WhatsApp cannot carry this kind of file (image/gif)"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8L" + b"\x00" * (101 * 1024), "sticker.webp", "",
         "a sticker must be WebP, at most 100 KB (500 KB when animated)"),
        (sample_voice_note(2), "note.ogg", "a caption", "without a caption"),
        (sample_png(), "x.png", "c" * 1025, "A caption holds at most 1024 characters"),
        (b"", "empty.pdf", "", "The attached file is empty."),
    ]
    for data, name, caption, words in cases:
        response = send(client, auth, tenant, data, name, caption=caption)
        assert response.status_code == 422, name
        assert words in response.get_data(as_text=True), name
    assert outbound() == []
    assert not os.path.exists(os.path.join(app.config["MEDIA_ROOT"], str(tenant.product.id)))


def test_a_file_larger_than_meta_allows_any_media_is_refused_before_it_is_read(app, client, auth, two_products):
    tenant = two_products[0]
    auth.as_member(tenant.product)
    token = auth.csrf_token()
    huge = 101 * 1024 * 1024 + 1
    response = client.post(f"/p/{tenant.product.id}/conversations/{tenant.conversation.id}/messages",
                           data=b"x" * 10, headers={**HX, "X-CSRFToken": token},
                           content_type="multipart/form-data; boundary=b", environ_overrides={"CONTENT_LENGTH": str(huge)})
    assert response.status_code == 413


@responses.activate
def test_a_failed_upload_is_retried_like_a_text(app, client, auth, two_products):
    tenant = two_products[0]
    number = tenant.account.phone_number_id
    responses.post(f"{GRAPH}/{number}/media", status=500, body="oops")
    auth.as_member(tenant.product)
    response = send(client, auth, tenant, sample_png(), "x.png")
    assert response.status_code == 200
    [message] = outbound()
    assert message.status == "failed" and message.media_id is None and "Retry" in response.get_data(as_text=True)
    responses.replace(responses.POST, f"{GRAPH}/{number}/media", json={"id": "7300000000000009"})
    responses.post(f"{GRAPH}/{number}/messages", json={"messages": [{"id": "wamid.out.9"}]})
    retried = client.post(f"/p/{tenant.product.id}/conversations/{tenant.conversation.id}/messages/{message.id}/retry",
                          data={"csrf_token": auth.csrf_token()}, headers=HX)
    assert retried.status_code == 200
    [message] = outbound()
    assert message.status == "sent" and message.media_id == "7300000000000009"


@responses.activate
@pytest.mark.parametrize("answer", [{"json": {"messaging_product": "whatsapp"}},
                                    {"body": "<html>OK</html>", "content_type": "text/html"}])
def test_an_upload_answered_without_an_id_is_a_temporary_failure_in_the_portals_words(app, client, auth,
                                                                                      two_products, answer):
    """POST /{number}/media answering 200 without the `{id}` Meta documents: nothing was sent (the send
    needs the id), so the reply is failed and retryable, said as a temporary problem at Meta, not as
    "Meta refused the message" around the portal's own English."""
    tenant = two_products[0]
    number = tenant.account.phone_number_id
    responses.post(f"{GRAPH}/{number}/media", status=200, **answer)
    auth.as_member(tenant.product)
    html = send(client, auth, tenant, sample_png(), "x.png").get_data(as_text=True)
    [message] = outbound()
    assert message.status == "failed" and message.wamid is None and "Retry" in html
    assert "temporary problem" in html and "refused" not in html
    assert not [call for call in responses.calls if call.request.url.endswith("/messages")]
