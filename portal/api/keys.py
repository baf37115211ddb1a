"""API keys: a high-entropy random key shown once, of which only a SHA-256 is stored.

A key reads `mst_<prefix>_<secret>`: the prefix is what lists show, so people can tell
keys apart without the key ever being shown again.
"""
from __future__ import annotations

import hashlib
import secrets

from ..extensions import db
from ..labels import N_
from ..models import ApiKey, utcnow

KEY_PREFIX = "mst_"


def hash_key(key: str) -> str:
    # A random 256-bit key needs no slow hash: SHA-256 cannot be reversed and the space cannot be searched.
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(product_id, name: str, user_id=None) -> tuple[ApiKey, str]:
    """Add a key of `product_id` to the session; returns it and the key (the only time it exists in clear)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValueError(N_("Give the key a name of 1 to 120 characters (what uses it)."))  # translated on the page
    visible = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{visible}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(product_id=product_id, name=name, prefix=f"{KEY_PREFIX}{visible}", key_hash=hash_key(key),
                     created_by_user_id=user_id)
    db.session.add(api_key)
    return api_key, key


def revoke(api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
