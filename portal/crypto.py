"""Tokens at rest: one column type that encrypts with MultiFernet.

Every token column uses EncryptedText, so no code path can store a token in
clear. The first key of TOKEN_ENCRYPTION_KEYS encrypts; all of them decrypt,
which is what lets `flask tokens rotate` retire an old key.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class TokenDecryptError(RuntimeError):
    """A stored token cannot be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    ext = current_app.extensions
    keys = tuple(current_app.config["TOKEN_ENCRYPTION_KEYS"])
    cached = ext.get("maestra_fernet")
    if cached is None or cached[0] != keys:
        cached = (keys, MultiFernet([Fernet(k) for k in keys]))
        ext["maestra_fernet"] = cached
    return cached[1]


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        # Never echo the ciphertext: say what to do instead.
        raise TokenDecryptError("a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEYS") from None


def rotate(value: str) -> str:
    """Re-encrypt a stored ciphertext with the first key."""
    try:
        return _fernet().rotate(value.encode()).decode()
    except InvalidToken:
        raise TokenDecryptError("a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEYS") from None


class EncryptedText(TypeDecorator):
    """Text column holding a Fernet ciphertext. None and "" (a wiped token) stay as they are."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def process_result_value(self, value, dialect):
        if value is None or value == "":
            return value
        return decrypt(value)
