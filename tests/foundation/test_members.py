"""Owners and admins manage members; agents cannot; a product always keeps an owner."""
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Membership


def _post(client, auth, url, **data):
    token = auth.csrf_token()
    return client.post(url, data={"csrf_token": token, **data})


def _membership(product, user):
    return db.session.execute(
        select(Membership).where(Membership.product_id == product.id, Membership.user_id == user.id)
    ).scalar_one_or_none()


def test_admin_adds_changes_and_removes_a_member(client, auth, make_product, make_user):
    product = make_product()
    auth.as_member(product, "admin")
    newcomer = make_user("new@example.com")
    assert _post(client, auth, f"/p/{product.id}/members", email="NEW@example.com", role="agent").status_code == 303
    m = _membership(product, newcomer)
    assert m.role == "agent"
    _post(client, auth, f"/p/{product.id}/members/{m.id}/role", role="admin")
    db.session.refresh(m)
    assert m.role == "admin"
    _post(client, auth, f"/p/{product.id}/members/{m.id}/remove")
    assert _membership(product, newcomer) is None
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.product_id == product.id)).scalars().all()
    assert {"member.added", "member.role_changed", "member.removed"} <= set(actions)


def test_agent_cannot_manage_members(client, auth, make_product, make_user):
    product = make_product()
    agent = auth.as_member(product, "agent")
    other = make_user()
    assert _post(client, auth, f"/p/{product.id}/members", email=other.email, role="owner").status_code == 403
    own = _membership(product, agent)
    assert _post(client, auth, f"/p/{product.id}/members/{own.id}/role", role="owner").status_code == 403
    assert _membership(product, other) is None
    db.session.refresh(own)
    assert own.role == "agent"
    page = client.get(f"/p/{product.id}/members").get_data(as_text=True)
    assert "Add a member" not in page


def test_last_owner_cannot_be_removed_or_demoted(client, auth, make_product):
    product = make_product()
    owner_membership = db.session.execute(select(Membership).where(Membership.product_id == product.id)).scalar_one()
    auth.as_member(product, "admin")
    _post(client, auth, f"/p/{product.id}/members/{owner_membership.id}/role", role="agent")
    page = client.get(f"/p/{product.id}/members").get_data(as_text=True)
    assert "last owner cannot be demoted" in page
    _post(client, auth, f"/p/{product.id}/members/{owner_membership.id}/remove")
    db.session.refresh(owner_membership)
    assert owner_membership.role == "owner"


def test_unknown_email_and_bad_role_are_clear_errors(client, auth, make_product):
    product = make_product()
    auth.as_member(product, "owner")
    _post(client, auth, f"/p/{product.id}/members", email="ghost@example.com", role="agent")
    assert "No user with email ghost@example.com" in client.get(f"/p/{product.id}/members").get_data(as_text=True)
    response = _post(client, auth, f"/p/{product.id}/members", email="x@example.com", role="emperor")
    assert response.status_code == 303


def test_member_of_another_product_is_404(client, auth, make_product):
    mine, theirs = make_product("Mine"), make_product("Theirs")
    their_owner = db.session.execute(select(Membership).where(Membership.product_id == theirs.id)).scalar_one()
    auth.as_member(mine, "owner")
    response = _post(client, auth, f"/p/{mine.id}/members/{their_owner.id}/remove")
    assert response.status_code == 404
    assert db.session.get(Membership, their_owner.id) is not None


def test_switcher_lists_only_my_products(client, auth, make_product):
    mine, _theirs = make_product("Mine"), make_product("Theirs Secret")
    auth.as_member(mine, "agent")
    page = client.get(f"/p/{mine.id}/channels").get_data(as_text=True)
    assert "Mine" in page and "Theirs Secret" not in page
