"""The signature of an outgoing webhook: `X-Maestra-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
of "<t>.<raw body>">` with the endpoint's secret (the scheme Stripe uses: the time inside the
signed text lets a receiver refuse old replays)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-Maestra-Signature"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
