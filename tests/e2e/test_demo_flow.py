"""End to end in a real browser: two products connect their own sandbox businesses,
customers write, each product sees only its own messages live, a reply goes out with
the right product's token and its ticks turn to read, and a revoked token shows the
reconnect banner. Screenshots of the main pages are taken on the way."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.connect.health import check_every_product
from portal.demo import DEMO_PASSWORD, seed
from portal.extensions import db
from portal.models import Product, WhatsAppAccount

pytestmark = pytest.mark.browser

CARDIO_PHONE, FLEX_PHONE = "4100000000000001", "4100000000000002"
ANA, BRUNO = "15551230001", "15551230002"
TIMEOUT = 15_000  # ms; generous for a loaded CI machine, the flow itself takes a few seconds


def _require_features(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    needed = {"/p/<uuid:product_id>/meta/connect", "/webhook", "/meta-oauth-callback",
              "/p/<uuid:product_id>/conversations"}
    missing = needed - rules
    if missing:
        pytest.skip(f"the portal on this branch lacks {', '.join(sorted(missing))}")


def _product_id(name: str):
    product_id = db.session.execute(select(Product.id).where(Product.name == name)).scalar_one()
    db.session.remove()  # never hold a read transaction while the live servers write
    return product_id


def _accounts(product_id) -> list[WhatsAppAccount]:
    rows = db.session.execute(
        select(WhatsAppAccount).where(WhatsAppAccount.product_id == product_id)
        .order_by(WhatsAppAccount.phone_number_id)
    ).scalars().all()
    result = [(r.phone_number_id, r.meta_user_id, r.meta_app_id, r.access_token) for r in rows]
    db.session.remove()
    return result


def htmx_settled(page) -> None:
    """Wait until htmx has finished every request, swap and settle on the page.

    htmx attaches its handlers to swapped-in content only when it settles (about 20 ms
    after the swap), so an input can be visible yet deaf: a test that types at once is
    faster than htmx, where a person is not."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')",
        timeout=TIMEOUT)


def _login(page, portal_url: str, email: str) -> None:
    page.goto(f"{portal_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=TIMEOUT)


def _connect(page, dashboard_url: str, business: str, shots=None) -> None:
    """Connect with Meta -> the sandbox dialog -> pick the business -> Authorize -> back on the dashboard."""
    page.goto(dashboard_url)
    page.get_by_role("button", name=re.compile("connect with meta", re.I)).first.click()
    page.wait_for_selector("text=is asking for access", timeout=TIMEOUT)
    page.locator("label.business", has_text=business).locator("input[type=radio]").check()
    if shots:
        shots(page, "02-meta-sandbox-dialog")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(dashboard_url)), timeout=TIMEOUT)


def _customer_writes(page, sandbox_url: str, phone_id: str, wa_id: str, text: str) -> None:
    page.goto(f"{sandbox_url}/phone?number={phone_id}&customer={wa_id}")
    page.fill("input[name=text]", text)
    page.get_by_role("button", name="Send text").click()
    page.wait_for_selector("text=delivered to the portal", timeout=TIMEOUT)


