"""Owners and admins manage members; agents cannot; a product always keeps an owner."""
import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Invitation, Membership


def _post(client, auth, url, **data):
    token = auth.csrf_token()
    return client.post(url, data={"csrf_token": token, **data})


def _membership(product, user):
    return db.session.execute(
        select(Membership).where(Membership.product_id == product.id, Membership.user_id == user.id)
    ).scalar_one_or_none()


def _invitation_link(html):
    match = re.search(r'id="invite-link" type="text" value="([^"]+)"', html)
    assert match, "no invitation link on the page"
    return match.group(1).replace("&amp;", "&")


def test_admin_adds_changes_and_removes_a_member(app, client, auth, make_product, make_user):
    product = make_product()
    auth.as_member(product, "admin")
    newcomer = make_user("new@example.com")
    response = _post(client, auth, f"/p/{product.id}/members", email="NEW@example.com", role="agent")
    assert response.status_code == 201
    link = _invitation_link(response.get_data(as_text=True))
    assert _membership(product, newcomer) is None  # joining is the invitee's own act, through the link
    theirs = app.test_client()
    auth.login(newcomer, client=theirs)
    path = link.split("://", 1)[1].split("/", 1)[1]
    token = auth.csrf_token(theirs)
    assert theirs.post("/" + path, data={"csrf_token": token}).status_code == 302
    m = _membership(product, newcomer)
    assert m.role == "agent"
    _post(client, auth, f"/p/{product.id}/members/{m.id}/role", role="admin")
    db.session.refresh(m)
    assert m.role == "admin"
    _post(client, auth, f"/p/{product.id}/members/{m.id}/remove")
    assert _membership(product, newcomer) is None
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.product_id == product.id)).scalars().all()
    assert {"member.invited", "member.joined", "member.role_changed", "member.removed"} <= set(actions)


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
    assert "Invite someone" not in page and "Remove…" not in page


def test_last_owner_cannot_be_removed_or_demoted(client, auth, make_product, make_user):
    owner = make_user()
    product = make_product(owner=owner)
    owner_membership = _membership(product, owner)
    auth.login(owner)
    _post(client, auth, f"/p/{product.id}/members/{owner_membership.id}/role", role="agent")
    page = client.get(f"/p/{product.id}/members").get_data(as_text=True)
    assert "last owner cannot be demoted" in page
    _post(client, auth, f"/p/{product.id}/members/{owner_membership.id}/remove")
    db.session.refresh(owner_membership)
    assert owner_membership.role == "owner"


def test_an_admin_cannot_raise_itself_or_touch_an_owner(client, auth, make_product, make_user):
    """Issue 19, item 2: an admin could make itself owner and then remove the owner; since issue 17
    members join by invitation, so an admin cannot invite an owner either."""
    owner = make_user()
    product = make_product(owner=owner)
    owner_membership = _membership(product, owner)
    admin = auth.as_member(product, "admin")
    own = _membership(product, admin)
    _post(client, auth, f"/p/{product.id}/members/{own.id}/role", role="owner")
    assert "Only an owner can make someone owner" in client.get(f"/p/{product.id}/members").get_data(as_text=True)
    _post(client, auth, f"/p/{product.id}/members/{owner_membership.id}/role", role="agent")
    _post(client, auth, f"/p/{product.id}/members/{owner_membership.id}/remove")
    assert "Only an owner can change or remove an owner" in client.get(f"/p/{product.id}/members").get_data(as_text=True)
    newcomer = make_user()
    response = _post(client, auth, f"/p/{product.id}/members", email=newcomer.email, role="owner")
    assert response.status_code == 400
    assert "Only an owner can make someone owner" in response.get_data(as_text=True)
    assert db.session.execute(select(Invitation).where(Invitation.product_id == product.id)).first() is None
    db.session.expire_all()
    assert own.role == "admin" and owner_membership.role == "owner"
    assert _membership(product, owner) is not None and _membership(product, newcomer) is None
    # What an admin may do still works: an invitation up to admin.
    assert _post(client, auth, f"/p/{product.id}/members", email=newcomer.email, role="admin").status_code == 201
    invitation = db.session.execute(select(Invitation).where(Invitation.product_id == product.id)).scalar_one()
    assert invitation.role == "admin"


def test_an_owner_manages_owners(client, auth, make_product, make_user):
    owner = make_user()
    product = make_product(owner=owner)
    other = make_user()
    auth.login(owner)
    assert _post(client, auth, f"/p/{product.id}/members", email=other.email, role="owner").status_code == 201
    db.session.add(Membership(product_id=product.id, user_id=other.id, role="owner"))  # as if the link was used
    db.session.commit()
    second = _membership(product, other)
    _post(client, auth, f"/p/{product.id}/members/{second.id}/role", role="admin")
    db.session.refresh(second)
    assert second.role == "admin"
    _post(client, auth, f"/p/{product.id}/members/{second.id}/remove")
    assert _membership(product, other) is None


def test_adding_never_reveals_whether_an_email_has_an_account(client, auth, make_product, make_user):
    product = make_product()
    auth.as_member(product, "owner")
    make_user("somebody@example.com")  # has an account (in no product of this owner)
    answers = []
    for email in ("somebody@example.com", "nobody@example.com"):
        response = _post(client, auth, f"/p/{product.id}/members", email=email, role="agent")
        html = response.get_data(as_text=True)
        flashes = re.findall(r'class="flash[^"]*">([^<]*)<', html)
        answers.append((response.status_code, flashes, html.count(email)))
    assert answers[0] == answers[1]  # same status, same messages, the email shown the same way
    assert answers[0][0] == 201
    response = _post(client, auth, f"/p/{product.id}/members", email="x@example.com", role="emperor")
    assert response.status_code == 400


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


def test_menus_offer_only_the_roles_a_member_may_give(client, auth, make_product, make_user):
    """An admin's menus have no "Owner" (choosing it could only be refused), and an owner's row shows
    its role without a form or a remove link; an owner is offered every role."""
    owner = make_user()
    product = make_product(owner=owner)
    owner_membership = _membership(product, owner)
    agent = make_user()
    db.session.add(Membership(product_id=product.id, user_id=agent.id, role="agent"))
    db.session.commit()
    agent_membership = _membership(product, agent)
    auth.as_member(product, "admin")
    page = client.get(f"/p/{product.id}/members").get_data(as_text=True)
    assert 'value="owner"' not in page
    assert 'value="admin"' in page and 'value="agent"' in page
    assert f"/members/{owner_membership.id}/role" not in page and f"/members/{owner_membership.id}/remove" not in page
    assert f"/members/{agent_membership.id}/role" in page and f"/members/{agent_membership.id}/remove" in page
    auth.logout()
    auth.login(owner)
    page = client.get(f"/p/{product.id}/members").get_data(as_text=True)
    assert page.count('value="owner"') >= 2  # the invitation's menu and each member's
    assert f"/members/{owner_membership.id}/role" in page
