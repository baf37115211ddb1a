"""End to end in a real browser, as in the demo: a connected product receives a customer's picture,
voice note, video and document from the sandbox's customer phone (webhook -> journal -> drain ->
download job through the sandbox's Graph media endpoints), sees and can play them in the thread,
and sends a document back from the reply box (uploaded to the sandbox, sent by media id, ticks to read)."""
from __future__ import annotations

import re

import pytest

from portal.demo import seed
from portal.sandbox.media import sample_pdf
from tests.e2e.conftest import live, shots  # noqa: F401  (the portal and the sandbox on free ports)
from tests.e2e.test_demo_flow import ANA, CARDIO_PHONE, TIMEOUT, _connect, _login, _product_id, _require_features

pytestmark = pytest.mark.browser


def _customer_sends(page, sandbox_url: str, button: str) -> None:
    page.goto(f"{sandbox_url}/phone?number={CARDIO_PHONE}&customer={ANA}")
    page.get_by_role("button", name=button).click()
    page.wait_for_selector("text=delivered to the portal", timeout=TIMEOUT)


def test_customer_media_is_seen_and_heard_and_a_document_goes_back(live, browser, shots, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    _require_features(live.app)
    seed()
    cardio_id = _product_id("Cardio Plus")
    dashboard = f"{live.portal_url}/p/{cardio_id}/channels"
    agent = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    customer = browser.new_context().new_page()
    server_errors = []
    for page in (agent, customer):
        page.on("response", lambda r: r.status >= 500 and server_errors.append(f"{r.status} {r.request.method} {r.url}"))
    _login(agent, live.portal_url, "cardio@demo.maestra")
    _connect(agent, dashboard, "Cardio Plus Health")

    for button in ("Send picture", "Send voice note", "Send video", "Send PDF document"):
        _customer_sends(customer, live.sandbox_url, button)

    agent.goto(f"{live.portal_url}/p/{cardio_id}/conversations")
    agent.get_by_text("Ana Rojas").first.click()
    agent.wait_for_url(re.compile(r"/conversations/[^/]+$"), timeout=TIMEOUT)
    picture = agent.wait_for_selector(".msg-in img.media-picture", timeout=TIMEOUT)
    agent.wait_for_function("img => img.complete && img.naturalWidth === 160", arg=picture, timeout=TIMEOUT)
    audio = agent.wait_for_selector(".msg-in audio.media-player", timeout=TIMEOUT)
    agent.wait_for_function("a => a.readyState >= 1 && a.duration > 2", arg=audio, timeout=TIMEOUT)  # the player read it
    expect(agent.locator(".msg-in .media-label", has_text=re.compile(r"Voice note 0:0\d"))).to_be_visible(timeout=TIMEOUT)
    expect(agent.locator(".msg-in video.media-player")).to_have_count(1, timeout=TIMEOUT)
    expect(agent.locator(".msg-in .media-document .media-name", has_text=".pdf")).to_be_visible(timeout=TIMEOUT)
    shots(agent, "10-conversation-media")

    document = tmp_path / "results.pdf"
    document.write_bytes(sample_pdf("Your results"))
    agent.set_input_files("#reply-box input[name=file]", str(document))
    agent.fill("#reply-box textarea", "Your lab results")
    agent.locator("#reply-box button[type=submit]").click()
    sent = agent.locator(".msg-out", has_text="Your lab results")
    expect(sent.locator(".media-name", has_text="results.pdf")).to_be_visible(timeout=TIMEOUT)
    expect(sent.locator(".ticks-read")).to_be_visible(timeout=TIMEOUT)
    outbound = [m for m in live.sandbox.world.conversation(CARDIO_PHONE, ANA) if not m["inbound"]]
    assert [m["summary"] for m in outbound] == ["[document] Your lab results"]
    assert server_errors == []
