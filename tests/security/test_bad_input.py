"""Hostile query strings and form fields on every product route, as its owner: never a 500.

Generated from app.url_map like the other matrices, with real object ids of the
product (so views get past their 404s and have to handle the garbage).
"""
import pytest

from portal.extensions import db
from portal.models import Membership
from tests.foundation.test_route_matrix import PRODUCT_ROUTES
from tests.security.test_object_matrix import ROUTES as OBJECT_ROUTES
from tests.security.test_object_matrix import _objects_of, fill_rule

GARBAGE = {
    "after": "\x00'; DROP TABLE messages;--", "before": "9" * 400, "number": "<script>alert(1)</script>",
    "cursor": "%%%", "page": "-1", "body": "x" * 5000, "role": "emperor", "email": "not an email",
    "reply_to": "not-a-uuid", "text": "\u202e\u0000", "status": "read", "q": "💥" * 100,
}

ALL_ROUTES = sorted({(rule, method) for rule, method in PRODUCT_ROUTES} | {(r, m) for r, m, _ in OBJECT_ROUTES})


@pytest.mark.parametrize(("rule", "method"), ALL_ROUTES)
def test_garbage_never_gets_a_server_error(client, auth, make_product, rule, method):
    product = make_product("Cardio Plus")
    owner = db.session.query(Membership).filter_by(product_id=product.id).one()
    objects = _objects_of(product, owner)
    auth.login(owner.user)
    token = auth.csrf_token()
    url = fill_rule(rule, product.id, objects)
    for headers in ({"X-CSRFToken": token}, {"X-CSRFToken": token, "HX-Request": "true"}):
        if method == "GET":
            response = client.get(url, query_string=GARBAGE, headers=headers)
        else:
            response = client.open(url, method=method, data={**GARBAGE, "csrf_token": token}, headers=headers)
        # 502 is the honest answer where the view needs Meta, which is unreachable in tests.
        assert response.status_code < 500 or response.status_code == 502, (url, method, response.status_code)


# Cursors that match the cursor's shape but lie past any date (issue 19: a 500 from OverflowError).
OUT_OF_RANGE = {**GARBAGE, "after": "9" * 18, "before": "9" * 18}


@pytest.mark.parametrize("rule", sorted({rule for rule, method in ALL_ROUTES if method == "GET"}))
def test_out_of_range_cursors_are_a_client_error(client, auth, make_product, rule):
    product = make_product("Cardio Plus")
    owner = db.session.query(Membership).filter_by(product_id=product.id).one()
    objects = _objects_of(product, owner)
    auth.login(owner.user)
    url = fill_rule(rule, product.id, objects)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(url, query_string=OUT_OF_RANGE, headers=headers)
        assert response.status_code < 500 or response.status_code == 502, (url, response.status_code)
