"""Logging in and out: next kept on-site, fresh session, rate limit, CSRF, cookie flags."""
import re

import pytest

from tests.conftest import PASSWORD, _csrf_from


def _login_token(client):
    return _csrf_from(client.get("/login").get_data(as_text=True))


def test_login_email_is_case_insensitive(client, make_user, make_product):
    user = make_user("Ana@Example.com")
    make_product("Cardio Plus", user)
    response = client.post("/login", data={"email": "ana@EXAMPLE.com", "password": PASSWORD, "csrf_token": _login_token(client)})
    assert response.status_code == 302
    assert "Cardio Plus" in client.get("/", follow_redirects=True).get_data(as_text=True)


def test_wrong_password_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "nope", "csrf_token": _login_token(client)})
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/p/abc/members", "/p/abc/members"),
    ("https://evil.example/", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_stays_on_site(client, make_user, target, expected):
    user = make_user()
    token = _login_token(client)
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still logged out


def test_login_starts_a_fresh_session(client, make_user):
    user = make_user()
    token = _login_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("sid")


def test_logout_clears_the_session(client, auth, make_user):
    user = make_user()
    auth.login(user)
    response = auth.logout()
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert client.get("/").status_code == 302


def test_logout_needs_post_with_csrf(client, auth, make_user):
    auth.login(make_user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/", follow_redirects=True).status_code == 200  # still logged in


def test_login_attempts_are_rate_limited(client, make_user, app):
    user = make_user()
    token = _login_token(client)
    codes = [client.post("/login", data={"email": user.email, "password": "bad", "csrf_token": token}).status_code
             for _ in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]


def test_security_headers_on_every_response(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_flags(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": _login_token(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and re.search(r"SameSite=Lax", cookie)
    assert "Secure" not in cookie  # test mode; production sets Secure (see test_config)


def test_htmx_requests_send_csrf_in_header(client, auth, make_user):
    auth.login(make_user())
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'>', page)


def test_error_pages_by_kind_of_request(client, auth, make_user):
    assert "<html" in client.get("/nope").get_data(as_text=True)
    auth.login(make_user())
    fragment = client.get("/nope", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "Not Found" in fragment
    machine = client.get("/nope", headers={"Accept": "application/json"})
    assert machine.status_code == 404 and machine.get_json()["error"]["code"] == 404
