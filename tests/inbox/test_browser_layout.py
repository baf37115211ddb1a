"""The inbox in a real browser, on a laptop (1366 px) and on a phone (390 px, mobile emulation):
no page scrolls sideways, Log out stays on the bar, Send is on screen and tappable, Enter sends,
the unread count leads the tab title and follows new messages, and desktop notifications are
asked for only on a click and then shown for a new conversation.

Runs the portal in a thread (werkzeug, SQLite file) and drives Debian's Chromium with
Playwright; skipped, with the reason, where either is missing. E2E_SCREENSHOTS=folder keeps
the pictures (the README's come from there).
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from portal.models import (CannedReply, Contact, Conversation, Invitation, Membership, Message, Product, User,
                           WhatsAppAccount, utcnow)
from portal.models.invitations import new_secret
from tests.conftest import PASSWORD, _test_config

pytestmark = pytest.mark.browser

NUMBER = "106540352242922"
LAPTOP = {"viewport": {"width": 1366, "height": 860}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
         "user_agent": ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")}
SCREENSHOTS = os.environ.get("E2E_SCREENSHOTS")


# The pictures the README shows; the others (every page, both sizes) go to a temporary folder to look at.
README_SHOTS = {"layout-laptop-conversation", "layout-phone-thread", "layout-laptop-channels"}


@pytest.fixture
def shoot(tmp_path):
    def take(page, name):
        folder = Path(SCREENSHOTS) if SCREENSHOTS and name in README_SHOTS else tmp_path / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))
        return folder / f"{name}.png"

    return take


def _customer(product_id, wa_id, name, texts, minutes_ago, outbound_failed=False, agent=None):
    """A conversation as the webhook and a reply would leave it (messages over two days)."""
    contact = Contact(product_id=product_id, wa_id=wa_id, profile_name=name)
    db.session.add(contact)
    db.session.flush()
    now = utcnow()
    conversation = Conversation(product_id=product_id, phone_number_id=NUMBER, contact_id=contact.id,
                                last_inbound_at=now - timedelta(minutes=minutes_ago))
    db.session.add(conversation)
    db.session.flush()
    at = now - timedelta(days=1, minutes=minutes_ago)
    for i, (direction, text) in enumerate(texts):
        at = at + timedelta(hours=12) if i == 1 else at + timedelta(minutes=3)
        db.session.add(Message(product_id=product_id, conversation_id=conversation.id, phone_number_id=NUMBER,
                               contact_wa_id=wa_id, wamid=f"wamid.{uuid.uuid4().hex}", direction=direction, type="text",
                               text=text, created_at=at, sent_at=at,
                               status=("failed" if outbound_failed and i == len(texts) - 1 else "read") if direction == "out" else None,
                               error_title="Meta could not be reached. Try again shortly." if outbound_failed else None,
                               sent_by_user_id=agent if direction == "out" else None))
    conversation.last_message_at = at
    conversation.last_message_preview = texts[-1][1][:200]
    conversation.unread_count = 1 if texts[-1][0] == "in" else 0
    return conversation


@pytest.fixture
def live(tmp_path):
    app = create_app(_test_config("sqlite:///" + str(tmp_path / "layout.db"), FEED_POLL_SECONDS=1))
    with app.app_context():
        db.create_all()
        user = User(email="lucia.agent@example.com")
        user.set_password(PASSWORD)
        cardio, flex = Product(name="Cardio Plus"), Product(name="Flex 60")
        db.session.add_all([user, cardio, flex])
        db.session.flush()
        db.session.add_all([Membership(product_id=cardio.id, user_id=user.id, role="owner"),
                            Membership(product_id=flex.id, user_id=user.id, role="agent")])
        db.session.add(WhatsAppAccount(product_id=cardio.id, phone_number_id=NUMBER, business_account_id="102290129340398",
                                       access_token="EAAG-layout", phone_number="+1 555-010-1001",
                                       display_name="Cardio Plus Health", quality_rating="RED", meta_user_id="5100000000000001"))
        db.session.add(CannedReply(product_id=cardio.id, shortcut="hours", body="We are open 8:00-18:00, Monday to Saturday."))
        ana = _customer(cardio.id, "59170000001", "Ana Rojas", [
            ("in", "Hola, can I move my cardio check-up to Friday?"),
            ("out", "Yes, Friday at 10:00 works."),
            ("in", "Perfect, and do I need to fast before the blood test? It is early in the morning and I usually have breakfast at 7."),
        ], 4, agent=user.id)
        _customer(cardio.id, "59170000002", "Bruno Díaz", [("in", "Is parking free?"), ("out", "Yes, it is!")], 30,
                  outbound_failed=True, agent=user.id)
        _customer(cardio.id, "59170000003", None, [("in", "Do you take insurance from Seguros Andinos?")], 90)
        ana.assignee_user_id = user.id
        secret, digest = new_secret()
        db.session.add(Invitation(product_id=cardio.id, token_hash=digest, role="agent", email="new.agent@example.com",
                                  expires_at=utcnow() + timedelta(days=7)))
        colleague = User(email="colleague@example.com")
        colleague.set_password(PASSWORD)
        db.session.add(colleague)
        db.session.flush()
        colleague_membership = Membership(product_id=cardio.id, user_id=colleague.id, role="agent")
        db.session.add(colleague_membership)
        db.session.commit()
        ids = {"product": cardio.id, "flex": flex.id, "ana": ana.id, "invite": secret,
               "colleague": colleague_membership.id}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", ids
    finally:
        server.shutdown()
        thread.join(5)
        with app.app_context():
            db.engine.dispose()


def _login(context, base_url):
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", "lucia.agent@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")  # the top bar has the language switch
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def _assert_fits(page, what):
    """Nothing wider than the window, and Log out inside it."""
    width = page.evaluate("window.innerWidth")
    scroll = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert scroll <= width, f"{what}: the page is {scroll} px wide in a {width} px window"
    logout = page.locator(".logout button")
    if logout.count():
        box = logout.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{what}: Log out is off the bar ({box})"


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_no_page_scrolls_sideways(browser, live, shoot, device):
    app, base_url, ids = live
    context = browser.new_context(**(LAPTOP if device == "laptop" else PHONE))
    anonymous = context.new_page()
    for name, path in (("login", "/login"), ("forgot", "/password/forgot"), ("invitation", f"/invite?t={ids['invite']}")):
        assert anonymous.goto(f"{base_url}{path}").status == 200, name
        _assert_fits(anonymous, name)
        shoot(anonymous, f"layout-{device}-{name}")
    page = _login(context, base_url)
    p = f"{base_url}/p/{ids['product']}"
    pages = {
        "products": f"{base_url}/?all=1", "inbox": f"{p}/", "conversation": f"{p}/conversations/{ids['ana']}",
        "search": f"{p}/conversations?q=fast&status=all", "channels": f"{p}/channels", "team": f"{p}/members",
        "canned": f"{p}/canned-replies", "audit": f"{p}/audit", "feed": f"{p}/feed",
        "agent-product": f"{base_url}/p/{ids['flex']}/",
        "remove-member": f"{p}/members/{ids['colleague']}/remove",
    }
    for name, url in pages.items():
        response = page.goto(url)
        assert response.status == 200, (name, response.status)
        page.wait_for_load_state("networkidle")
        _assert_fits(page, name)
        shoot(page, f"layout-{device}-{name}")
    # The team page with a new invitation link (a long one) to copy.
    page.goto(f"{p}/members")
    width = (LAPTOP if device == "laptop" else PHONE)["viewport"]["width"]
    for remove in page.locator("table.members a.danger").all():  # on screen, not behind the table's scroll
        box = remove.bounding_box()
        assert box["x"] + box["width"] <= width, box
    page.fill("input[name=email]", "someone.with.a.long.address@example.com")
    page.locator("form:has(input[name=email]) button[type=submit]").click()
    page.wait_for_selector("#invite-link")
    _assert_fits(page, "team with an invitation link")
    shoot(page, f"layout-{device}-team-invited")
    context.close()


def test_phone_shows_one_pane_with_a_way_back_and_send_is_tappable(browser, live, shoot):
    app, base_url, ids = live
    context = browser.new_context(**PHONE)
    page = _login(context, base_url)
    page.goto(f"{base_url}/p/{ids['product']}/")
    assert page.locator(".pane-list").is_visible() and not page.locator(".pane-thread").is_visible()
    assert page.get_by_role("link", name="New conversation", exact=True).is_visible()  # templates start one
    page.locator(".conversation-row", has_text="Ana Rojas").tap()
    page.wait_for_url(f"**/conversations/{ids['ana']}")
    assert not page.locator(".pane-list").is_visible()
    # Send: on screen, not covered by anything, big enough for a thumb.
    send = page.locator("#reply-box button[type=submit]")
    box = send.bounding_box()
    assert box["y"] + box["height"] <= 844 and box["height"] >= 40, box
    covering = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('button')?.textContent",
                             [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert covering == "Send"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as meta:
        meta.add(responses.POST, f"{app.config['META_GRAPH_URL']}/v25.0/{NUMBER}/messages",
                 json={"messages": [{"id": "wamid.PHONE"}]})
        page.locator("#reply-box textarea").fill("See you on Friday!")
        send.tap()
        page.wait_for_selector(".msg-out:has-text('See you on Friday!')", timeout=10_000)
    shoot(page, "layout-phone-thread")
    # Details opens the contact panel over the thread, and the back arrow returns to the list.
    page.locator(".details-link").tap()
    assert page.locator("#contact-panel").is_visible()
    page.locator(".panel-close").tap()
    page.locator(".thread-head .back").tap()
    page.wait_for_url(f"**/p/{ids['product']}/conversations")
    assert page.locator(".pane-list").is_visible()
    context.close()


def test_enter_sends_shift_enter_adds_a_line_and_slash_inserts_a_canned_reply(browser, live):
    app, base_url, ids = live
    context = browser.new_context(**LAPTOP)
    page = _login(context, base_url)
    page.goto(f"{base_url}/p/{ids['product']}/conversations/{ids['ana']}")
    box = page.locator("#reply-box textarea")
    box.click()
    page.keyboard.type("/ho")
    page.wait_for_selector(".canned-menu li[data-shortcut='hours']", state="visible")
    page.keyboard.press("Enter")  # picks the canned reply, does not send
    assert box.input_value() == "We are open 8:00-18:00, Monday to Saturday."
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Anything else?")
    assert box.input_value() == "We are open 8:00-18:00, Monday to Saturday.\nAnything else?"
    with responses.RequestsMock() as meta:
        meta.add(responses.POST, f"{app.config['META_GRAPH_URL']}/v25.0/{NUMBER}/messages",
                 json={"messages": [{"id": "wamid.ENTER"}]})
        page.keyboard.press("Enter")
        page.wait_for_selector(".msg-out:has-text('Anything else?')", timeout=10_000)
        assert json.loads(meta.calls[0].request.body)["text"]["body"] == (
            "We are open 8:00-18:00, Monday to Saturday.\nAnything else?")
    assert page.locator(".msg-out:has-text('Anything else?') .msg-sender").inner_text() == "lucia.agent"
    context.close()


def _new_customer_writes(app, product_id, wa_id, name, text):
    with app.app_context():
        _customer(product_id, wa_id, name, [("in", text)], 0)
        db.session.commit()


def _wait_until(condition, seconds=10):
    # (Playwright's wait_for_function evaluates a string: the portal's CSP rightly refuses that.)
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_unread_count_leads_the_title_and_follows_new_messages(browser, live):
    from playwright.sync_api import expect

    app, base_url, ids = live
    context = browser.new_context(**LAPTOP)
    page = _login(context, base_url)
    page.goto(f"{base_url}/p/{ids['product']}/conversations")
    assert page.title() == "(2) Cardio Plus"  # Ana and the unnamed customer have unread messages
    assert page.locator("#nav-unread").inner_text() == "2"
    _new_customer_writes(app, ids["product"], "59170000009", "Carla Vega", "Hello?")
    expect(page).to_have_title("(3) Cardio Plus", timeout=10_000)
    assert page.locator("#nav-unread").inner_text() == "3"
    context.close()


NOTIFICATION_STUB = """
window.__notifications = [];
window.__permissionAsked = 0;
class StubNotification {
  constructor(title, options) { window.__notifications.push({title, body: options && options.body}); }
  static requestPermission() {
    window.__permissionAsked += 1;
    StubNotification.permission = "granted";
    sessionStorage.setItem("stub-permission", "granted");  // a browser remembers the answer
    return Promise.resolve("granted");
  }
}
StubNotification.permission = sessionStorage.getItem("stub-permission") || "default";
window.Notification = StubNotification;
"""


def test_notifications_are_asked_for_on_a_click_then_shown_for_a_new_conversation(browser, live, shoot):
    app, base_url, ids = live
    context = browser.new_context(**LAPTOP)
    context.add_init_script(NOTIFICATION_STUB)  # the browser's own prompt cannot be clicked headless
    page = _login(context, base_url)
    page.goto(f"{base_url}/p/{ids['product']}/conversations")
    button = page.locator("[data-notify='enable']")
    assert button.is_visible() and button.inner_text() == "Turn on notifications"
    assert page.evaluate("window.__permissionAsked") == 0  # never asked without a click
    button.click()
    page.wait_for_selector("[data-notify='state']:has-text('Notifications on')")
    assert page.evaluate("window.__permissionAsked") == 1
    shoot(page, "layout-laptop-notifications-on")
    _new_customer_writes(app, ids["product"], "59170000010", "Diego Mamani", "Is the clinic open on Sunday?")
    _wait_until(lambda: page.evaluate("window.__notifications.length") > 0)
    assert page.evaluate("window.__notifications") == [
        {"title": "New conversation: Diego Mamani", "body": "Is the clinic open on Sunday?"}]
    page.reload()  # the choice is remembered
    page.wait_for_selector("[data-notify='state']:has-text('Notifications on')")
    context.close()
