"""Issue 19 ("Hardening, round 2"): what an attacker and a newcomer got through, each fixed here.

Items 2 (roles) are in tests/foundation/test_members.py, 4 (the demo's log) in
tests/sandbox/test_demo_output.py, 6, 10 and 12 in tests/inbox/test_hardening.py, 14-16 in
tests/sandbox/test_demo_ports_and_controls.py.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from portal import ConfigError, create_app
from portal.extensions import db
from portal.models import Membership, User
from portal.observability import RedactingFormatter
from tests.conftest import PASSWORD, _csrf_from
from tests.foundation.test_config import PRODUCTION
from tests.foundation.test_route_matrix import PRODUCT_ROUTES
from tests.security.test_object_matrix import _objects_of, fill_rule

ROOT = Path(__file__).resolve().parents[2]


def _login(client, email, password=PASSWORD, **headers):
    token = _csrf_from(client.get("/login", headers=headers).get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token}, headers=headers)


# --- 1: the login limit behind a proxy -------------------------------------------------------

def _proxied_app(app_config, **extra):
    """The portal behind one trusted proxy (the test's app stays the one holding the data)."""
    return create_app({**app_config, "TRUSTED_PROXY_HOPS": 1, **extra})


def test_behind_trusted_proxies_each_client_is_limited_alone(app_config, make_user):
    guesser, colleague = make_user(), make_user()
    proxied = _proxied_app(app_config)
    client = proxied.test_client()
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    guesser_email, colleague_email = guesser.email, colleague.email
    codes = [_login(client, f"nobody-{n}@example.com", "bad", **attacker).status_code for n in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    # Same load balancer (same peer address), another client: not locked out by the attacker.
    assert _login(proxied.test_client(), colleague_email, **{"X-Forwarded-For": "198.51.100.20"}).status_code == 302
    # A client cannot pick its own address: with one trusted hop only the proxy's entry counts.
    spoofed = {"X-Forwarded-For": "192.0.2.99, 203.0.113.7"}
    assert _login(client, guesser_email, "bad", **spoofed).status_code == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, make_user):
    user = make_user()
    codes = [_login(client, f"n{n}@example.com", "bad", **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code
             for n in range(11)]
    assert codes[10] == 429  # rotating the header does not escape the limit of the real peer
    assert _login(client, user.email, **{"X-Forwarded-For": "192.0.2.200"}).status_code == 429


def test_failed_logins_are_also_limited_per_account_from_any_address(app_config, make_user):
    victim, other = make_user(), make_user()
    client = _proxied_app(app_config).test_client()
    codes = [_login(client, victim.email, "bad", **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code
             for n in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    assert _login(client, victim.email.upper(), PASSWORD, **{"X-Forwarded-For": "192.0.2.50"}).status_code == 429
    assert _login(client, other.email, PASSWORD, **{"X-Forwarded-For": "192.0.2.51"}).status_code == 302


def test_trusted_proxy_hops_must_be_a_small_number(app_config):
    for bad in ("many", "-1", "11"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
            create_app({**app_config, "TRUSTED_PROXY_HOPS": bad})


# --- 3: login timing does not tell who has an account ------------------------------------------

def test_an_unknown_email_costs_a_password_check_too(client, make_user, monkeypatch):
    from portal.models import users

    checked = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda hashed, pw: checked.append(hashed) or real(hashed, pw))
    make_user("known@example.com")
    assert _login(client, "unknown@example.com", "guess").status_code == 401
    assert _login(client, "known@example.com", "guess").status_code == 401
    assert len(checked) == 2
    dummy, real_hash = checked
    # The same algorithm and cost as a real account's hash: the same time.
    assert dummy.rsplit("$", 2)[0] == real_hash.rsplit("$", 2)[0]


# --- 5: sessions end at logout, password change, removal; short sliding lifetime -----------------

def _copy_cookie(client):
    return client.get_cookie("session").value


def _with_cookie(app, value):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def _logged_in(client) -> bool:
    return client.get("/", follow_redirects=True).request.path != "/login"


def test_logout_ends_every_copy_of_the_session(app, client, auth, make_user, make_product):
    user = make_user()
    make_product(owner=user)
    auth.login(user)
    stolen = _copy_cookie(client)
    assert _logged_in(_with_cookie(app, stolen))
    auth.logout()
    assert not _logged_in(_with_cookie(app, stolen))


def test_a_password_change_ends_other_sessions(app, client, auth, make_user, make_product):
    user = make_user()
    make_product(owner=user)
    auth.login(user)
    other_browser = _with_cookie(app, _copy_cookie(client))
    user.set_password("a whole new password")
    db.session.commit()
    assert not _logged_in(other_browser)
    assert not _logged_in(client)
    auth.login(user, password="a whole new password")
    assert _logged_in(client)


def test_removal_from_the_last_product_ends_the_session(app, client, auth, make_user, make_product):
    owner = make_user()
    product, other_product = make_product("Cardio Plus", owner=owner), make_product("Flex 60")
    leaver = make_user()
    for p in (product, other_product):
        db.session.add(Membership(product_id=p.id, user_id=leaver.id, role="agent"))
    db.session.commit()
    leaver_client = app.test_client()
    auth.login(leaver, client=leaver_client)
    auth.login(owner)

    def remove(p):
        membership = db.session.execute(select(Membership).where(
            Membership.product_id == p.id, Membership.user_id == leaver.id)).scalar_one()
        if p is product:
            client.post(f"/p/{p.id}/members/{membership.id}/remove", data={"csrf_token": auth.csrf_token()})
        else:
            db.session.add(Membership(product_id=p.id, user_id=owner.id, role="owner"))
            db.session.commit()
            client.post(f"/p/{p.id}/members/{membership.id}/remove", data={"csrf_token": auth.csrf_token()})

    remove(product)
    assert _logged_in(leaver_client)  # still a member of Flex 60
    remove(other_product)
    assert not _logged_in(leaver_client)
    assert _logged_in(client)


def test_sessions_last_the_configured_hours_and_slide(app_config, make_user):
    user = make_user()
    app = create_app({**app_config, "SESSION_LIFETIME_HOURS": "8"})
    client = app.test_client()
    response = _login(client, user.email)
    assert response.status_code == 302
    expires = parsedate_to_datetime(_set_cookie(response, "session")["expires"])
    now = datetime.now(timezone.utc)
    assert timedelta(hours=7, minutes=55) < expires - now <= timedelta(hours=8, minutes=1)
    # Each request renews it (sliding): a working agent is not logged out, an idle one is.
    again = client.get("/")
    assert "session" in _set_cookie_names(again)
    assert app.permanent_session_lifetime == timedelta(hours=8)


def test_the_default_lifetime_is_short(app):
    assert app.permanent_session_lifetime == timedelta(hours=12)


def _set_cookie_names(response):
    return {header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie")}


def _set_cookie(response, name):
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return {k.strip().lower(): v for k, _, v in (part.partition("=") for part in header.split(";")[1:])}
    raise AssertionError(f"no {name} cookie set")


def test_a_cookie_from_before_session_versions_is_refused(app, client, auth, make_user):
    """A cookie whose user id carries no session version (signed before migration 0019) logs in nobody."""
    user = make_user()
    auth.login(user)
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
    assert not _logged_in(client)


# --- 7: the 500 page names itself --------------------------------------------------------------

def test_the_500_page_title_is_words(app, client):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    page = client.get("/boom-for-test")
    html = page.get_data(as_text=True)
    assert page.status_code == 500
    assert "Internal Server Error" in html and "property object" not in html
    assert client.get("/boom-for-test", headers={"Accept": "application/json"}).get_json()["error"]["title"] \
        == "Internal Server Error"


# --- 8: published placeholder secrets and short keys are refused in production ------------------

def _example_values() -> dict:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and value:
            values[key] = value
    return values


@pytest.mark.parametrize("key", ["SECRET_KEY", "META_VERIFY_TOKEN"])
def test_the_env_example_values_are_refused(key):
    value = _example_values()[key]
    with pytest.raises(ConfigError, match=key) as refused:
        create_app({**PRODUCTION, key: value})
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("key, value", [("META_APP_SECRET", "demo-app-secret-not-for-production"),
                                        ("META_VERIFY_TOKEN", "demo-verify-token")])
def test_the_demo_values_are_refused(key, value):
    with pytest.raises(ConfigError, match=key):
        create_app({**PRODUCTION, key: value})


def test_a_short_secret_key_is_refused():
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32 bytes"):
        create_app({**PRODUCTION, "SECRET_KEY": "x" * 31})
    assert create_app({**PRODUCTION, "SECRET_KEY": "x" * 32})


# --- 9: nothing logged-in is kept by a browser or a proxy ---------------------------------------

GET_ROUTES = [rule for rule, method in PRODUCT_ROUTES if method == "GET"]


@pytest.mark.parametrize("rule", GET_ROUTES)
def test_every_logged_in_page_and_fragment_is_no_store(client, auth, make_product, rule):
    product = make_product("Cardio Plus")
    owner = db.session.query(Membership).filter_by(product_id=product.id).one()
    objects = _objects_of(product, owner)
    auth.login(owner.user)
    url = fill_rule(rule, product.id, objects)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(url, headers=headers)
        assert "no-store" in response.headers.get("Cache-Control", ""), (url, headers, response.status_code)
    assert "no-store" in client.get("/", follow_redirects=True).headers["Cache-Control"]


def test_public_pages_may_be_cached_as_before(client):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


# --- 11: no forged log lines ------------------------------------------------------------------

def test_an_encoded_line_feed_in_the_path_stays_on_its_line(client, caplog):
    caplog.set_level(logging.INFO, logger="maestra.access")
    client.get("/login%0a2026-01-01 00:00:00,000 INFO maestra.access: GET /admin 200%0d%e2%80%a8x%1b[31m")
    records = [r for r in caplog.records if r.name == "maestra.access" and "/admin" in r.getMessage()]
    assert records, "the request was not logged"
    line = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(records[0])
    assert "\n" not in line and "\r" not in line and "\u2028" not in line and "\x1b" not in line
    assert "/login\\x0a2026-01-01" in line


def test_the_portals_own_text_handler_escapes_too(app):
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_maestra", False))
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "user said %s", ("hi\nFAKE line",), None)
    assert "\n" not in handler.formatter.format(record)


# --- 13: the flask CLI says a missing setting in one line -----------------------------------------

def test_flask_cli_without_settings_prints_one_line(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "PORTAL_ENV": "production", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "products", "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["maestra: cannot start: missing required setting(s): SECRET_KEY, TOKEN_ENCRYPTION_KEYS, "
                     "META_APP_ID, META_APP_SECRET, META_VERIFY_TOKEN (see .env.example)"]


# --- 17: a favicon --------------------------------------------------------------------------

def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)
