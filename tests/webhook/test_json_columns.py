"""JSON columns are written with orjson where it writes what json would read back the same, and
with json for the rest (portal/database.py `json_text`); a message's `raw` reads back as Meta sent it."""
from __future__ import annotations

import datetime
import json

import pytest
from sqlalchemy import select

from portal.database import json_text
from portal.extensions import db
from portal.models import Message
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A


@pytest.mark.parametrize("value", [
    {"body": "¿Dónde está mi pedido? 😀", "n": [1, 2.5, None, True, False], "nested": {"a": {"b": []}}},
    {"big": 123456789012345678901234567890},  # beyond 64 bits: orjson refuses, json writes it
    {"neg": -9223372036854775809},
    "a\u2028b",
])
def test_json_text_reads_back_as_the_same_value(value):
    assert json.loads(json_text(value)) == value


def test_json_text_falls_back_to_json_for_what_orjson_refuses_or_writes_differently():
    assert json_text({1: "one"}) == json.dumps({1: "one"})  # keys that are not strings
    with pytest.raises(TypeError):  # json refuses dates; orjson would have written them silently
        json_text({"at": datetime.datetime(2026, 11, 30)})


def test_raw_message_with_unicode_and_a_huge_number_round_trips_through_the_database(client, two_products):
    cardio, _ = two_products
    # A text message shaped as Meta documents it (Cloud API webhooks reference, "Text messages"),
    # with an extra field holding an integer beyond 64 bits: load_body reads that with json.
    message = p.text_message("wamid.JSON1", "Hola, ¿cómo están? 😀")
    message["x_extra"] = {"huge": 123456789012345678901234567890, "list": [1.5, None]}
    assert p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [message]))).status_code == 200
    db.session.expire_all()
    stored = db.session.execute(select(Message).where(Message.product_id == cardio.id)).scalar_one()
    assert stored.raw == message
    assert stored.text == "Hola, ¿cómo están? 😀"

