"""A real WhatsApp Cloud API client, pywa 4.5, against the sandbox: every call it supports that the
portal uses, against the sandbox running on a free port; and pywa parsing (and verifying the
signature of) every webhook the sandbox sends, in today's shape."""
from __future__ import annotations

import json

import httpx
import pytest
from pywa import WhatsApp
from pywa.types.templates import TemplateLanguage

from portal.sandbox import create_app
from tests.e2e.conftest import ServerThread

from .conftest import ANA, APP_ID, APP_SECRET, BRUNO, CARDIO, CARDIO_PHONE, CARDIO_WABA, Meta

HIDDEN = "15551230005"  # Elena: a username, her phone number withheld


@pytest.fixture
def running(sandbox_config, clock):
    app = create_app(sandbox_config)
    app.extensions["sandbox"].world.clock = clock
    server = ServerThread(app)
    server.start()
    yield app, server.url
    server.stop()


def _client(url: str, token: str) -> WhatsApp:
    """pywa pointed at the sandbox: its requests to graph.facebook.com go to the sandbox's port."""
    host = httpx.URL(url)

    def to_sandbox(request: httpx.Request) -> None:
        if request.url.host == "graph.facebook.com":
            request.url = request.url.copy_with(scheme=host.scheme, host=host.host, port=host.port)

    session = httpx.Client(event_hooks={"request": [to_sandbox]}, timeout=60)  # a busy CI machine
    return WhatsApp(phone_id=CARDIO_PHONE, token=token, waba_id=CARDIO_WABA, session=session,
                    api_version="25.0", app_id=int(APP_ID), app_secret=APP_SECRET)


def test_pywa_calls_the_portal_uses_succeed_against_the_sandbox(running):
    app, url = running
    box = app.extensions["sandbox"]
    token = Meta(app.test_client()).token_for(CARDIO)
    wa = _client(url, token)
    said, _ = box.customer_writes(CARDIO_PHONE, ANA, "text", text="Hello")

    sent = wa.send_message(to=ANA, text="Hi Ana", reply_to_message_id=said["id"])
    assert sent.id.startswith("wamid.")
    assert wa.send_reaction(to=ANA, emoji="👍", message_id=said["id"]).id.startswith("wamid.")
    assert wa.send_template(to=BRUNO, name="hello_world", language=TemplateLanguage.ENGLISH_US).id.startswith("wamid.")
    assert wa.mark_message_as_read(message_id=said["id"]).success is True

    picture, _ = box.customer_writes(CARDIO_PHONE, ANA, "image", caption="x-ray")
    media_url = wa.get_media_url(picture["image"]["id"])
    assert media_url.mime_type == "image/png"
    assert wa.get_media_bytes(media_url.url).startswith(b"\x89PNG")

    uploaded = wa.upload_media(media=media_url_bytes(wa, media_url.url), mime_type="image/png", filename="a.png")
    assert wa.send_image(to=ANA, image=uploaded.id, caption="your scan").id.startswith("wamid.")
    assert wa.delete_media(uploaded.id).success is True

    number = wa.get_business_phone_number()
    assert number.id == CARDIO_PHONE and number.display_phone_number == "+1 555-010-1001"
    assert wa.get_business_profile().about
    templates = wa.get_templates(waba_id=CARDIO_WABA)
    assert "hello_world" in [t.name for t in templates]
    app_token = wa.get_app_access_token(app_id=int(APP_ID), app_secret=APP_SECRET)
    assert app_token.startswith(APP_ID + "|")


def media_url_bytes(wa: WhatsApp, url: str) -> bytes:
    return wa.get_media_bytes(url)


def test_pywa_parses_every_webhook_the_sandbox_sends(box, recorder, meta):
    """Messages (text, image, location, reaction, its removal; a customer with a hidden number),
    statuses sent/delivered/read/failed, and a template review: each verified and parsed by pywa."""
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)
    token = meta.token_for(CARDIO)
    said, _ = box.customer_writes(CARDIO_PHONE, ANA, "text", text="Hello")
    box.customer_writes(CARDIO_PHONE, ANA, "image", caption="x-ray")
    box.customer_writes(CARDIO_PHONE, ANA, "location", latitude=-16.5, longitude=-68.15, place="La Paz")
    box.customer_writes(CARDIO_PHONE, ANA, "reaction", emoji="👍")
    box.customer_writes(CARDIO_PHONE, ANA, "reaction", emoji="")
    box.customer_writes(CARDIO_PHONE, HIDDEN, "text", text="Hi, it's Elena")
    meta.call("POST", f"{CARDIO_PHONE}/messages", token,
              json={"messaging_product": "whatsapp", "to": ANA, "text": {"body": "Hi"}})
    elena = box.world.customer(CARDIO_PHONE, HIDDEN).user_id
    meta.call("POST", f"{CARDIO_PHONE}/messages", token,
              json={"messaging_product": "whatsapp", "recipient": elena, "text": {"body": "Hi Elena"}})
    meta.call("POST", f"{CARDIO_PHONE}/messages", token, json={
        "messaging_product": "whatsapp", "to": BRUNO, "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}}})
    meta.call("POST", f"{CARDIO_WABA}/message_templates", token, json={
        "name": "order_ready", "language": "en_US", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Order {{1}} is ready", "example": {"body_text": [["42"]]}}]})
    box.dispatcher.flush()

    wa = WhatsApp(token="unused", app_secret=APP_SECRET, filter_updates=False, server=None)
    parsed = []
    wa.on_message()(lambda _, update: parsed.append(("message", update)))
    wa.on_message_status()(lambda _, update: parsed.append(("status", update)))
    wa.on_template_status_update()(lambda _, update: parsed.append(("template", update)))
    for _, body, headers in recorder.posts:
        assert wa.webhook_update_validator(body, headers["X-Hub-Signature-256"]) is None
        wa.webhook_update_handler(body)
    kinds = [kind for kind, _ in parsed]
    assert len(parsed) == len(recorder.posts), (kinds, [json.loads(b) for _, b, _ in recorder.posts])
    assert kinds.count("message") == 6 and kinds.count("template") == 1
    statuses = [(u.status.value, u.from_user.bsuid) for kind, u in parsed if kind == "status"]
    assert len(statuses) == 3 + 3 + 3
    hidden = [u for kind, u in parsed if kind == "message" and u.from_user.bsuid == elena]
    assert hidden and hidden[0].from_user.wa_id is None and hidden[0].from_user.username == "elena.q"
    removal = [u for kind, u in parsed if kind == "message" and u.type.value == "reaction"][-1]
    assert removal.reaction.is_removed
