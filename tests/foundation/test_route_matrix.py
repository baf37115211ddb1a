"""Every product route, every method: non-members get 404, logged-out users go to login.

The list is generated from app.url_map, so a new product route is covered
without anyone editing this test.
"""
import uuid

import pytest

from portal import create_app
from portal.tenancy import PRODUCT_URL_PREFIX
from tests.conftest import _test_config

PREFIX = PRODUCT_URL_PREFIX.replace("<uuid:product_id>", "<product_id>")


def _product_routes():
    app = create_app(_test_config("sqlite://"))
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/p/<uuid:product_id>"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.rule, method


PRODUCT_ROUTES = sorted(set(_product_routes()))


def _url(rule: str, product_id) -> str:
    """Fill product_id and any other converter with a plausible value."""
    url = rule.replace("<uuid:product_id>", str(product_id))
    parts = []
    for segment in url.split("/"):
        if segment.startswith("<") and segment.endswith(">"):
            converter = segment[1:-1].split(":")[0] if ":" in segment else "string"
            segment = str(uuid.uuid4()) if converter == "uuid" else "1" if converter == "int" else "x"
        parts.append(segment)
    return "/".join(parts)


def test_matrix_is_not_empty():
    assert len(PRODUCT_ROUTES) >= 5


@pytest.mark.parametrize(("rule", "method"), PRODUCT_ROUTES)
def test_non_member_gets_404(client, auth, make_product, rule, method):
    product = make_product("Cardio Plus")
    other = make_product("Flex 60")
    auth.as_member(other, role="owner")
    token = auth.csrf_token()
    response = client.open(_url(rule, product.id), method=method, data={"csrf_token": token},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 404


@pytest.mark.parametrize(("rule", "method"), PRODUCT_ROUTES)
def test_unknown_product_gets_404(client, auth, make_product, rule, method):
    auth.as_member(make_product("Flex 60"), role="owner")
    token = auth.csrf_token()
    response = client.open(_url(rule, uuid.uuid4()), method=method, data={"csrf_token": token},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 404


@pytest.mark.parametrize(("rule", "method"), [r for r in PRODUCT_ROUTES if r[1] == "GET"])
def test_logged_out_user_is_sent_to_login(client, make_product, rule, method):
    product = make_product()
    response = client.open(_url(rule, product.id), method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(("rule", "method"), [r for r in PRODUCT_ROUTES if r[1] != "GET"])
def test_logged_out_post_is_refused(client, make_product, rule, method):
    """State-changing requests from a logged-out browser carry no valid CSRF token: refused, nothing done."""
    product = make_product()
    response = client.open(_url(rule, product.id), method=method)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
