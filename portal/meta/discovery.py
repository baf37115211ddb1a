"""What a token can reach: who granted it, which WhatsApp Business Accounts and numbers.

Every call goes through the Graph client; each function does one Graph job
and returns plain values. Shapes follow Meta's documentation (see
/work/shared/meta-reference.md, "Discovering what was granted").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app

from .graph import Graph, GraphError, app_access_token

WABA_SCOPE = "whatsapp_business_management"
MAX_PAGES = 50  # a guard against a paging loop; 50 pages of numbers is far beyond any real account
PERMISSION_CODES = {10} | set(range(200, 300))  # "permission denied" family


@dataclass(frozen=True)
class TokenInfo:
    """debug_token's answer, reduced to what the portal uses."""

    is_valid: bool
    app_id: str | None
    user_id: str | None
    type: str | None
    expires_at: datetime | None  # None = never
    expires_at_given: bool = True  # False: debug_token did not say (then the exchange's expires_in counts)
    scopes: tuple[str, ...] = ()
    waba_ids: tuple[str, ...] | None = None  # None: the grant did not list them

    @property
    def has_waba_scope(self) -> bool:
        return WABA_SCOPE in self.scopes or self.waba_ids is not None


@dataclass(frozen=True)
class PhoneNumber:
    phone_number_id: str
    display_phone_number: str | None
    verified_name: str | None
    quality_rating: str | None


@dataclass
class BusinessAccount:
    waba_id: str
    name: str | None = None
    numbers: list[PhoneNumber] = field(default_factory=list)


def debug_token(token: str) -> TokenInfo:
    """`GET /debug_token?input_token=...&access_token=APPID|APPSECRET`."""
    body = Graph().get("debug_token", params={"input_token": token, "access_token": app_access_token()})
    data = body.get("data")
    if not isinstance(data, dict):
        raise GraphError("Meta's debug_token answer held no data.", kind="malformed")
    waba_ids = None
    for grant in data.get("granular_scopes") or []:
        if isinstance(grant, dict) and grant.get("scope") == WABA_SCOPE and grant.get("target_ids"):
            waba_ids = tuple(str(t) for t in grant["target_ids"])
    return TokenInfo(
        is_valid=data.get("is_valid") is True,
        app_id=_str_or_none(data.get("app_id")),
        user_id=_str_or_none(data.get("user_id")),
        type=_str_or_none(data.get("type")),
        expires_at=expiry_from_timestamp(data.get("expires_at")),
        expires_at_given="expires_at" in data,
        scopes=tuple(str(s) for s in data.get("scopes") or ()),
        waba_ids=waba_ids,
    )


def exchange_for_long_lived(token: str) -> tuple[str, int | None]:
    """`GET /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token`.

    Returns the long-lived token and its `expires_in` (None when absent).
    """
    cfg = current_app.config
    body = Graph().get("oauth/access_token", params={
        "grant_type": "fb_exchange_token",
        "client_id": cfg["META_APP_ID"],
        "client_secret": cfg["META_APP_SECRET"],
        "fb_exchange_token": token,
    })
    long_lived = body.get("access_token")
    if not isinstance(long_lived, str) or not long_lived:
        raise GraphError("Meta's answer to the token exchange held no token.", kind="malformed")
    return long_lived, _int_or_none(body.get("expires_in"))


def businesses_waba_ids(token: str) -> list[str]:
    """The fallback: `GET /me/businesses`, then `GET /{business_id}/owned_whatsapp_business_accounts`."""
    graph = Graph(token)
    waba_ids: list[str] = []
    for business in _all_pages(graph, "me/businesses", {"fields": "id,name"}):
        for waba in _all_pages(graph, f"{business['id']}/owned_whatsapp_business_accounts", {"fields": "id,name"}):
            if waba["id"] not in waba_ids:
                waba_ids.append(waba["id"])
    return waba_ids


def business_account_name(token: str, waba_id: str) -> str | None:
    """`GET /{waba_id}?fields=name`."""
    body = Graph(token).get(waba_id, params={"fields": "name"})
    return _str_or_none(body.get("name"))


def phone_numbers(token: str, waba_id: str) -> list[PhoneNumber]:
    """`GET /{waba_id}/phone_numbers`, following `paging.next`."""
    fields = "id,display_phone_number,verified_name,quality_rating"
    return [
        PhoneNumber(
            phone_number_id=item["id"],
            display_phone_number=_str_or_none(item.get("display_phone_number")),
            verified_name=_str_or_none(item.get("verified_name")),
            quality_rating=_str_or_none(item.get("quality_rating")),
        )
        for item in _all_pages(Graph(token), f"{waba_id}/phone_numbers", {"fields": fields})
    ]


def subscribe_app(token: str, waba_id: str) -> None:
    """`POST /{waba_id}/subscribed_apps`: without it no webhook of this account reaches the app."""
    body = Graph(token).post(f"{waba_id}/subscribed_apps")
    if body.get("success") is not True:
        raise GraphError("Meta did not confirm the webhook subscription.", kind="malformed")


def app_is_subscribed(token: str, waba_id: str) -> bool:
    """`GET /{waba_id}/subscribed_apps`: whether the master app still receives this account's webhooks."""
    app_id = str(current_app.config["META_APP_ID"])
    listed = Graph(token).get(f"{waba_id}/subscribed_apps").get("data")
    if not isinstance(listed, list):
        raise GraphError("Meta's subscribed_apps answer held no data.", kind="malformed")
    for entry in listed:  # (one short page: the apps subscribed to one account)
        data = entry.get("whatsapp_business_api_data") if isinstance(entry, dict) else None
        if isinstance(data, dict) and str(data.get("id")) == app_id:
            return True
    return False


def unsubscribe_app(token: str, waba_id: str) -> None:
    """`DELETE /{waba_id}/subscribed_apps`."""
    Graph(token).delete(f"{waba_id}/subscribed_apps")


def is_permission_error(error: GraphError) -> bool:
    return error.kind == "meta" and error.code in PERMISSION_CODES


def expiry_from_timestamp(value) -> datetime | None:
    """Meta's `expires_at` (unix seconds; 0 or absent = never) as naive UTC."""
    seconds = _int_or_none(value)
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


def expiry_from_seconds(value) -> datetime | None:
    seconds = _int_or_none(value)
    if not seconds:
        return None
    return datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=seconds)


def _all_pages(graph: Graph, path: str, params: dict) -> list[dict]:
    """Every item of a Graph list, following `paging.next` on Meta's own host only."""
    items: list[dict] = []
    next_url: str | None = path
    page_params: dict | None = params
    base = current_app.config["META_GRAPH_URL"] + "/"
    for _ in range(MAX_PAGES):
        body = graph.get(next_url, params=page_params)
        data = body.get("data")
        if not isinstance(data, list):
            raise GraphError("Meta's list answer held no data.", kind="malformed")
        for item in data:
            if not isinstance(item, dict) or not item.get("id"):
                raise GraphError("Meta's list answer held an item without an id.", kind="malformed")
            items.append({**item, "id": str(item["id"])})
        paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
        next_url = paging.get("next")
        if not next_url:
            return items
        if not isinstance(next_url, str) or not next_url.startswith(base):
            # The token goes with every page: never to a host other than Graph's.
            raise GraphError("Meta's paging link pointed outside the Graph API.", kind="malformed")
        page_params = None  # the next link carries its own query
    raise GraphError("Meta's list did not end.", kind="malformed")


def _str_or_none(value) -> str | None:
    return None if value is None or value == "" else str(value)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
