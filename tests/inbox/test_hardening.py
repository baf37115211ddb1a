"""Issue 19, items 6, 10 and 12 in the inbox: cursors out of range, hostile message lengths, and
media ids that are not Meta's."""
from __future__ import annotations

import threading

import pytest
import responses

from portal.extensions import db
from portal.inbox.rendering import message_html
from portal.meta.graph import GraphError, check_media_id

from .conftest import feed_url

GRAPH = "https://graph.meta.test/v25.0"
HX = {"HX-Request": "true"}

# Each one is refused with a 400: not a cursor this portal made, or one past any date it can hold.
BAD_CURSORS = ["9" * 18, "999999999999999999-0000abcd", "-1", "1e9", "", "abc", "1-XYZ", "1-" + "0" * 9,
               "9" * 19, "1" + "-0000abcd" * 2]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_every_malformed_or_out_of_range_cursor_is_a_400(client, auth, two_products, cursor):
    cardio = two_products[0]
    auth.as_member(cardio.product)
    feed = client.get(feed_url(cardio.product, after=cursor), headers=HX)
    thread = client.get(f"/p/{cardio.product.id}/conversations/{cardio.conversation.id}/updates",
                        query_string={"after": cursor}, headers=HX)
    assert (feed.status_code, thread.status_code) == (400, 400), cursor
    assert "not valid" in feed.get_data(as_text=True) or "out of range" in feed.get_data(as_text=True)


# --- 10: the link renderer is linear in hostile input -----------------------------------------

def _render_within_reach(text: str):
    """Render in a thread; a quadratic renderer on these lengths takes hours, a linear one milliseconds.
    The generous wait is a hang detector, not a speed figure."""
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("html", message_html(text)), daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "rendering did not finish: the link renderer is not linear"
    return result["html"]


@pytest.mark.parametrize("trail", [")", ".", "?!", ".,;:!?)]}"])
def test_a_link_followed_by_megabytes_of_punctuation_renders(trail):
    text = "see https://example.com/x" + trail * (2_000_000 // len(trail))
    html = str(_render_within_reach(text))
    assert html.startswith('see <a href="https://example.com/x" rel="noopener noreferrer nofollow" target="_blank">'
                           'https://example.com/x</a>')
    assert html.endswith(trail * 3)


def test_many_links_with_trailing_punctuation_render_each_one():
    text = " ".join(f"https://example.com/{n}))))" for n in range(20_000))
    html = str(_render_within_reach(text))
    assert html.count("<a href=") == 20_000
    assert '<a href="https://example.com/19999" rel="noopener noreferrer nofollow" target="_blank">' \
           'https://example.com/19999</a>))))' in html


# --- 12: a media id that is a URL never carries the product's token anywhere --------------------

@pytest.mark.parametrize("media_id", ["https://attacker.example/steal", "//attacker.example/x", "../me", "123/..",
                                      "1234567?fields=access_token", "", "12ab", "1" * 33, None, 1234])
def test_only_meta_shaped_media_ids_are_accepted(media_id):
    with pytest.raises(GraphError):
        check_media_id(media_id)


def test_meta_shaped_media_ids_pass():
    assert check_media_id("1037543291543636") == "1037543291543636"


def _downloaded(app, image):
    """Run the media download job (portal/media/download.py) for `image`; its message, reloaded."""
    from portal.jobs import enqueue
    from portal.media.download import download_media

    enqueue(download_media, image.product_id, image.id)
    db.session.expire_all()
    return db.session.get(type(image), image.id)


@responses.activate
@pytest.mark.parametrize("media_id", ["https://attacker.example/steal", "http://127.0.0.1:9/x"])
def test_a_media_id_that_is_a_url_is_never_fetched(app, inbox, two_products, media_id):
    cardio = two_products[0]
    image = inbox.message(cardio.conversation, type="image", text=None, media_id=media_id, media_mime_type="image/jpeg")
    image = _downloaded(app, image)
    assert image.media_state == "failed"
    assert len(responses.calls) == 0  # (responses would also refuse an unregistered URL: nothing was even tried)


@responses.activate
@pytest.mark.parametrize("url", ["https://attacker.example/media/abc", "http://lookaside.fbsbx.com/x",
                                 "https://fbsbx.com.attacker.example/x", "https://graph.meta.test.attacker.example/x"])
def test_a_media_url_that_is_not_metas_is_never_fetched(app, inbox, two_products, url):
    cardio = two_products[0]
    image = inbox.message(cardio.conversation, type="image", text=None, media_id="1234567", media_mime_type="image/jpeg")
    responses.get(f"{GRAPH}/1234567", json={"url": url, "mime_type": "image/jpeg"})
    responses.get(url, body=b"stolen")
    image = _downloaded(app, image)
    assert image.media_state == "failed" and "not Meta" in image.media_error
    assert [call.request.url.split("?")[0] for call in responses.calls] == [f"{GRAPH}/1234567"]
