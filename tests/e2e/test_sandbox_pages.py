"""The sandbox's pages in a real browser: the dialog redirects as Meta's does, the customer
phone delivers a signed webhook, and nothing breaks the strict CSP (no console errors)."""
from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.conftest import TEST_APP_ID

pytestmark = pytest.mark.browser

TIMEOUT = 15_000


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.console_errors = []
    # CSP violations and script errors count; a 404 (the favicon, a portal route not built yet) does not.
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
            and page.console_errors.append(m.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def test_dialog_authorize_and_cancel_in_a_browser(live, page, shots):
    callback = f"{live.portal_url}/meta-oauth-callback"
    query = urlencode({"client_id": TEST_APP_ID, "redirect_uri": callback, "state": "s-1",
                       "scope": "whatsapp_business_management,whatsapp_business_messaging"})
    dialog = f"{live.sandbox_url}/v25.0/dialog/oauth?{query}"

    page.goto(dialog)
    page.locator("label.business", has_text="Acme Support").locator("input").check()
    with page.expect_request(re.compile(re.escape(callback) + r"\?code=[^&]+&state=s-1$")):
        page.get_by_role("button", name="Authorize").click()

    page.goto(dialog)
    with page.expect_request(re.compile(re.escape(callback) + r"\?error=access_denied&.*error_reason=user_denied")):
        page.get_by_role("button", name="Cancel").click()
    assert page.console_errors == []


def test_customer_phone_delivers_to_the_portal(live, page, shots):
    box = live.sandbox
    box.world.subscribe("3100000000000001", box.app_id, on=True)
    page.goto(f"{live.sandbox_url}/phone?number=4100000000000001&customer=15551230001")
    page.fill("input[name=text]", "Hello from Chromium")
    page.get_by_role("button", name="Send text").click()
    page.wait_for_selector("text=Customer text message", timeout=TIMEOUT)
    assert page.get_by_text("Hello from Chromium").count() == 1
    assert box.dispatcher.log[0].summary == "message text"
    assert page.console_errors == []
