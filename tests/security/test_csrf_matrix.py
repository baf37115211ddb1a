"""Every state-changing route refuses a request without a CSRF token, and changes nothing."""
import uuid

import pytest

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent, Membership
from tests.conftest import _test_config

# Called by Meta, authenticated by its signatures instead of a session; and the product API,
# authenticated by its Bearer keys (a browser's cookies are no key there).
MACHINE_ROUTES = {"/webhook", "/meta/deauthorize", "/meta/data-deletion", "/api/v1/messages"}


def _state_changing_routes():
    app = create_app(_test_config("sqlite://"))
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            if rule.rule not in MACHINE_ROUTES:
                yield rule.rule, method


ROUTES = sorted(set(_state_changing_routes()))


def _fill(rule, product_id):
    url = rule.replace("<uuid:product_id>", str(product_id))
    while "<" in url:
        start, end = url.index("<"), url.index(">")
        url = url[:start] + str(uuid.uuid4()) + url[end + 1:]
    return url


@pytest.mark.parametrize(("rule", "method"), ROUTES)
def test_post_without_csrf_token_is_refused(client, auth, make_product, rule, method):
    product = make_product()
    auth.as_member(product, role="owner")
    before = db.session.query(AuditEvent).count(), db.session.query(Membership).count()
    response = client.open(_fill(rule, product.id), method=method, data={"anything": "x"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert (db.session.query(AuditEvent).count(), db.session.query(Membership).count()) == before


@pytest.mark.parametrize("path", sorted(MACHINE_ROUTES))
def test_machine_routes_are_the_only_exemptions(path):
    """The exempt routes exist and, with no signature, refuse the request instead."""
    app = create_app(_test_config("sqlite://"))
    assert path in {r.rule for r in app.url_map.iter_rules()}
    with app.test_client() as client:
        response = client.post(path, data=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 401, 403)
