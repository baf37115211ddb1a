"""Inbound media: the engine downloads it after ingest's commit, checks it and keeps it per product.

Payloads as Meta documents them (../shared/meta-reference.md, Media; the webhook's
`messages[].image` = {id, mime_type, sha256, caption}; `GET /{media-id}` answers
{url, mime_type, sha256, file_size, id}); the sha256 in webhooks is base64 as in pywa's
recorded fixtures, hex in Graph's answer. Graph is mocked with `responses`.
"""
from __future__ import annotations

import os
from datetime import timedelta

import responses
from sqlalchemy import select, update

from portal.extensions import db
from portal.media.download import RETRIES, download_media, sha256_matches, sweep_unfetched
from portal.models import Conversation, Message, utcnow
from portal.sandbox.media import sample_pdf, sample_png, sample_voice_note
from tests.webhook import payloads as p

from .conftest import GRAPH, LOOKASIDE, NUMBER_A, NUMBER_B, WABA_A, WABA_B, b64_sha256, media_info, run_retries

PNG = sample_png(seed=3)


def post_image(client, wamid="wamid.media.1", media_id="7100000000000001", data=PNG, number=NUMBER_A, waba=WABA_A):
    content = {"mime_type": "image/png", "sha256": b64_sha256(data), "id": media_id, "caption": "my receipt"}
    return p.post_signed(client, p.envelope(p.entry(waba, p.messages_change(number, [p.inbound(wamid, "image", content)]))))


def stored(wamid: str) -> Message:
    db.session.expire_all()
    return db.session.execute(select(Message).where(Message.wamid == wamid).execution_options(all_products=True)).scalar_one()


def kept_file(app, message: Message) -> bytes:
    with open(os.path.join(app.config["MEDIA_ROOT"], str(message.product_id), message.media_key), "rb") as f:
        return f.read()


@responses.activate
def test_an_inbound_picture_is_downloaded_with_the_products_token_and_kept(app, client, two_products):
    cardio, _ = two_products
    responses.get(f"{GRAPH}/7100000000000001", json=media_info("7100000000000001", PNG, "image/png"))
    responses.get(LOOKASIDE, body=PNG, content_type="image/png")
    assert post_image(client).status_code == 200
    message = stored("wamid.media.1")
    assert message.media_state == "stored" and message.media_error is None
    assert kept_file(app, message) == PNG
    assert message.media_size == len(PNG) and message.media_attempts == 1
    assert os.path.dirname(os.path.join(app.config["MEDIA_ROOT"], str(cardio.id), message.media_key)).endswith(str(cardio.id))
    # Both calls carry the product's own token: the info, and the short-lived URL.
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer EAAG-test-token"] * 2


@responses.activate
def test_a_meta_500_is_retried_by_the_engine_with_backoff(app, client, two_products):
    responses.get(f"{GRAPH}/7100000000000001", status=500, body="Internal Server Error")
    post_image(client)
    message = stored("wamid.media.1")
    assert message.media_state == "downloading" and message.media_key is None
    assert "HTTP 500" in message.media_error and "trying again" in message.media_error
    responses.replace(responses.GET, f"{GRAPH}/7100000000000001", json=media_info("7100000000000001", PNG, "image/png"))
    responses.get(LOOKASIDE, body=PNG, content_type="image/png")
    assert run_retries() == 1  # the engine had scheduled exactly one retry
    message = stored("wamid.media.1")
    assert message.media_state == "stored" and message.media_attempts == 2 and kept_file(app, message) == PNG


@responses.activate
def test_an_expired_url_is_asked_for_again(app, client, two_products):
    """Meta's media URL lives minutes: a 404 on it means asking GET /{media-id} for a fresh one."""
    old_url, new_url = f"{LOOKASIDE}old", f"{LOOKASIDE}new"
    responses.get(f"{GRAPH}/7100000000000001", json=media_info("7100000000000001", PNG, "image/png", url=old_url))
    responses.get(f"{GRAPH}/7100000000000001", json=media_info("7100000000000001", PNG, "image/png", url=new_url))
    responses.get(old_url, status=404, json={"error": {"message": "URL signature expired", "code": 100}})
    responses.get(new_url, body=PNG, content_type="image/png")
    post_image(client)
    message = stored("wamid.media.1")
    assert message.media_state == "stored" and message.media_attempts == 1
    assert kept_file(app, message) == PNG
    assert [c.request.url.split("?")[0] for c in responses.calls] == [
        f"{GRAPH}/7100000000000001", old_url, f"{GRAPH}/7100000000000001", new_url]


