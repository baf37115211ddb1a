"""The tenancy mechanism: automatic product filter on queries and on new rows."""
import pytest
from flask import g
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import AuditEvent, Contact, Membership
from portal.tenancy import TenantScopeError, enter_product, get_or_404, leave_product
from werkzeug.exceptions import NotFound


def _contacts(product, *wa_ids):
    for wa_id in wa_ids:
        db.session.add(Contact(product_id=product.id, wa_id=wa_id))
    db.session.commit()


def test_select_is_filtered_by_product_in_scope(app, make_product):
    a, b = make_product("A"), make_product("B")
    _contacts(a, "1", "2")
    _contacts(b, "3")
    enter_product(a.id)
    try:
        assert sorted(db.session.execute(select(Contact.wa_id)).scalars()) == ["1", "2"]
    finally:
        leave_product()
    assert sorted(db.session.execute(select(Contact.wa_id)).scalars()) == ["1", "2", "3"]


def test_update_in_scope_cannot_touch_other_product(app, make_product):
    a, b = make_product("A"), make_product("B")
    _contacts(a, "1")
    _contacts(b, "2")
    enter_product(a.id)
    try:
        db.session.execute(update(Contact).values(profile_name="changed"))
        db.session.commit()
    finally:
        leave_product()
    names = dict(db.session.execute(select(Contact.wa_id, Contact.profile_name)).all())
    assert names == {"1": "changed", "2": None}


def test_new_rows_get_the_product_and_cannot_name_another(app, make_product):
    a, b = make_product("A"), make_product("B")
    enter_product(a.id)
    try:
        db.session.add(AuditEvent(action="test", detail={}))
        db.session.commit()
        db.session.add(Contact(product_id=b.id, wa_id="9"))
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()
    finally:
        leave_product()
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "test")).scalar_one()
    assert event.product_id == a.id
    assert db.session.execute(select(Contact).where(Contact.wa_id == "9")).first() is None


def test_get_or_404_hides_other_products(app, make_product):
    a, b = make_product("A"), make_product("B")
    membership_b = db.session.execute(select(Membership).where(Membership.product_id == b.id)).scalar_one()
    enter_product(a.id)
    try:
        with pytest.raises(NotFound):
            get_or_404(Membership, membership_b.id)
        with pytest.raises(NotFound):
            get_or_404(Membership, "not-a-uuid")
    finally:
        leave_product()
    assert g.get("tenant_product_id") is None


def test_get_or_404_refuses_to_run_without_scope(app, make_product):
    with pytest.raises(TenantScopeError):
        get_or_404(Membership, make_product().id)


def test_the_product_switcher_lists_every_product_of_the_user_on_a_product_page(client, auth, make_product):
    """The switcher's query runs while one product is in scope: it still lists all of the user's
    products (and only theirs)."""
    cardio, flex, other = make_product("Cardio Plus"), make_product("Flex 60"), make_product("Not Mine")
    user = auth.as_member(cardio, role="agent")
    db.session.add(Membership(product_id=flex.id, user_id=user.id, role="owner"))
    db.session.commit()
    page = client.get(f"/p/{cardio.id}/", follow_redirects=True).get_data(as_text=True)  # the product's inbox
    switcher = page[page.index('class="switcher"'):page.index("</details>", page.index('class="switcher"'))]
    assert "Cardio Plus" in switcher and "Flex 60" in switcher
    assert "Not Mine" not in switcher
    assert f"/p/{other.id}/" not in page
