"""In a real browser: the demo's Spanish-speaking agent of a La Paz team works the portal in
Spanish with local times, on a laptop (1366 px) and on a phone (390 px): no English is left on
any page they open, the customer's message shows at La Paz time, and the customer's phone (the
sandbox) speaks Spanish to a Spanish browser. The owner's pages stay English."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.demo import DEMO_PASSWORD, seed
from portal.extensions import db
from portal.models import Message
from tests.e2e.test_demo_flow import ANA, CARDIO_PHONE, TIMEOUT, _connect, _customer_writes, _login, _product_id, \
    _require_features
from tests.english_left import english_left

pytestmark = pytest.mark.browser

LAPTOP = {"viewport": {"width": 1366, "height": 860}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_spanish_agent_in_la_paz_works_in_spanish_with_local_times(live, browser, shots, tmp_path):
    from playwright.sync_api import expect

    _require_features(live.app)
    seed()
    cardio_id = _product_id("Cardio Plus")
    base = f"{live.portal_url}/p/{cardio_id}"
    owner = browser.new_context(locale="en-US", **LAPTOP).new_page()
    customer = browser.new_context(locale="es-BO", **LAPTOP).new_page()
    server_errors = []
    for page in (owner, customer):
        page.on("response", lambda r: r.status >= 500 and server_errors.append(f"{r.status} {r.request.method} {r.url}"))
    _login(owner, live.portal_url, "cardio@demo.maestra")
    _connect(owner, f"{base}/channels", "Cardio Plus Health")
    text = "Hola, ¿puedo cambiar mi cita al viernes?"
    customer.goto(f"{live.sandbox_url}/phone?number={CARDIO_PHONE}&customer={ANA}")
    assert english_left(customer.content()) == [], "the sandbox's phone in a Spanish browser"
    customer.fill("input[name=text]", text)
    customer.locator("form", has=customer.locator("input[name=text]")).locator("button[type=submit]").first.click()
    owner.goto(f"{base}/")
    expect(owner.get_by_text(text).first).to_be_visible(timeout=TIMEOUT)
    assert owner.locator("html").get_attribute("lang") == "en" and owner.get_by_text("Log out").count() == 1

    stored = db.session.execute(select(Message.created_at).where(Message.text == text)
                                .execution_options(all_products=True)).scalar_one()
    db.session.remove()
    la_paz = stored.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("America/La_Paz")).strftime("%H:%M")

    for size, options in (("laptop", LAPTOP), ("phone", PHONE)):
        agent = browser.new_context(locale="en-US", **options).new_page()  # an English browser: the user's setting wins
        agent.on("response", lambda r: r.status >= 500 and server_errors.append(f"{r.status} {r.request.method} {r.url}"))
        agent.goto(f"{live.portal_url}/login")
        agent.fill("input[name=email]", "agente@demo.maestra")
        agent.fill("input[name=password]", DEMO_PASSWORD)
        agent.locator("main form button[type=submit]").first.click()
        agent.wait_for_url(lambda url: "/login" not in url, timeout=TIMEOUT)
        agent.goto(f"{base}/")
        assert agent.locator("html").get_attribute("lang") == "es"
        row = agent.locator(".conversation-row", has_text="Ana").first
        expect(row).to_be_visible(timeout=TIMEOUT)
        expect(row.locator("time")).to_have_text(la_paz)
        pages = {"inbox": f"{base}/", "channels": f"{base}/channels", "templates": f"{base}/templates",
                 "team": f"{base}/members", "canned": f"{base}/canned-replies",
                 "preferences": f"{live.portal_url}/account/preferences"}
        row.click()
        expect(agent.locator("article", has_text=text).first).to_be_visible(timeout=TIMEOUT)
        expect(agent.locator(".day-sep").last).to_have_text("Hoy")
        expect(agent.locator("article", has_text=text).first.locator("time")).to_have_text(la_paz)
        assert english_left(agent.content()) == [], f"conversation ({size})"
        assert _no_sideways_scroll(agent), f"conversation ({size}) scrolls sideways"
        shots(agent, f"es-{size}-conversation")
        for name, url in pages.items():
            response = agent.goto(url)
            assert response.status == 200, (name, response.status)
            assert english_left(agent.content()) == [], f"{name} ({size})"
            assert _no_sideways_scroll(agent), f"{name} ({size}) scrolls sideways"
            agent.screenshot(path=str(tmp_path / f"es-{size}-{name}.png"), full_page=True)  # to look at
        agent.context.close()
    assert server_errors == []
