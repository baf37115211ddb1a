"""The thread shows each kind of media from the portal's own copy; the file is served to members
only, inline only when the stored type and the bytes agree on a safe type, else as a download."""
from __future__ import annotations

import hashlib
import re

from portal.extensions import db
from portal.media.storage import FolderStore, key_for
from portal.models import Message
from portal.sandbox.media import sample_pdf, sample_png, sample_voice_note
from tests.inbox.conftest import inbox, two_products  # noqa: F401  (tenants with a conversation each)

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64  # an MP4's first box (ftyp)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8L" + b"\x00" * 32


def kept(app, inbox, conversation, kind, data, mime_type, **fields) -> Message:
    """A message whose media the download job has kept."""
    message = inbox.message(conversation, type=kind, text=fields.pop("text", None), media_id=f"m-{kind}",
                            media_mime_type=mime_type, **fields)
    message.media_key = key_for(message.id, "bin")
    FolderStore(app.config["MEDIA_ROOT"]).put(message.product_id, message.media_key, data)
    message.media_state, message.media_size = "stored", len(data)
    message.media_sha256 = hashlib.sha256(data).hexdigest()
    db.session.commit()
    return message


def test_each_kind_is_rendered_in_the_thread(app, client, auth, inbox, two_products):
    tenant = two_products[0]
    conv = tenant.conversation
    photo = kept(app, inbox, conv, "image", sample_png(), "image/png", text="my receipt")
    sticker = kept(app, inbox, conv, "sticker", WEBP, "image/webp")
    voice = kept(app, inbox, conv, "audio", sample_voice_note(14), "audio/ogg; codecs=opus", media_voice=True,
                 media_duration=14.0)
    video = kept(app, inbox, conv, "video", MP4, "video/mp4", media_duration=65.0)
    document = kept(app, inbox, conv, "document", sample_pdf(), "application/pdf", media_filename="invoice.pdf")
    waiting = inbox.message(conv, type="image", text=None, media_id="m-waiting", media_mime_type="image/jpeg")
    auth.as_member(tenant.product)
    html = client.get(f"/p/{tenant.product.id}/conversations/{conv.id}").get_data(as_text=True)
    base = f"/p/{tenant.product.id}/media"

    def block(message) -> str:
        match = re.search(rf'<div class="msg-media[^"]*" id="media-{message.id}".*?</div>', html, re.S)
        assert match, message.type
        return match.group(0)

    assert f'<img class="media-picture" src="{base}/{photo.id}"' in block(photo)
    assert f'href="{base}/{photo.id}" target="_blank"' in block(photo)  # click to open
    assert "my receipt" in html
    assert 'class="media-picture media-sticker"' in block(sticker)
    assert f'<audio class="media-player" controls preload="metadata" src="{base}/{voice.id}"' in block(voice)
    assert "Voice note 0:14" in block(voice)
    assert f'<video class="media-player media-video" controls preload="metadata" src="{base}/{video.id}"' in block(video)
    doc = block(document)
    assert "invoice.pdf" in doc and f"{document.media_size} bytes" in doc and f'href="{base}/{document.id}?download=1"' in doc
    pending = block(waiting)
    assert "Downloading" in pending and f'hx-get="{base}/{waiting.id}/attachment"' in pending
    # The list and the feed say what it is.
    feed = client.get(f"/p/{tenant.product.id}/feed").get_data(as_text=True)
    assert "Voice note 0:14" in feed and "Photo: my receipt" in feed and "Document: invoice.pdf" in feed


def test_a_picture_is_served_inline_with_its_type_privately(app, client, auth, inbox, two_products):
    tenant = two_products[0]
    png = sample_png()
    photo = kept(app, inbox, tenant.conversation, "image", png, "image/png")
    auth.as_member(tenant.product)
    response = client.get(f"/p/{tenant.product.id}/media/{photo.id}")
    assert response.status_code == 200 and response.data == png
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"] and "public" not in response.headers["Cache-Control"]
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # Ranges, for players that seek.
    part = client.get(f"/p/{tenant.product.id}/media/{photo.id}", headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.data == png[:8]
    forced = client.get(f"/p/{tenant.product.id}/media/{photo.id}?download=1")
    assert forced.headers["Content-Disposition"].startswith("attachment")


def test_an_html_file_disguised_as_a_picture_is_a_download_never_inline(app, client, auth, inbox, two_products):
    tenant = two_products[0]
    html = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    disguised = kept(app, inbox, tenant.conversation, "image", html, "image/png")
    vector = kept(app, inbox, tenant.conversation, "image", svg, "image/svg+xml")
    auth.as_member(tenant.product)
    for message in (disguised, vector):
        response = client.get(f"/p/{tenant.product.id}/media/{message.id}")
        assert response.status_code == 200
        assert response.mimetype == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_document_keeps_its_type_when_the_bytes_agree(app, client, auth, inbox, two_products):
    tenant = two_products[0]
    pdf = kept(app, inbox, tenant.conversation, "document", sample_pdf(), "application/pdf",
               media_filename="../../etc/invoice\".pdf")
    auth.as_member(tenant.product)
    response = client.get(f"/p/{tenant.product.id}/media/{pdf.id}")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "/" not in response.headers["Content-Disposition"].split("filename=", 1)[1]


def test_media_of_one_product_is_404_for_another(app, client, auth, inbox, two_products):
    cardio, flex = two_products
    theirs = kept(app, inbox, flex.conversation, "image", sample_png(), "image/png")
    auth.as_member(cardio.product)
    for url in (f"/p/{cardio.product.id}/media/{theirs.id}", f"/p/{flex.product.id}/media/{theirs.id}",
                f"/p/{cardio.product.id}/media/{theirs.id}/attachment"):
        assert client.get(url).status_code == 404, url


def test_media_not_downloaded_is_a_404_in_words(app, client, auth, inbox, two_products):
    tenant = two_products[0]
    waiting = inbox.message(tenant.conversation, type="audio", text=None, media_id="m-1")
    text = inbox.message(tenant.conversation, text="hello")
    auth.as_member(tenant.product)
    response = client.get(f"/p/{tenant.product.id}/media/{waiting.id}")
    assert response.status_code == 404 and "not been downloaded" in response.get_data(as_text=True)
    assert client.get(f"/p/{tenant.product.id}/media/{text.id}/attachment").status_code == 404