@responses.activate
def test_bytes_that_do_not_match_the_sha256_are_refused(app, client, two_products):
    responses.get(f"{GRAPH}/7100000000000001", json=media_info("7100000000000001", PNG, "image/png"))
    responses.get(LOOKASIDE, body=PNG[:-1] + b"\x00", content_type="image/png")  # altered on the way
    post_image(client)
    message = stored("wamid.media.1")
    assert message.media_state == "failed" and "sha256" in message.media_error
    assert message.media_key is None
    assert not os.path.exists(os.path.join(app.config["MEDIA_ROOT"], str(message.product_id)))
    assert run_retries() == 0  # a wrong file does not get better by asking again


def test_either_sha256_encoding_is_accepted():
    assert sha256_matches(PNG, b64_sha256(PNG))
    import hashlib

    assert sha256_matches(PNG, hashlib.sha256(PNG).hexdigest())
    assert sha256_matches(PNG, hashlib.sha256(PNG).hexdigest().upper())
    assert not sha256_matches(PNG + b"x", b64_sha256(PNG))
    assert not sha256_matches(PNG, "not a hash at all")


@responses.activate
def test_a_download_that_fails_for_good_says_so_and_the_retry_button_downloads_it(app, client, auth, two_products):
    cardio, _ = two_products
    responses.get(f"{GRAPH}/7100000000000001", status=503, body="busy")
    post_image(client)
    message = stored("wamid.media.1")
    for _ in range(RETRIES):  # every retry the engine makes meets the same outage
        assert run_retries() == 1
    assert run_retries() == 0
    message = stored("wamid.media.1")
    assert message.media_state == "failed" and message.media_attempts == RETRIES + 1
    auth.as_member(cardio)
    page = client.get(f"/p/{cardio.id}/conversations/{message.conversation_id}").get_data(as_text=True)
    assert "Could not be downloaded: Meta had a problem" in page and "Retry download" in page

    responses.replace(responses.GET, f"{GRAPH}/7100000000000001", json=media_info("7100000000000001", PNG, "image/png"))
    responses.get(LOOKASIDE, body=PNG, content_type="image/png")
    answer = client.post(f"/p/{cardio.id}/media/{message.id}/retry", data={"csrf_token": auth.csrf_token()},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "<img" in answer.get_data(as_text=True)
    assert stored("wamid.media.1").media_state == "stored"
    again = client.post(f"/p/{cardio.id}/media/{message.id}/retry", data={"csrf_token": auth.csrf_token()})
    assert again.status_code == 409  # nothing failed any more


@responses.activate
def test_media_meta_no_longer_has_fails_at_once_in_words(app, client, two_products):
    responses.get(f"{GRAPH}/7100000000000001", status=404,
                  json={"error": {"message": "(#100) Media not found", "type": "OAuthException", "code": 100}})
    post_image(client)
    message = stored("wamid.media.1")
    assert message.media_state == "failed" and "no longer has this file" in message.media_error
    assert run_retries() == 0


@responses.activate
def test_the_download_runs_after_ingests_commit_never_inside_it(app, two_products):
    from portal.webhook.ingest import ingest

    responses.get(f"{GRAPH}/7100000000000001", json=media_info("7100000000000001", PNG, "image/png"))
    responses.get(LOOKASIDE, body=PNG, content_type="image/png")
    content = {"mime_type": "image/png", "sha256": b64_sha256(PNG), "id": "7100000000000001"}
    ingest(p.envelope(p.entry(WABA_A, p.messages_change(NUMBER_A, [p.inbound("wamid.media.c", "image", content)]))))
    assert len(responses.calls) == 0  # stored, not yet committed: Meta not called
    db.session.commit()
    assert len(responses.calls) == 2 and stored("wamid.media.c").media_state == "stored"


@responses.activate
def test_the_sweep_downloads_media_whose_job_was_lost(app, two_products, inbox):
    """A crash between ingest's commit and its enqueue leaves media_state empty: the sweep finds it."""
    cardio, flex = two_products
    rows = []
    for product, number, wamid in ((cardio, NUMBER_A, "wamid.lost.a"), (flex, NUMBER_B, "wamid.lost.b")):
        conversation = _conversation(product, number)
        rows.append(inbox.message(conversation, type="image", text=None, wamid=wamid, media_id={"a": "7101", "b": "7102"}[wamid[-1]],
                                  media_mime_type="image/png", created_at=utcnow() - timedelta(minutes=10)))
    fresh = inbox.message(_conversation(cardio, NUMBER_A), type="image", text=None, wamid="wamid.fresh", media_id="7106",
                          media_mime_type="image/png")
    for media_id in ("7101", "7102"):
        responses.get(f"{GRAPH}/{media_id}", json=media_info(media_id, PNG, "image/png"))
    responses.get(LOOKASIDE, body=PNG, content_type="image/png")
    assert sweep_unfetched() == 2
    assert stored("wamid.lost.a").media_state == "stored" and stored("wamid.lost.b").media_state == "stored"
    assert stored("wamid.fresh").media_state is None  # its own job may still be on its way
    assert sweep_unfetched() == 0
    assert fresh.id


def _conversation(product, number) -> Conversation:
    conversation = db.session.execute(select(Conversation).where(Conversation.product_id == product.id)
                                      .execution_options(all_products=True)).scalars().first()
    if conversation:
        return conversation
    from portal.models import Contact

    contact = Contact(product_id=product.id, wa_id="59170000009", profile_name="Ana")
    db.session.add(contact)
    db.session.flush()
    conversation = Conversation(product_id=product.id, phone_number_id=number, contact_id=contact.id,
                                last_inbound_at=utcnow())
    db.session.add(conversation)
    db.session.commit()
    return conversation


@responses.activate
def test_a_job_for_product_a_never_touches_product_bs_message(app, client, two_products):
    """Isolation: the job runs with its product in scope; B's message id given with A's product id is not found."""
    cardio, flex = two_products
    responses.get(f"{GRAPH}/7100000000000002", status=500)
    post_image(client, wamid="wamid.media.b", media_id="7100000000000002", number=NUMBER_B, waba=WABA_B)
    theirs = stored("wamid.media.b")
    db.session.execute(update(Message).where(Message.id == theirs.id).values(media_state=None, media_attempts=0,
                                                                            media_error=None))
    db.session.commit()
    calls = len(responses.calls)
    from portal.jobs import enqueue

    enqueue(download_media, cardio.id, theirs.id)
    after = stored("wamid.media.b")
    assert after.media_state is None and after.media_attempts == 0 and len(responses.calls) == calls
    assert not os.path.exists(os.path.join(app.config["MEDIA_ROOT"], str(cardio.id)))


@responses.activate
def test_voice_notes_and_documents_are_kept_with_their_length_and_name(app, client, two_products):
    voice, pdf = sample_voice_note(14), sample_pdf("Invoice")
    responses.get(f"{GRAPH}/7200000000000001", json=media_info("7200000000000001", voice, "audio/ogg; codecs=opus",
                                                                url=f"{LOOKASIDE}voice"))
    responses.get(f"{GRAPH}/7200000000000002", json=media_info("7200000000000002", pdf, "application/pdf",
                                                                url=f"{LOOKASIDE}pdf"))
    responses.get(f"{LOOKASIDE}voice", body=voice, content_type="audio/ogg")
    responses.get(f"{LOOKASIDE}pdf", body=pdf, content_type="application/pdf")
    messages = [
        p.inbound("wamid.voice", "audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": b64_sha256(voice),
                                           "id": "7200000000000001", "voice": True}),
        p.inbound("wamid.pdf", "document", {"mime_type": "application/pdf", "sha256": b64_sha256(pdf),
                                            "id": "7200000000000002", "filename": "invoice.pdf"}),
    ]
    p.post_signed(client, p.envelope(p.entry(WABA_A, p.messages_change(NUMBER_A, messages))))
    note, document = stored("wamid.voice"), stored("wamid.pdf")
    assert note.media_state == "stored" and note.media_voice and round(note.media_duration) == 14
    assert document.media_state == "stored" and document.media_key.endswith(".pdf") and kept_file(app, document) == pdf
    conversation = db.session.get(Conversation, note.conversation_id)
    assert conversation.last_message_preview == "Voice note 0:14"  # the latest of the two, once its length is known


@responses.activate
def test_the_sweep_also_takes_a_download_whose_worker_died(app, two_products, inbox):
    """State "downloading" for longer than every retry together: the job and its retry died with a worker."""
    cardio, _ = two_products
    conversation = _conversation(cardio, NUMBER_A)
    stuck = inbox.message(conversation, type="image", text=None, wamid="wamid.stuck", media_id="7119",
                          media_mime_type="image/png", media_state="downloading", media_attempts=2,
                          created_at=utcnow() - timedelta(hours=3))
    inbox.message(conversation, type="image", text=None, wamid="wamid.backoff", media_id="7118",
                  media_mime_type="image/png", media_state="downloading", media_attempts=3,
                  created_at=utcnow() - timedelta(minutes=10))  # still within its retries' backoff
    responses.get(f"{GRAPH}/7119", json=media_info("7119", PNG, "image/png"))
    responses.get(LOOKASIDE, body=PNG, content_type="image/png")
    assert sweep_unfetched() == 1
    assert stored("wamid.stuck").media_state == "stored" and stored("wamid.backoff").media_state == "downloading"
    assert stuck.id
