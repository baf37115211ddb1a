"""Meta's template rules checked before submitting, and the exact create payload for every
component kind (shapes from Meta's "Create and manage templates" guide and the examples of
Meta's OpenAPI document, ../shared/meta-openapi: POST /{WABA-ID}/message_templates)."""
from __future__ import annotations

from portal.message_templates.definition import Button, Draft, check, to_meta


def _draft(**fields) -> Draft:
    base = dict(name="order_update", language="en_US", category="UTILITY", body="Hi {{1}}, order {{2}} shipped.",
                body_samples={"1": "Ana", "2": "A-17"})
    base.update(fields)
    return Draft(**base)


def test_a_good_positional_draft_passes_and_becomes_metas_payload():
    draft = _draft(header_format="TEXT", header_text="Order {{1}}", header_sample="A-17", footer="Thanks",
                   buttons=[Button("QUICK_REPLY", "Stop"), Button("QUICK_REPLY", "Help"),
                            Button("URL", "Track", url="https://shop.example/t/{{1}}", example="A-17"),
                            Button("PHONE_NUMBER", "Call", phone_number="+15550051310"),
                            Button("COPY_CODE", example="SAVE10")])
    assert check(draft) == []
    assert to_meta(draft) == {
        "name": "order_update", "language": "en_US", "category": "UTILITY", "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-17"]}},
            {"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped.", "example": {"body_text": [["Ana", "A-17"]]}},
            {"type": "FOOTER", "text": "Thanks"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"}, {"type": "QUICK_REPLY", "text": "Help"},
                {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}", "example": ["https://shop.example/t/A-17"]},
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550051310"},
                {"type": "COPY_CODE", "example": "SAVE10"},
            ]},
        ],
    }


def test_named_variables_use_metas_named_examples():
    draft = _draft(body="Hello {{first_name}}, your code is {{code}} today.", body_samples={"first_name": "Ana", "code": "X1"},
                   header_format="TEXT", header_text="For {{first_name}}", header_sample="Ana")
    assert check(draft) == []
    payload = to_meta(draft)
    assert payload["parameter_format"] == "NAMED"
    assert payload["components"][0]["example"] == {"header_text_named_params": [{"param_name": "first_name", "example": "Ana"}]}
    assert payload["components"][1]["example"] == {"body_text_named_params": [
        {"param_name": "first_name", "example": "Ana"}, {"param_name": "code", "example": "X1"}]}


def test_media_headers_carry_the_sample_handle():
    for kind in ("IMAGE", "VIDEO", "DOCUMENT"):
        draft = _draft(header_format=kind, header_handle="4::aW1hZ2UvcG5n:ARZ")
        assert check(draft) == []
        assert to_meta(draft)["components"][0] == {"type": "HEADER", "format": kind, "example": {"header_handle": ["4::aW1hZ2UvcG5n:ARZ"]}}
    assert any("sample file handle" in p for p in check(_draft(header_format="IMAGE")))


def test_authentication_uses_metas_otp_shape():
    draft = Draft(name="login_code", language="en_US", category="AUTHENTICATION", code_expiration_minutes="10",
                  otp_button_text="Copy code", add_security_recommendation=True)
    assert check(draft) == []
    assert to_meta(draft)["components"] == [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
    ]


def test_every_rule_is_said_in_words():
    cases = {
        "lowercase letters": _draft(name="Order Update"),
        "languages offered": _draft(language="xx"),
        "in order, without gaps": _draft(body="Hi {{1}} and {{3}} ok", body_samples={"1": "a", "3": "b"}),
        "mixes numbered": _draft(body="Hi {{1}} and {{name}} ok", body_samples={"1": "a", "name": "b"}),
        "start or end with a variable": _draft(body="{{1}} is here", body_samples={"1": "a"}),
        "sample value for every variable": _draft(body="Hi {{1}} there", body_samples={"1": ""}),
        "at most 1024": _draft(body="x" * 1025, body_samples={}),
        "header holds at most 60": _draft(header_format="TEXT", header_text="x" * 61),
        "at most one variable": _draft(header_format="TEXT", header_text="{{1}} {{2}}", header_sample="a"),
        "footer cannot hold variables": _draft(footer="Bye {{1}}"),
        "at most 10 buttons": _draft(buttons=[Button("QUICK_REPLY", f"b{i}") for i in range(11)]),
        "next to each other": _draft(buttons=[Button("QUICK_REPLY", "a"), Button("PHONE_NUMBER", "c", phone_number="15550051310"),
                                              Button("QUICK_REPLY", "b")]),
        "At most 2": _draft(buttons=[Button("URL", "a", url="https://a.example"), Button("URL", "b", url="https://b.example"),
                                     Button("URL", "c", url="https://c.example")]),
        "one variable, {{1}}, at its end": _draft(buttons=[Button("URL", "a", url="https://a.example/{{1}}/x", example="1")]),
        "label holds 1 to 25": _draft(buttons=[Button("QUICK_REPLY", "x" * 26)]),
        "example code holds 1 to 15": _draft(buttons=[Button("COPY_CODE", example="x" * 16)]),
        "phone number is digits": _draft(buttons=[Button("PHONE_NUMBER", "Call", phone_number="call me")]),
    }
    for words, draft in cases.items():
        problems = check(draft)
        assert any(words in p for p in problems), (words, problems)


def test_from_form_reads_rows_and_samples():
    form = {"name": "promo", "language": "es", "category": "marketing", "header_format": "none",
            "body": "Hola {{1}}, usa {{2}} hoy.", "body_sample_1": "Ana", "body_sample_2": "X",
            "button_0_type": "quick_reply", "button_0_text": "Parar", "button_1_type": ""}
    draft = Draft.from_form(form)
    assert draft.category == "MARKETING" and draft.body_samples == {"1": "Ana", "2": "X"}
    assert [b.type for b in draft.buttons] == ["QUICK_REPLY"]
    assert check(draft) == []
