"""Meta's deauthorize and data deletion callbacks (signed_request), and the status page."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.meta.signatures import make_signed_request
from portal.models import NEEDS_RECONNECT, AuditEvent, DataDeletionRequest, Message, WhatsAppAccount
from tests.conftest import TEST_APP_SECRET
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A

META_USER = "10158000000000001"  # connected NUMBER_A (Cardio Plus) in the fixture


def signed(user_id=META_USER, secret=TEST_APP_SECRET, **extra) -> str:
    return make_signed_request({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": user_id, **extra}, secret)


def accounts():
    db.session.expire_all()
    return {a.phone_number_id: a for a in db.session.execute(select(WhatsAppAccount)).scalars()}


@pytest.fixture
def second_number_same_user(two_products, link_number, make_product):
    """The same Meta user also connected a number of a third product."""
    third = make_product("Third")
    link_number(third, "106540352243333", WABA_A + "9", meta_user_id=META_USER)
    return third


def test_deauthorize_wipes_tokens_of_every_account_of_that_user(client, second_number_same_user):
    answer = client.post("/meta/deauthorize", data={"signed_request": signed()})
    assert answer.status_code == 200 and answer.json["accounts_revoked"] == 2
    found = accounts()
    for number in (NUMBER_A, "106540352243333"):
        account = found[number]
        assert account.access_token == "" and account.oauth_access_token is None and account.oauth_refresh_token is None
        assert account.state == NEEDS_RECONNECT
    assert found[NUMBER_B].access_token == "EAAG-test-token"  # another Meta user's account is untouched
    actions = db.session.execute(select(AuditEvent.action)).scalars().all()
    assert actions == ["meta.deauthorized", "meta.deauthorized"]


@pytest.mark.parametrize("form", [
    {},
    {"signed_request": ""},
    {"signed_request": "abc"},
    {"signed_request": "a.b.c"},
    {"signed_request": signed(secret="not-the-app-secret")},
    {"signed_request": make_signed_request({"algorithm": "HMAC-SHA1", "user_id": META_USER}, TEST_APP_SECRET)},
    {"signed_request": make_signed_request({"algorithm": "HMAC-SHA256"}, TEST_APP_SECRET)},
    {"signed_request": signed()[:-2] + "xx"},
])
@pytest.mark.parametrize("url", ["/meta/deauthorize", "/meta/data-deletion"])
def test_bad_signed_request_is_refused_and_changes_nothing(client, two_products, url, form):
    answer = client.post(url, data=form)
    assert answer.status_code in (400, 403)
    assert "error" in answer.json
    found = accounts()
    assert len(found) == 2 and found[NUMBER_A].access_token == "EAAG-test-token"
    assert db.session.execute(select(func.count()).select_from(DataDeletionRequest)).scalar_one() == 0


def test_data_deletion_deletes_the_users_accounts_and_answers_a_status_url(client, second_number_same_user):
    cardio_message = p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.history")]))
    p.post_signed(client, cardio_message)
    answer = client.post("/meta/data-deletion", data={"signed_request": signed()})
    assert answer.status_code == 200
    code, url = answer.json["confirmation_code"], answer.json["url"]
    assert code and url.endswith(f"/meta/data-deletion/{code}") and url.startswith("http")
    assert set(accounts()) == {NUMBER_B}
    request_row = db.session.execute(select(DataDeletionRequest)).scalar_one()
    assert request_row.accounts_affected == 2 and request_row.completed_at is not None
    # The product's conversation history with its customers stays with the product.
    assert db.session.execute(select(func.count()).select_from(Message)).scalar_one() == 1
    page = client.get(url)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert code in html and "Completed" in html and "2 linked WhatsApp numbers" in html
    assert "EAAG" not in html


def test_data_deletion_for_an_unknown_user_still_answers(client, two_products):
    answer = client.post("/meta/data-deletion", data={"signed_request": signed(user_id="42")})
    assert answer.status_code == 200
    page = client.get(answer.json["url"])
    assert "nothing to delete" in page.get_data(as_text=True)
    assert len(accounts()) == 2


def test_unknown_confirmation_code_page_is_404_for_people(client):
    page = client.get("/meta/data-deletion/not-a-code")
    assert page.status_code == 404 and "No data deletion request" in page.get_data(as_text=True)


def test_callbacks_need_no_csrf_token(client, two_products):
    """CSRF is enforced for the portal's forms; Meta's callbacks are signed instead."""
    assert client.post("/meta/deauthorize", data={"signed_request": signed()}).status_code == 200
