"""Property: no correctly signed body, however odd, gets a 500 (or leaves the session broken)."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1700000000", "99999999999999999999", NUMBER_A, "wamid.X", "\x00", "\U0001F600"]),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)
loose = st.one_of(json_values, scalars)
kinds = st.sampled_from(["text", "image", "document", "audio", "video", "sticker", "location", "contacts",
                         "interactive", "button", "reaction", "order", "system", "unsupported", "new_kind"])

message = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["wamid.A", "wamid.B"]), loose), "type": st.one_of(kinds, loose)},
    optional={"from": st.one_of(st.sampled_from(["16315551181", "5491100000001"]), loose), "timestamp": loose,
              "text": st.one_of(st.fixed_dictionaries({"body": loose}), loose),
              "image": loose, "location": st.fixed_dictionaries({"latitude": loose, "longitude": loose, "name": loose}),
              "interactive": st.fixed_dictionaries({"type": loose, "button_reply": loose, "list_reply": loose}),
              "reaction": st.fixed_dictionaries({"message_id": loose, "emoji": loose}),
              "context": st.fixed_dictionaries({}, optional={"id": loose, "forwarded": loose}), "contacts": loose},
)
status = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["wamid.A", "wamid.S"]), loose),
     "status": st.one_of(st.sampled_from(["sent", "delivered", "read", "failed", "played", "deleted"]), loose)},
    optional={"timestamp": loose, "errors": st.one_of(st.lists(st.fixed_dictionaries({"code": loose, "title": loose})), loose)},
)
value = st.fixed_dictionaries(
    {},
    optional={"messaging_product": loose,
              "metadata": st.one_of(st.fixed_dictionaries({"phone_number_id": st.one_of(st.sampled_from([NUMBER_A, NUMBER_B, "555"]), loose)}), loose),
              "contacts": st.one_of(st.lists(st.fixed_dictionaries({"wa_id": loose, "profile": st.fixed_dictionaries({"name": loose})})), loose),
              "messages": st.one_of(st.lists(message, max_size=4), loose),
              "statuses": st.one_of(st.lists(status, max_size=4), loose),
              "event": loose, "errors": loose},
)
change = st.one_of(
    st.fixed_dictionaries({"field": st.one_of(st.sampled_from(["messages", "account_update", "phone_number_quality_update"]), loose),
                           "value": st.one_of(value, loose)}),
    loose,
)
entry = st.one_of(st.fixed_dictionaries({"id": st.one_of(st.just(WABA_A), loose), "changes": st.one_of(st.lists(change, max_size=3), loose)}), loose)
envelope = st.fixed_dictionaries({"object": loose, "entry": st.lists(entry, max_size=3)})


def _post(client, raw: bytes):
    answer = client.post("/webhook", data=raw, headers=p.signed_headers(raw))
    assert answer.status_code in (200, 400), (answer.status_code, raw[:300])
    return answer


@FUZZ
@given(body=envelope)
def test_arbitrary_envelopes_never_500(client, two_products, body):
    _post(client, json.dumps(body).encode())


@FUZZ
@given(body=json_values)
def test_arbitrary_json_never_500(client, body):
    _post(client, json.dumps(body).encode())


@settings(FUZZ, max_examples=200)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_never_500(client, raw):
    _post(client, raw)
