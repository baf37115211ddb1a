"""In a real browser: an owner creates a template, Meta (the sandbox) approves it and says so by
webhook, the owner starts a conversation with it to a customer who never wrote (the window is
closed), the customer's phone shows it rendered, and its ticks reach read."""
from __future__ import annotations

import re

import pytest

from portal.demo import seed
from tests.e2e.test_demo_flow import (ANA, CARDIO_PHONE, TIMEOUT, _connect, _login, _product_id, _require_features,
                                     htmx_settled)

pytestmark = pytest.mark.browser


def test_create_approve_send_and_see_it_read(live, browser, shots):
    from playwright.sync_api import expect

    _require_features(live.app)
    seed()
    cardio_id = _product_id("Cardio Plus")
    base = f"{live.portal_url}/p/{cardio_id}"
    owner = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    meta = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    server_errors = []
    for page in (owner, meta):
        page.on("response", lambda r: r.status >= 500 and server_errors.append(f"{r.status} {r.request.method} {r.url}"))
    _login(owner, live.portal_url, "cardio@demo.maestra")
    _connect(owner, f"{base}/channels", "Cardio Plus Health")

    # 1. Create: the body's variable asks for its sample as one types.
    owner.goto(f"{base}/templates")
    owner.get_by_role("link", name="Create a template").click()
    owner.fill("input[name=name]", "checkup_reminder")
    owner.fill("textarea[name=body]", "Hello {{1}}, your check-up is on {{2}}. Reply to confirm.")
    expect(owner.locator("input[name=body_sample_2]")).to_be_visible(timeout=TIMEOUT)
    owner.fill("input[name=body_sample_1]", "Ana")
    owner.fill("input[name=body_sample_2]", "Friday")
    owner.fill("input[name=footer]", "Cardio Plus")
    owner.get_by_role("button", name="Submit to Meta").click()
    expect(owner.get_by_text("Waiting for Meta's review.")).to_be_visible(timeout=TIMEOUT)
    shots(owner, "10-template-pending")

    # 2. Meta approves it in the sandbox; the webhook reaches the portal and the page says so.
    meta.goto(f"{live.sandbox_url}/controls/templates")
    meta.get_by_role("button", name="Approve checkup_reminder").click()
    meta.wait_for_selector("text=delivered", timeout=TIMEOUT)
    expect(owner.get_by_text("Approved: it can be sent.")).to_be_visible(timeout=TIMEOUT)  # the page refreshes itself

    # 3. A new conversation with the template to a customer who never wrote.
    owner.goto(f"{base}/conversations")
    owner.get_by_role("link", name="New conversation with a template").click()
    owner.fill("input[name=phone]", f"+{ANA}")
    owner.locator("select[name=template_id]").select_option(label="checkup_reminder · en_US")
    expect(owner.locator("input[name=body_1]")).to_be_visible(timeout=TIMEOUT)
    htmx_settled(owner)  # the swapped-in fields listen for typing only once htmx has settled them
    owner.fill("input[name=body_1]", "Ana")
    owner.fill("input[name=body_2]", "Friday 10:00")
    expect(owner.locator("#template-preview")).to_contain_text("Hello Ana, your check-up is on Friday 10:00.", timeout=TIMEOUT)
    owner.get_by_role("button", name="Send template").click()
    owner.wait_for_url(re.compile(r"/conversations/[^/]+$"), timeout=TIMEOUT)
    text = "Hello Ana, your check-up is on Friday 10:00. Reply to confirm."
    bubble = owner.locator("article", has_text=text).last
    expect(bubble.locator(".badge", has_text="template")).to_be_visible(timeout=TIMEOUT)
    expect(bubble.locator(".ticks-read")).to_be_visible(timeout=TIMEOUT)
    expect(owner.locator("#template-picker[open]")).to_be_visible()  # the window is still closed: templates only
    shots(owner, "11-template-read")

    sent = [m for m in live.sandbox.world.conversation(CARDIO_PHONE, ANA) if not m["inbound"]]
    assert [m["summary"] for m in sent] == [f"{text}\nCardio Plus"]
    meta.goto(f"{live.sandbox_url}/phone?number={CARDIO_PHONE}&customer={ANA}")
    expect(meta.get_by_text("Hello Ana, your check-up is on Friday 10:00.").first).to_be_visible(timeout=TIMEOUT)
    assert server_errors == []
