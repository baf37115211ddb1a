"""The sandbox's own pages (customer phone, controls), its JSON API and its CLI."""
from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from portal.sandbox.__main__ import cli

from .conftest import ANA, CARDIO, CARDIO_PHONE, CARDIO_WABA, FLEX, csrf_from


@pytest.fixture
def subscribed(box):
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)


def _form(sbx, page="/phone", **data):
    token = csrf_from(sbx.get(page).get_data(as_text=True))
    return {"csrf_token": token, **data}


def test_phone_page_lists_numbers_and_customers(sbx):
    html = sbx.get("/phone").get_data(as_text=True)
    assert "+1 555-010-1001" in html and "+1 555-010-2002" in html
    assert "Ana Rojas" in html
    assert "not subscribed" in html
    assert sbx.get("/").status_code == 302


def test_phone_send_delivers_and_shows_the_message(sbx, recorder, subscribed):
    response = sbx.post("/phone/send", data=_form(sbx, number=CARDIO_PHONE, customer=ANA, kind="text",
                                                  text="Hi from the phone page"), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "delivered to the portal" in html
    assert "Hi from the phone page" in html
    assert len(recorder.posts) == 1


def test_phone_send_without_subscription_says_so(sbx, recorder):
    response = sbx.post("/phone/send", data=_form(sbx, number=CARDIO_PHONE, customer=ANA, kind="text", text="x"),
                        follow_redirects=True)
    assert "not delivered" in response.get_data(as_text=True)
    assert recorder.posts == []


@pytest.mark.parametrize("data, words", [
    ({"kind": "text", "text": "   "}, "Type a message first"),
    ({"kind": "reaction", "emoji": "👍"}, "no message to react to"),
    ({"kind": "location", "latitude": "north", "longitude": "1"}, "must be numbers"),
    ({"kind": "hologram"}, "Unknown message kind"),
    ({"kind": "text", "text": "hi", "number": "123"}, "No sandbox number"),
    ({"kind": "text", "text": "hi", "customer": "abc"}, "WhatsApp id"),
])
def test_phone_bad_input_is_explained_and_nothing_sent(sbx, recorder, subscribed, data, words):
    form = _form(sbx, number=CARDIO_PHONE, customer=ANA) | data
    response = sbx.post("/phone/send", data=form, follow_redirects=True)
    assert response.status_code == 200
    assert words in response.get_data(as_text=True)
    assert recorder.posts == []


def test_batch_and_resend_buttons(sbx, recorder, subscribed):
    sbx.post("/phone/batch", data=_form(sbx, number=CARDIO_PHONE, customer=ANA, count="7"))
    sbx.post("/phone/resend", data=_form(sbx, number=CARDIO_PHONE, customer=ANA))
    assert len(recorder.posts) == 2
    assert recorder.posts[0][1] == recorder.posts[1][1]
    bad = sbx.post("/phone/batch", data=_form(sbx, number=CARDIO_PHONE, customer=ANA, count="lots"),
                   follow_redirects=True)
    assert "must be a number" in bad.get_data(as_text=True)


def test_phone_forms_need_csrf(sbx, recorder, subscribed):
    response = sbx.post("/phone/send", data={"number": CARDIO_PHONE, "customer": ANA, "kind": "text", "text": "x"})
    assert response.status_code == 400
    assert recorder.posts == []


def test_controls_expire_and_revoke_a_business_tokens(sbx, meta, box):
    cardio, flex = meta.token_for(CARDIO), meta.token_for(FLEX)
    sbx.post(f"/controls/businesses/{CARDIO}/expire", data=_form(sbx, "/controls"))
    sbx.post(f"/controls/businesses/{FLEX}/revoke", data=_form(sbx, "/controls"))
    assert meta.call("GET", "me", cardio).json["error"]["error_subcode"] == 463
    assert meta.call("GET", "me", flex).json["error"]["error_subcode"] == 458
    html = sbx.get("/controls").get_data(as_text=True)
    assert "0 valid · 1 expired · 0 revoked" in html
    assert "0 valid · 0 expired · 1 revoked" in html


def test_controls_quality_change(sbx, box, recorder, subscribed):
    response = sbx.post(f"/controls/numbers/{CARDIO_PHONE}/quality", data=_form(sbx, "/controls", rating="YELLOW"),
                        follow_redirects=True)
    assert "GREEN → YELLOW" in response.get_data(as_text=True)
    assert box.world.phones[CARDIO_PHONE].quality == "YELLOW"
    bad = sbx.post(f"/controls/numbers/{CARDIO_PHONE}/quality", data=_form(sbx, "/controls", rating="BLUE"),
                   follow_redirects=True)
    assert "Quality must be one of" in bad.get_data(as_text=True)
    assert len(recorder.posts) == 1


def test_json_api_needs_json(sbx):
    assert sbx.post("/api/messages", data={"number": CARDIO_PHONE}).status_code == 415
    answer = sbx.post("/api/messages", json={"number": CARDIO_PHONE, "from": ANA, "type": "text", "text": ""})
    assert answer.status_code == 400 and "Type a message" in answer.json["error"]


@pytest.fixture
def live_sandbox(sandbox_app):
    server = make_server("127.0.0.1", 0, sandbox_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_cli_lists_the_world_and_sends_as_a_customer(live_sandbox, box, recorder, subscribed):
    runner = CliRunner()
    listing = runner.invoke(cli, ["--sandbox-url", live_sandbox, "world"])
    assert listing.exit_code == 0, listing.output
    assert "Cardio Plus Health" in listing.output and CARDIO_PHONE in listing.output
    sent = runner.invoke(cli, ["--sandbox-url", live_sandbox, "send", "--number", CARDIO_PHONE, "--from", ANA,
                               "--text", "Hello from the CLI"])
    assert sent.exit_code == 0, sent.output
    assert "delivered to the portal" in sent.output
    assert box.world.conversation(CARDIO_PHONE, ANA)[-1]["summary"] == "Hello from the CLI"
    located = runner.invoke(cli, ["--sandbox-url", live_sandbox, "send", "--number", CARDIO_PHONE, "--from", ANA,
                                  "--location", "-16.5,-68.1"])
    assert located.exit_code == 0, located.output
    assert len(recorder.posts) == 2


def test_cli_explains_bad_input_and_a_missing_sandbox(live_sandbox):
    runner = CliRunner()
    both = runner.invoke(cli, ["--sandbox-url", live_sandbox, "send", "--number", CARDIO_PHONE, "--from", ANA,
                               "--text", "a", "--image"])
    assert both.exit_code != 0 and "exactly one" in both.output
    unknown = runner.invoke(cli, ["--sandbox-url", live_sandbox, "send", "--number", "42", "--from", ANA,
                                  "--text", "a"])
    assert unknown.exit_code == 1 and "No sandbox number" in unknown.output
    down = runner.invoke(cli, ["--sandbox-url", "http://127.0.0.1:9", "world"])
    assert down.exit_code == 1 and "not answering" in down.output
