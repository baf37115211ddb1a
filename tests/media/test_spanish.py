"""Media in Spanish (Accept-Language: es): the attachment fragment in each state, the reply box's
attachment controls (and the words handed to static/media.js), upload refusals with sizes in
Spanish number format, media errors; English unchanged. Stored previews stay English."""
from __future__ import annotations

import io
from types import SimpleNamespace

from flask import render_template_string

from portal.media import kinds, labels
from portal.sandbox.media import sample_png
from tests.english_left import english_left
from tests.inbox.conftest import inbox, two_products  # noqa: F401  (tenants with a conversation each)

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}


def _attachment(client, tenant, message, headers=ES) -> str:
    response = client.get(f"/p/{tenant.product.id}/media/{message.id}/attachment", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _media(inbox, tenant, **fields):
    fields.setdefault("direction", "in")
    return inbox.message(tenant.conversation, text=fields.pop("text", None), **fields)


def test_attachment_fragment_in_every_state_in_spanish(client, auth, two_products, inbox):
    tenant = two_products[0]
    auth.as_member(tenant.product)
    stored = dict(media_state="stored", media_key="x.bin", media_id="7300000000000001")
    cases = [
        (_media(inbox, tenant, type="document", media_filename="invoice.pdf", media_size=1572864, **stored),
         ["Documento", "1,5 MB", "Descargar"], ["Document", "1.5 MB", "Download"]),
        (_media(inbox, tenant, type="document", media_size=2048, **stored),
         ["Documento sin título", "2 KB"], ["Untitled document", "2 KB"]),
        (_media(inbox, tenant, type="image", **stored), ["Abrir la imagen completa", 'alt="Foto"'],
         ["Open the full picture", 'alt="Photo"']),
        (_media(inbox, tenant, type="audio", media_voice=True, media_duration=14, **stored),
         ["Nota de voz 0:14"], ["Voice note 0:14"]),
        (_media(inbox, tenant, type="video", media_state="failed", media_id="7300000000000002"),
         ["Video", "No se pudo descargar: Meta no lo entregó", "Reintentar la descarga"],
         ["Could not be downloaded: Meta did not provide it", "Retry download"]),
        (_media(inbox, tenant, type="image", media_id="7300000000000003", media_state="downloading"),
         ["Foto", "Descargando…"], ["Photo", "Downloading…"]),
        (_media(inbox, tenant, type="sticker"), ["Sticker", "(no disponible)"], ["(not available)"]),
    ]
    for message, spanish, english in cases:
        html = _attachment(client, tenant, message)
        assert english_left(html) == [], (message.type, message.media_state, html)
        for words in spanish:
            assert words in html, (words, html)
        html = _attachment(client, tenant, message, headers=EN)
        for words in english:
            assert words in html, (words, html)


def test_a_file_name_is_peoples_content(client, auth, two_products, inbox):
    tenant = two_products[0]
    auth.as_member(tenant.product)
    message = _media(inbox, tenant, type="document", media_filename="the new reply.pdf", media_size=10,
                     media_state="stored", media_key="x.bin", media_id="7300000000000009")
    html = _attachment(client, tenant, message)
    assert 'translate="no">the new reply.pdf' in html and english_left(html) == []


def test_reply_box_attachment_controls_and_the_scripts_words_in_spanish(app):
    page = '{% from "media/_attach.html" import attach_controls %}{{ attach_controls() }}'
    with app.test_request_context(headers=ES):
        html = render_template_string(page)
    assert english_left(html) == []
    for words in ("Adjuntar un archivo", "Grabar una nota de voz", "Imágenes hasta 5 MB",
                  'data-stop="Detener la grabación"', 'data-ready="Nota de voz lista"',
                  'data-no-microphone="El navegador no tiene permiso para usar el micrófono."'):
        assert words in html, words
    with app.test_request_context(headers=EN):
        html = render_template_string(page)
    assert "Attach a file" in html and 'data-stop="Stop recording"' in html and 'data-ready="Voice note ready"' in html
    script = (app.static_folder and open(f"{app.static_folder}/media.js").read())
    assert 'words(form, "ready")' in script and 'words(form, "stop")' in script  # the script reads them


def test_upload_refusals_in_spanish_with_sizes_in_spanish_numbers(client, auth, two_products):
    tenant = two_products[0]
    auth.as_member(tenant.product)
    url = f"/p/{tenant.product.id}/conversations/{tenant.conversation.id}/messages"

    def send(data: bytes, name: str, headers=ES, caption: str = "") -> str:
        form = {"csrf_token": auth.csrf_token(), "body": caption, "voice": "", "file": (io.BytesIO(data), name)}
        response = client.post(url, data=form, headers={"HX-Request": "true", **headers},
                               content_type="multipart/form-data")
        return response.get_data(as_text=True)

    big = sample_png(seed=3) + b"\0" * (6 * kinds.MB)
    assert "Este archivo pesa 6,0 MB, demasiado: una imagen debe ser JPEG o PNG y pesar como máximo 5 MB." in send(big, "big.png")
    assert "This file is 6.0 MB, too large: a picture must be JPEG or PNG and at most 5 MB." in send(big, "big.png", EN)
    assert "WhatsApp no puede llevar este tipo de archivo (tipo desconocido)." in send(b"\x00\x01binary", "x.bin")
    assert "A caption holds at most 1024 characters" in send(sample_png(seed=4), "a.png", EN, caption="x" * 1100)
    assert "Una leyenda admite como máximo 1024 caracteres; esta tiene 1100." in send(sample_png(seed=4), "a.png",
                                                                                       caption="x" * 1100)


def test_media_errors_in_spanish(client, auth, two_products, inbox):
    tenant = two_products[0]
    auth.as_member(tenant.product)
    message = _media(inbox, tenant, type="image", media_id="7300000000000004", media_state="downloading")
    response = client.get(f"/p/{tenant.product.id}/media/{message.id}", headers=ES)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Medio no disponible" in html and "Este medio no se ha descargado." in html
    response = client.post(f"/p/{tenant.product.id}/media/{message.id}/retry", headers=ES,
                           data={"csrf_token": auth.csrf_token()})
    assert response.status_code == 409 and "Este medio no es una descarga fallida." in response.get_data(as_text=True)
    english = client.get(f"/p/{tenant.product.id}/media/{message.id}", headers=EN).get_data(as_text=True)
    assert "Media unavailable" in english and "This media has not been downloaded." in english


def test_sizes_and_labels_read_naturally_and_stored_previews_stay_english(app):
    voice = SimpleNamespace(type="audio", media_voice=True, raw={}, media_duration=75, media_filename=None, text=None)
    photo = SimpleNamespace(type="image", media_voice=False, raw={}, media_duration=None, media_filename=None,
                            text="my receipt")
    with app.test_request_context(headers=ES):
        assert [kinds.human_size(n) for n in (512, 1536, 1572864, 123 * kinds.MB)] == \
            ["512 bytes", "2 KB", "1,5 MB", "123,0 MB"]
        assert labels.title(voice) == "Nota de voz 1:15" and labels.summary(photo) == "Foto: my receipt"
        assert labels.stored_summary(photo) == "Photo: my receipt"  # the conversation's stored preview
    with app.test_request_context(headers=EN):
        assert [kinds.human_size(n) for n in (512, 1536, 1572864, 1234 * kinds.MB)] == \
            ["512 bytes", "2 KB", "1.5 MB", "1,234.0 MB"]
        assert labels.title(voice) == "Voice note 1:15" and labels.summary(photo) == "Photo: my receipt"


def test_why_a_download_failed_is_said_in_the_readers_language(app):
    """download.py stores its reasons in English (logs, the API); pages show them translated,
    a retry's attempt count included. Meta's own words pass through as they came."""
    from flask_babel import force_locale

    from portal.media.labels import shown_reason

    with app.test_request_context(), force_locale("es"):
        assert shown_reason("the file is larger than WhatsApp allows") == "el archivo es más grande de lo que WhatsApp permite"
        assert shown_reason("the connection to Meta broke during the download (attempt 2; trying again)") == \
            "la conexión con Meta se cortó durante la descarga (intento 2; se vuelve a intentar)"
        assert shown_reason("Meta refused the download (Unsupported get request)") == \
            "Meta refused the download (Unsupported get request)"
        assert shown_reason(None) is None
