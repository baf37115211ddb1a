"""The sandbox's state: seeded once, kept across a restart in the demo, and the app-removal callback."""
from __future__ import annotations

from urllib.parse import parse_qs

from portal.meta.signatures import parse_signed_request
from portal.sandbox.world import World

from .conftest import ANA, APP_SECRET, CARDIO, CARDIO_PHONE, FLEX, FLEX_WABA


def test_seed_has_three_businesses_each_with_its_own_user():
    world = World("1")
    assert len(world.businesses) >= 3
    assert len({b.user_id for b in world.businesses.values()}) == len(world.businesses)
    phones_per_business = {b.name: sum(len(world.wabas[w].phone_ids) for w in b.waba_ids)
                           for b in world.businesses.values()}
    assert phones_per_business["Cardio Plus Health"] == 1
    assert phones_per_business["Flex 60 Fitness"] == 2
    assert len(world.businesses["2100000000000003"].waba_ids) == 2


def test_state_file_keeps_tokens_subscriptions_and_windows_across_a_restart(tmp_path):
    path = tmp_path / "sandbox-state.json"
    world = World("1", state_file=str(path))
    code = world.issue_code(FLEX, "http://x/cb", ["whatsapp_business_messaging"], None)
    token = world.redeem_code(code, "http://x/cb")
    world.subscribe(FLEX_WABA, "1", on=True)
    world.record_message(CARDIO_PHONE, ANA, {"id": "wamid.1", "type": "text", "text": {"body": "hi"}}, inbound=True)
    world.set_quality(CARDIO_PHONE, "YELLOW")

    again = World("1", state_file=str(path))
    assert again.check_token(token.value).business_id == FLEX
    assert again.wabas[FLEX_WABA].subscribed_apps == {"1"}
    assert again.window_open(CARDIO_PHONE, ANA)
    assert again.phones[CARDIO_PHONE].quality == "YELLOW"


def test_state_file_keeps_templates_and_their_reviews(tmp_path):
    path = tmp_path / "sandbox-state.json"
    world = World("1", state_file=str(path))
    template = world.add_template(FLEX_WABA, "class_reminder", "en_US", "UTILITY",
                                  [{"type": "BODY", "text": "See you at class"}], status="PENDING")
    world.set_template_status(FLEX_WABA, template.id, "REJECTED", "SCAM")

    again = World("1", state_file=str(path))
    [kept] = again.find_templates(FLEX_WABA, "class_reminder")
    assert (kept.id, kept.status, kept.rejected_reason) == (template.id, "REJECTED", "SCAM")
    assert [t.name for t in again.find_templates(FLEX_WABA)] == ["hello_world", "class_reminder"]


def test_damaged_state_file_starts_from_the_seed(tmp_path):
    path = tmp_path / "sandbox-state.json"
    path.write_text("{not json")
    assert World("1", state_file=str(path)).tokens == {}


def test_user_removes_the_app_revokes_and_calls_deauthorize(meta, box, recorder):
    token = meta.token_for(CARDIO)
    count, status = box.remove_app(CARDIO)
    assert (count, status) == (1, 200)
    url, body, headers = recorder.posts[-1]
    assert url == "http://portal.test/meta/deauthorize"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = parse_signed_request(parse_qs(body.decode())["signed_request"][0], APP_SECRET)
    assert payload["user_id"] == box.world.businesses[CARDIO].user_id
    assert meta.call("GET", "me", token).json["error"]["code"] == 190
    assert box.world.token_counts(FLEX) == {"valid": 0, "expired": 0, "revoked": 0}
