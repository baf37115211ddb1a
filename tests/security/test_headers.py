"""Response headers on pages, fragments and machine routes; cookie flags in production."""
import pytest
from cryptography.fernet import Fernet

from portal import create_app
from portal.extensions import db
from portal.models import User
from tests.conftest import PASSWORD, _csrf_from


@pytest.mark.parametrize("path", ["/login", "/healthz", "/nope", "/static/app.css"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_production_cookies_are_secure_httponly_lax(tmp_path):
    app = create_app({
        "PORTAL_ENV": "production", "SECRET_KEY": "x" * 32, "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "META_APP_ID": "123456789012345", "META_APP_SECRET": "prod-secret", "META_VERIFY_TOKEN": "verify",
        "DATABASE_URL": "sqlite:///" + str(tmp_path / "prod.db"),
    })
    with app.app_context():
        db.create_all()
        user = User(email="p@example.com")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        client = app.test_client()
        token = _csrf_from(client.get("/login", base_url="https://portal.example").get_data(as_text=True))
        response = client.post("/login", base_url="https://portal.example",
                               headers={"Referer": "https://portal.example/login"},
                               data={"email": "p@example.com", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
        db.session.remove()
        db.engine.dispose()
