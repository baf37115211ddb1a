"""load_body parses with orjson where it can: what it accepts, and how it reads it, must
stay exactly what the json module alone accepted and read."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.meta.payloads import PayloadError, _clean_escapes, _finite_float, _refuse_constant, load_body


def json_only(body: bytes):
    """load_body as it was with json alone: the document, or PayloadError."""
    try:
        document = json.loads(body, parse_float=_finite_float, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return PayloadError
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        return PayloadError
    if b"\\u" in body:
        try:
            document = _clean_escapes(document)
        except PayloadError:
            return PayloadError
    return document


def outcome(body: bytes):
    try:
        return load_body(body)
    except PayloadError:
        return PayloadError


def same(a, b) -> bool:
    """Equal, with the same types all the way down (1 == 1.0 and True == 1 would hide a change)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def envelope(inner: str) -> bytes:
    return ('{"entry": [], "x": ' + inner + "}").encode()


ODD_VALUES = [
    "123456789012345678901234567890", "-123456789012345678901234567890", "18446744073709551615",
    "9223372036854775807", "-9223372036854775808", "-9223372036854775809", "1234567890123456789", "123456789012345678",
    "1e400", "-1e400", "1e-400", "1.7976931348623157e308", "5e-324", "0.1", "-0.0", "-0", "1E2", "1.0",
    "0.30000000000000004", "123456789.123456789123", "NaN", "Infinity", "-Infinity", "01", "1.", ".5", "+1",
    '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"', '"\\u0000"', '"a\\u0000b"', '"\u00e9\U0001F600"',
    '"tab\tinside"', '"\\/"', "[1,]", "{}", "[]", "true", "null", '{"a": 1, "a": 2}', "[" * 2000 + "]" * 2000,
]


def assert_reads_as_json_did(body: bytes) -> None:
    expected, got = json_only(body), outcome(body)
    assert got is PayloadError if expected is PayloadError else same(got, expected)


@pytest.mark.parametrize("inner", ODD_VALUES)
def test_odd_values_are_read_as_json_reads_them(inner):
    assert_reads_as_json_did(envelope(inner))


@pytest.mark.parametrize("body", [
    b"", b" ", b"{", b"\xef\xbb\xbf{\"entry\": []}", '{"entry": []}'.encode("utf-16"), '{"entry": []}'.encode("utf-32"),
    b'{"entry": []} x', b'{"entry": [], "s": "\xff"}', b"[]", b'{"entry": {}}', b'{"entry": []}',
])
def test_odd_bodies_are_accepted_or_refused_as_json_does(body):
    assert_reads_as_json_did(body)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                         max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(documents, st.booleans())
def test_any_document_reads_as_json_reads_it(document, ascii_only):
    assert_reads_as_json_did(json.dumps({"entry": [], "x": document}, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))
