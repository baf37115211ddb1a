"""Joining a product through an invitation link, and resetting a password through a reset link:
links that work once, expire, belong to one product (or one user) and reveal nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Invitation, Membership, PasswordReset, User, utcnow
from tests.conftest import PASSWORD


def _post(client, auth, url, **data):
    token = auth.csrf_token(client)
    return client.post(url, data={"csrf_token": token, **data})


def _invite(client, auth, product, role="agent", email=""):
    response = _post(client, auth, f"/p/{product.id}/members", email=email, role=role)
    assert response.status_code == 201
    link = re.search(r'id="invite-link" type="text" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    return "/" + link.replace("&amp;", "&").split("://", 1)[1].split("/", 1)[1]


def _sign_up(client, path, email, password="a fine password"):
    page = client.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    secret = path.split("t=", 1)[1]
    return client.post("/invite", data={"csrf_token": token, "t": secret, "email": email,
                                        "password": password, "confirm": password})


def _member(product, email):
    return db.session.execute(
        select(Membership).join(Membership.user).where(Membership.product_id == product.id, User.email == email)
    ).scalar_one_or_none()


def test_sign_up_through_the_link_joins_that_product_only(app, client, auth, make_product):
    cardio, flex = make_product("Cardio Plus"), make_product("Flex 60")
    auth.as_member(cardio, "admin")
    path = _invite(client, auth, cardio, role="agent")
    assert db.session.query(Invitation).one().token_hash not in path  # only the hash is kept
    newcomer = app.test_client()
    response = _sign_up(newcomer, path, "lucia@example.com")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/p/{cardio.id}/")
    assert _member(cardio, "lucia@example.com").role == "agent"
    assert _member(flex, "lucia@example.com") is None
    inbox = newcomer.get(f"/p/{cardio.id}/conversations")  # logged in by signing up
    assert inbox.status_code == 200
    assert newcomer.get(f"/p/{flex.id}/conversations").status_code == 404


def test_a_link_works_once(app, client, auth, make_product, make_user):
    product = make_product()
    auth.as_member(product, "owner")
    path = _invite(client, auth, product)
    assert _sign_up(app.test_client(), path, "first@example.com").status_code == 302
    second = app.test_client()
    page = second.get(path)
    assert page.status_code == 404 and "already used" in page.get_data(as_text=True)
    assert _member(product, "second@example.com") is None
    # Also for someone already logged in.
    user = make_user("third@example.com")
    auth.login(user, client=second)
    assert second.get(path).status_code == 404
    assert _member(product, "third@example.com") is None


def test_an_expired_or_withdrawn_link_does_nothing(app, client, auth, make_product):
    product = make_product()
    auth.as_member(product, "owner")
    expired, withdrawn = _invite(client, auth, product), _invite(client, auth, product)
    first, second = db.session.query(Invitation).order_by(Invitation.created_at).all()
    first.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = _post(client, auth, f"/p/{product.id}/invitations/{second.id}/revoke")
    assert response.status_code == 303
    for path, words in ((expired, "expired"), (withdrawn, "withdrawn")):
        other = app.test_client()
        assert words in other.get(path).get_data(as_text=True)
        token = auth.csrf_token(other)
        refused = other.post("/invite", data={"csrf_token": token, "t": path.split("t=")[1], "email": "x@example.com",
                                              "password": "a fine password", "confirm": "a fine password"})
        assert refused.status_code == 404
    assert db.session.query(User).filter_by(email="x@example.com").count() == 0


@pytest.mark.parametrize("token", ["", "nope", "x" * 5000])
def test_an_unknown_link_is_a_clear_404(client, token):
    response = client.get(f"/invite?t={token}")
    assert response.status_code == 404 and "not valid" in response.get_data(as_text=True)


def test_an_invitation_for_an_email_is_for_that_address_only(app, client, auth, make_product, make_user):
    product = make_product()
    auth.as_member(product, "owner")
    path = _invite(client, auth, product, email="ana@example.com")
    stranger = app.test_client()
    auth.login(make_user("stranger@example.com"), client=stranger)
    refused = _post(stranger, auth, "/invite", t=path.split("t=")[1])
    assert refused.status_code == 422 and "for another email address" in refused.get_data(as_text=True)
    assert _member(product, "stranger@example.com") is None
    ana = app.test_client()
    assert _sign_up(ana, path, "someone-else@example.com").status_code == 302  # the bound address is used
    assert _member(product, "ana@example.com") is not None


def test_an_existing_account_logs_in_to_join(app, client, auth, make_product, make_user):
    product = make_product()
    auth.as_member(product, "owner")
    path = _invite(client, auth, product)
    make_user("known@example.com")
    visitor = app.test_client()
    response = _sign_up(visitor, path, "known@example.com")
    assert response.status_code == 422 and "log in to accept" in response.get_data(as_text=True)
    assert _member(product, "known@example.com") is None
    assert db.session.query(Invitation).one().accepted_at is None  # still usable by its owner


def test_invitation_is_emailed_when_email_is_configured(mailing_app, request):
    app = mailing_app
    make_product = request.getfixturevalue("make_product")
    client, auth = app.test_client(), request.getfixturevalue("auth")
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner", client=client)
    path = _invite(client, auth, product, email="ana@example.com")
    [message] = app.extensions["mailman"].outbox
    assert message.to == ["ana@example.com"] and "Join Cardio Plus" in message.subject
    assert path.split("t=")[1] in message.body


# ---- password reset -------------------------------------------------------------------------

@pytest.fixture
def mailing_app(app_config, request):
    app_config.update(MAIL_BACKEND="locmem", MAIL_DEFAULT_SENDER="portal@example.com")
    return request.getfixturevalue("app")


def test_forgot_password_answers_the_same_and_mails_only_accounts(mailing_app, request):
    make_user = request.getfixturevalue("make_user")
    client = mailing_app.test_client()
    make_user("real@example.com")
    answers = []
    for email in ("real@example.com", "ghost@example.com"):
        page = client.get("/password/forgot").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = client.post("/password/forgot", data={"csrf_token": token, "email": email})
        answers.append((response.status_code, response.headers.get("Location")))
    assert answers[0] == answers[1] == (303, "/login")
    [message] = mailing_app.extensions["mailman"].outbox
    assert message.to == ["real@example.com"]


def test_reset_link_changes_the_password_once(mailing_app, request):
    make_user = request.getfixturevalue("make_user")
    client = mailing_app.test_client()
    user = make_user("real@example.com")
    page = client.get("/password/forgot").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/password/forgot", data={"csrf_token": token, "email": "REAL@example.com"})
    link = re.search(r"(/password/reset\?t=\S+)", mailing_app.extensions["mailman"].outbox[0].body).group(1)
    mismatch = client.post(link, data={"csrf_token": token, "password": "new password 1", "confirm": "other"})
    assert mismatch.status_code == 422
    done = client.post(link, data={"csrf_token": token, "password": "new password 1", "confirm": "new password 1"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("new password 1")
    assert not db.session.get(User, user.id).check_password(PASSWORD)
    again = client.post(link, data={"csrf_token": token, "password": "new password 2", "confirm": "new password 2"})
    assert again.status_code == 404
    assert db.session.get(User, user.id).check_password("new password 1")


def test_an_expired_reset_link_does_nothing(client, make_user):
    from portal.auth.links import reset_link

    user = make_user("real@example.com")
    with client.application.test_request_context():
        link = reset_link(user)
    reset = db.session.query(PasswordReset).one()
    reset.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert client.get(path).status_code == 404


def test_cli_prints_a_reset_link(app, make_user):
    make_user("ops@example.com")
    result = app.test_cli_runner().invoke(args=["users", "reset-link", "ops@example.com"])
    assert result.exit_code == 0 and "/password/reset?t=" in result.output
    assert app.test_cli_runner().invoke(args=["users", "reset-link", "nobody@example.com"]).exit_code != 0


# ---- removing a member ----------------------------------------------------------------------

def test_removing_a_member_asks_first(client, auth, make_product, make_user):
    product = make_product()
    auth.as_member(product, "owner")
    leaving = make_user("leaving@example.com")
    membership = Membership(product_id=product.id, user_id=leaving.id, role="agent")
    db.session.add(membership)
    db.session.commit()
    page = client.get(f"/p/{product.id}/members").get_data(as_text=True)
    assert f'href="/p/{product.id}/members/{membership.id}/remove">Remove…' in page
    confirm = client.get(f"/p/{product.id}/members/{membership.id}/remove")
    assert confirm.status_code == 200 and "Remove leaving@example.com?" in confirm.get_data(as_text=True)
    assert _member(product, "leaving@example.com") is not None  # asking removed nothing
    assert _post(client, auth, f"/p/{product.id}/members/{membership.id}/remove").status_code == 303
    assert _member(product, "leaving@example.com") is None
