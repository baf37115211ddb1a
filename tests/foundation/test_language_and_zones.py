"""Which language and time zone a page is shown in, and how times are shown in it."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from flask import g
from flask_babel import force_locale, refresh
from sqlalchemy import select

from portal.extensions import db
from portal.i18n import formatting
from portal.models import AuditEvent, Membership, Product, User


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- language ----------------------------------------------------------------------------------

def test_the_browser_language_picks_spanish_and_english_stays_the_default(client):
    assert '<html lang="es"' in _html(client.get("/login", headers={"Accept-Language": "es-BO,es;q=0.9,en;q=0.5"}))
    assert '<html lang="en"' in _html(client.get("/login", headers={"Accept-Language": "de-DE,fr;q=0.8"}))
    assert '<html lang="en"' in _html(client.get("/login"))


def test_one_click_switches_the_language_before_and_after_logging_in(client, auth, make_product):
    page = _html(client.get("/login"))
    assert 'name="language" value="es"' in page and ">Español</button>" in page
    token = auth.csrf_token()
    response = client.post("/language", data={"language": "es", "next": "/login?x=1", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/login?x=1"
    assert '<html lang="es"' in _html(client.get("/login"))

    product = make_product()
    user = auth.as_member(product, role="owner")
    page = _html(client.get(f"/p/{product.id}/members"))
    assert '<html lang="es"' in page and "Cerrar sesión" in page and ">English</button>" in page
    client.post("/language", data={"language": "en", "csrf_token": auth.csrf_token()})
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "en"  # the user's setting: it follows them to any browser
    assert "Log out" in _html(client.get(f"/p/{product.id}/members", headers={"Accept-Language": "es"}))


def test_the_switch_refuses_an_unknown_language_and_an_outside_next(client, auth):
    token = auth.csrf_token()
    assert client.post("/language", data={"language": "xx", "csrf_token": token}).status_code == 400
    response = client.post("/language", data={"language": "es", "next": "//evil.test/", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_preferences_save_a_language_and_a_zone_and_refuse_an_unknown_zone(client, auth, make_product):
    user = auth.as_member(make_product())
    token = auth.csrf_token()
    bad = client.post("/account/preferences", data={"language": "es", "timezone": "Mars/Olympus", "csrf_token": token})
    assert bad.status_code == 400 and "America/La_Paz" in _html(bad)
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone is None
    ok = client.post("/account/preferences", data={"language": "es", "timezone": "America/La_Paz", "csrf_token": token},
                     follow_redirects=True)
    assert ok.status_code == 200 and "Tus preferencias se guardaron." in _html(ok)
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.language, saved.timezone) == ("es", "America/La_Paz")


def test_a_manager_sets_the_products_zone_and_an_agent_cannot(client, auth, make_product):
    product = make_product()
    auth.as_member(product, role="agent")
    assert client.get(f"/p/{product.id}/settings").status_code == 403
    assert "/settings" not in _html(client.get(f"/p/{product.id}/members"))  # not offered in the agent's menu
    auth.logout()
    owner = auth.as_member(product, role="admin")
    token = auth.csrf_token()
    response = client.post(f"/p/{product.id}/settings",
                           data={"name": "Cardio Plus", "timezone": "America/La_Paz", "csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Product, product.id).timezone == "America/La_Paz"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "product.settings_changed")
                               .execution_options(all_products=True)).scalar_one()
    assert event.user_id == owner.id and event.detail == {"timezone": "America/La_Paz"}
    assert client.post(f"/p/{product.id}/settings", data={"name": "X", "timezone": "Nowhere/Town", "csrf_token": token}
                       ).status_code == 400


def test_products_create_takes_a_zone_and_refuses_an_unknown_one(app, runner, make_user):
    user = make_user("owner@example.com")
    result = runner.invoke(args=["products", "create", "Cardio Plus", "--owner", user.email, "--timezone", "America/La_Paz"])
    assert result.exit_code == 0, result.output
    assert db.session.execute(select(Product.timezone)).scalar_one() == "America/La_Paz"
    bad = runner.invoke(args=["products", "create", "Flex", "--owner", user.email, "--timezone", "La Paz"])
    assert bad.exit_code != 0 and "Unknown time zone" in bad.output


# --- time zones --------------------------------------------------------------------------------

@pytest.fixture
def viewing(app):
    """Format as a viewer of a product in `zone`, in `language` (a request of their own)."""
    def view(zone: str, language: str = "en"):
        context = app.test_request_context(headers={"Accept-Language": language})
        context.push()
        g.product = Product(name="P", timezone=zone)
        refresh()
        return context
    return view


def test_a_message_at_13_utc_shows_at_09_for_a_la_paz_team(viewing):
    context = viewing("America/La_Paz")
    try:
        at = datetime(2026, 11, 30, 13, 0)
        assert formatting.clock(at) == "09:00"
        assert formatting.stamp(at) == "2026-11-30 09:00 (GMT-4)"
        assert formatting.iso_utc(at) == "2026-11-30T13:00:00Z"  # the machine-readable moment stays UTC
    finally:
        context.pop()


def test_local_days_decide_today_and_the_thread_separators(viewing, monkeypatch):
    # 02:00 UTC on 30 Nov is still 29 Nov, 22:00 in La Paz: "today" ends at local midnight, not 20:00.
    monkeypatch.setattr(formatting, "today", lambda: date(2026, 11, 30))
    context = viewing("America/La_Paz", "es")
    try:
        assert formatting.day_of(datetime(2026, 11, 30, 2, 0)) == date(2026, 11, 29)
        assert formatting.day_label(date(2026, 11, 30)) == "Hoy"
        assert formatting.day_label(date(2026, 11, 29)) == "Ayer"
        assert formatting.day_label(date(2026, 11, 20)) == "vie, 20 nov"
        assert formatting.moment(datetime(2026, 11, 20, 13, 0)) == "20 nov 09:00"
    finally:
        context.pop()
    context = viewing("America/La_Paz", "en")
    try:
        assert formatting.day_label(date(2026, 11, 29)) == "Yesterday"
        assert formatting.day_label(date(2025, 11, 20)) == "Thu, Nov 20, 2025"
    finally:
        context.pop()


def test_a_zone_with_summer_time_around_its_change(viewing):
    # New York springs forward on 8 March 2026 at 02:00 local (07:00 UTC): 06:59 UTC is 01:59 EST, 07:00 is 03:00 EDT.
    context = viewing("America/New_York")
    try:
        assert formatting.clock(datetime(2026, 3, 8, 6, 59)) == "01:59"
        assert formatting.clock(datetime(2026, 3, 8, 7, 0)) == "03:00"
        assert formatting.stamp(datetime(2026, 3, 8, 7, 0)) == "2026-03-08 03:00 (GMT-4)"
        assert formatting.stamp(datetime(2026, 3, 8, 6, 0)) == "2026-03-08 01:00 (GMT-5)"
    finally:
        context.pop()


def test_the_users_own_zone_wins_over_the_products(app, client, auth, make_product):
    product = make_product()
    product.timezone = "America/La_Paz"
    db.session.commit()
    user = auth.as_member(product)
    with app.test_request_context():
        from flask_login import login_user

        from portal.i18n.selection import select_timezone

        g.product = db.session.get(Product, product.id)
        login_user(db.session.get(User, user.id))
        assert select_timezone() == "America/La_Paz"
        db.session.get(User, user.id).timezone = "Europe/Madrid"
        assert select_timezone() == "Europe/Madrid"
    with force_locale("es"):
        pass


def test_the_demo_has_la_paz_teams_and_a_spanish_speaking_agent(app, client, auth):
    from portal.demo import DEMO_PASSWORD, seed

    seed()
    logins = seed()  # idempotent
    assert ("Cardio Plus (agente, español)", "agente@demo.maestra") in logins
    products = db.session.execute(select(Product.name, Product.timezone)).all()
    assert sorted(products) == [("Cardio Plus", "America/La_Paz"), ("Flex 60", "America/La_Paz")]
    agent = db.session.execute(User.by_email("agente@demo.maestra")).scalar_one()
    membership = db.session.execute(select(Membership).where(Membership.user_id == agent.id)
                                    .execution_options(all_products=True)).scalar_one()
    assert (agent.language, membership.role) == ("es", "agent")
    auth.login(agent, password=DEMO_PASSWORD)
    page = _html(client.get(f"/p/{membership.product_id}/members", headers={"Accept-Language": "en-US"}))
    assert '<html lang="es"' in page and "Cerrar sesión" in page


def test_preferences_are_for_someone_logged_in(client):
    response = client.get("/account/preferences")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