def test_two_products_connect_receive_reply_and_reconnect(live, browser, shots):
    from playwright.sync_api import expect

    _require_features(live.app)
    seed()  # the demo's products and owners, exactly as `make run` seeds them
    cardio_id, flex_id = _product_id("Cardio Plus"), _product_id("Flex 60")
    # The Channels page holds the Meta connection; a product opens on its inbox.
    cardio_dashboard = f"{live.portal_url}/p/{cardio_id}/channels"
    flex_dashboard = f"{live.portal_url}/p/{flex_id}/channels"
    cardio_inbox = f"{live.portal_url}/p/{cardio_id}/"
    flex_inbox = f"{live.portal_url}/p/{flex_id}/"

    cardio = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    flex = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    customer = browser.new_context(viewport={"width": 1100, "height": 860}).new_page()
    server_errors = []  # any 5xx the browsers see fails the test at the end
    for page in (cardio, flex, customer):
        page.on("response", lambda r: r.status >= 500 and server_errors.append(f"{r.status} {r.request.method} {r.url}"))

    # 1. Each owner logs in and connects their OWN sandbox business.
    cardio.goto(f"{live.portal_url}/login")
    shots(cardio, "00-login")
    _login(cardio, live.portal_url, "cardio@demo.maestra")
    _login(flex, live.portal_url, "flex@demo.maestra")
    cardio.goto(cardio_dashboard)
    shots(cardio, "01-dashboard-not-connected")
    _connect(cardio, cardio_dashboard, "Cardio Plus Health", shots)
    _connect(flex, flex_dashboard, "Flex 60 Fitness")
    expect(cardio.get_by_text("555-010-1001").first).to_be_visible(timeout=TIMEOUT)
    expect(flex.get_by_text("555-010-2002").first).to_be_visible(timeout=TIMEOUT)
    shots(cardio, "03-dashboard-connected")

    cardio_rows, flex_rows = _accounts(cardio_id), _accounts(flex_id)
    assert [r[0] for r in cardio_rows] == [CARDIO_PHONE]
    assert [r[0] for r in flex_rows] == [FLEX_PHONE, "4100000000000003"]
    assert cardio_rows[0][1] != flex_rows[0][1]  # different Meta users
    assert cardio_rows[0][3] != flex_rows[0][3]  # different tokens
    assert {r[2] for r in cardio_rows + flex_rows} == {live.app.config["META_APP_ID"]}  # one master app

    # 2. A customer writes to each number; each message appears live in its product's inbox only.
    cardio.goto(cardio_inbox)
    flex.goto(flex_inbox)
    cardio_text, flex_text = "Can I move my cardio check-up to Friday?", "Is the 6 am class full tomorrow?"
    _customer_writes(customer, live.sandbox_url, CARDIO_PHONE, ANA, cardio_text)
    _customer_writes(customer, live.sandbox_url, FLEX_PHONE, BRUNO, flex_text)
    expect(cardio.get_by_text(cardio_text).first).to_be_visible(timeout=TIMEOUT)
    expect(flex.get_by_text(flex_text).first).to_be_visible(timeout=TIMEOUT)
    assert cardio.get_by_text(flex_text).count() == 0
    assert flex.get_by_text(cardio_text).count() == 0
    expect(cardio).to_have_title(re.compile(r"^\(1\) Cardio Plus$"), timeout=TIMEOUT)  # the unread count leads the tab
    shots(cardio, "04-inbox")
    shots(customer, "08-sandbox-customer-phone")

    # 3. Cardio replies; the reply leaves with Cardio's token from Cardio's number, and its ticks reach read.
    cardio.goto(f"{live.portal_url}/p/{cardio_id}/channels")
    expect(cardio.get_by_text(cardio_text).first).to_be_visible(timeout=TIMEOUT)  # the feed panel
    shots(cardio, "05-channels")
    cardio.goto(f"{live.portal_url}/p/{cardio_id}/conversations")
    cardio.locator(".conversation-row", has_text="Ana Rojas").first.click()
    cardio.wait_for_url(re.compile(r"/conversations/[^/]+$"), timeout=TIMEOUT)
    reply = "Yes, Friday at 10:00 works. See you then!"
    cardio.locator("#reply-box textarea").fill(reply)
    cardio.locator("#reply-box textarea").press("Enter")  # Enter sends
    expect(cardio.get_by_text(reply).first).to_be_visible(timeout=TIMEOUT)
    outbound = [m for m in live.sandbox.world.conversation(CARDIO_PHONE, ANA) if not m["inbound"]]
    assert [m["summary"] for m in outbound] == [reply]  # the sandbox takes it only with Cardio's token
    assert not [m for m in live.sandbox.world.conversation(FLEX_PHONE, ANA) if not m["inbound"]]
    bubble = cardio.locator("article, li, div", has_text=reply).last
    expect(bubble.locator(".ticks-read")).to_be_visible(timeout=TIMEOUT)
    shots(cardio, "06-conversation-read")

    # 4. Meta revokes Cardio's token (the user removed the app): the next reply shows the reconnect banner.
    customer.goto(f"{live.sandbox_url}/controls")
    customer.locator("tr", has_text="Cardio Plus Health").get_by_role("button", name="Revoke tokens").click()
    customer.wait_for_selector("text=token(s) revoked", timeout=TIMEOUT)
    shots(customer, "09-sandbox-controls")
    cardio.locator("#reply-box textarea").fill("One more thing: bring your last results.")
    cardio.locator("#reply-box button[type=submit]").click()
    expect(cardio.locator("#reconnect-banner", has_text="Reconnect needed")).to_be_visible(timeout=TIMEOUT)
    shots(cardio, "07-reconnect-banner")
    flex.goto(flex_inbox)
    expect(flex.get_by_text("Reconnect needed")).to_have_count(0)  # Flex is untouched

    # 5. Meta revokes Flex's token while nobody replies: the worker's scheduled check (run now, as
    #    its scheduler does every 5 minutes) shows both of Flex's numbers as needing a reconnect.
    customer.goto(f"{live.sandbox_url}/controls")
    customer.locator("tr", has_text="Flex 60 Fitness").get_by_role("button", name="Revoke tokens").click()
    customer.wait_for_selector("text=token(s) revoked", timeout=TIMEOUT)
    flex.goto(flex_dashboard)
    expect(flex.locator(".badge-danger", has_text="needs reconnect")).to_have_count(0)
    live.app.extensions["jobs"].enqueue(check_every_product)
    flex.goto(flex_dashboard)
    expect(flex.locator(".badge-danger", has_text="needs reconnect")).to_have_count(2, timeout=TIMEOUT)
    cardio.goto(f"{live.portal_url}/p/{cardio_id}/")
    expect(cardio.locator(".badge-ok", has_text="connected")).to_have_count(0)  # (revoked before, in step 4)
    assert server_errors == []
