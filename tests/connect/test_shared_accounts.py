"""Owners are warned, on the channels page and when they connect, when their product is linked
through the same Meta user or the same WhatsApp Business Account as another product: one
restriction by Meta would then hit both. Other products are counted, never named to people
who are not their members."""
from __future__ import annotations

from portal.extensions import db
from portal.models import Membership, WhatsAppAccount

from .conftest import MetaUser, connect


def _account(product, number, meta_user, waba):
    db.session.add(WhatsAppAccount(product_id=product.id, phone_number_id=number, business_account_id=waba,
                                   meta_user_id=meta_user, access_token="EAAG-shared", phone_number=f"+1 {number}"))
    db.session.commit()


def test_channels_page_warns_about_a_shared_meta_user_without_naming_strangers(client, auth, make_product):
    mine, theirs, apart = make_product("Cardio Plus"), make_product("Secret Other"), make_product("Apart")
    _account(mine, "3001", "10001", "2001")
    _account(theirs, "3002", "10001", "2002")  # the same Meta user linked it
    _account(apart, "3003", "10009", "2009")
    auth.as_member(mine, "owner")
    page = client.get(f"/p/{mine.id}/channels").get_data(as_text=True)
    assert "shared with other products" in page
    assert "The same Meta user (10001) also links 1 other product." in page
    assert "Secret Other" not in page and "Apart" not in page
    assert "can\n      all lose WhatsApp at once" in page or "all lose WhatsApp at once" in page


def test_the_other_product_is_named_to_its_own_members_and_the_same_waba_counts(client, auth, make_product):
    mine, mine_too = make_product("Cardio Plus"), make_product("Cardio Kids")
    _account(mine, "3001", "10001", "2001")
    _account(mine_too, "3004", "10002", "2001")  # another Meta user, the same WhatsApp Business Account
    user = auth.as_member(mine, "owner")
    db.session.add(Membership(product_id=mine_too.id, user_id=user.id, role="agent"))
    db.session.commit()
    page = client.get(f"/p/{mine.id}/channels").get_data(as_text=True)
    assert "The same WhatsApp Business Account (2001) also links 1 other product: Cardio Kids." in page
    assert "Meta user (10001)" not in page


def test_no_warning_when_products_are_apart(client, auth, make_product):
    mine, other = make_product("Cardio Plus"), make_product("Flex 60")
    _account(mine, "3001", "10001", "2001")
    _account(other, "3002", "10002", "2002")
    auth.as_member(mine, "owner")
    assert "shared with other products" not in client.get(f"/p/{mine.id}/channels").get_data(as_text=True)


def test_connecting_through_a_meta_user_another_product_uses_warns(app, make_product, auth, meta):
    """The callback's flash says so right after the link (Meta's OAuth code exchange as in the other connect tests)."""
    other = make_product("Flex 60")
    _account(other, "3999", "10001", "2999")  # linked earlier by the same Meta user
    alice = MetaUser("alice", user_id="10001", waba_id="2001", waba_name="Cardio WABA",
                     numbers=[("3001", "+591 11111111", "Cardio Plus")])
    meta.add(alice)
    product = make_product("Cardio Plus")
    client = app.test_client()
    auth.as_member(product, "owner", client=client)
    assert connect(client, auth, product, alice).status_code == 302
    page = client.get(f"/p/{product.id}/channels").get_data(as_text=True)
    assert "linked through the same Meta user as 1 other product" in page
    assert "Flex 60" not in page
