"""Bearer keys: who is calling, which product is in scope, and how often they may call."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, request
from flask_limiter.util import get_remote_address
from sqlalchemy import or_, update

from ..extensions import db, limiter
from ..models import ApiKey, utcnow
from ..tenancy import enter_product_for_api_key
from .errors import ApiError
from .keys import hash_key

PUBLIC_ENDPOINTS = {"api.openapi_json", "api.openapi_page"}
LAST_USED_EVERY = timedelta(minutes=1)  # last use is written at most this often per key


def bearer_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def rate_limit_key() -> str:
    """Counted per key (its hash: the key itself never reaches the limiter's storage); without one, per address."""
    key = bearer_key()
    return f"api-key:{hash_key(key)}" if key else f"api-ip:{get_remote_address()}"


def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    key = bearer_key()
    if key is None:
        raise ApiError(401, "unauthorized", "Send your API key as `Authorization: Bearer <key>`.",
                       {"WWW-Authenticate": 'Bearer realm="maestra"'})
    api_key = enter_product_for_api_key(hash_key(key))
    if api_key is None:
        raise ApiError(401, "unauthorized", "This API key is not valid or was revoked.",
                       {"WWW-Authenticate": 'Bearer realm="maestra", error="invalid_token"'})
    _note_use(api_key)
    return None


def _note_use(api_key: ApiKey) -> None:
    now = utcnow()
    db.session.execute(
        update(ApiKey).where(ApiKey.id == api_key.id,
                             or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now).execution_options(synchronize_session=False)
    )
    db.session.commit()


def register(bp) -> None:
    bp.before_request(_authenticate)
    limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=rate_limit_key)(bp)

    @bp.after_request
    def _no_store(response):
        # Answers hold a product's data: never kept by a proxy or a browser cache.
        response.headers.setdefault("Cache-Control", "no-store")
        return response
