"""Signatures Meta puts on what it sends us: webhook HMACs and signed_request."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json


class SignatureError(ValueError):
    """The signature is missing, malformed or wrong."""


def webhook_signature(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value Meta sends for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """Check X-Hub-Signature-256 over the raw body, in constant time."""
    if not header:
        raise SignatureError("missing X-Hub-Signature-256")
    expected = webhook_signature(body, app_secret)
    if not hmac.compare_digest(expected.encode(), header.strip().encode("ascii", "replace")):
        raise SignatureError("bad X-Hub-Signature-256")


def _b64url_decode(data: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError("signed_request is not base64url") from None


def parse_signed_request(signed_request: str | None, app_secret: str) -> dict:
    """Verify and decode Meta's signed_request; returns the payload (with user_id)."""
    if not signed_request or signed_request.count(".") != 1:
        raise SignatureError("signed_request must be two base64url parts joined by a dot")
    encoded_sig, encoded_payload = signed_request.split(".", 1)
    signature = _b64url_decode(encoded_sig)
    expected = hmac.new(app_secret.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise SignatureError("signed_request signature does not match")
    try:
        payload = json.loads(_b64url_decode(encoded_payload))
    except ValueError:
        raise SignatureError("signed_request payload is not JSON") from None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise SignatureError("signed_request algorithm must be HMAC-SHA256")
    if not payload.get("user_id"):
        raise SignatureError("signed_request has no user_id")
    return payload


def make_signed_request(payload: dict, app_secret: str) -> str:
    """Build a signed_request as Meta does (used by tests and the sandbox)."""
    encoded_payload = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    signature = hmac.new(app_secret.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode() + "." + encoded_payload
