"""Sync: each product's templates from `GET /{waba-id}/message_templates`, every page, per WABA.

Runs on connect (the numbers_linked signal), from the "Sync now" button, every few hours on
the job engine, and from `flask --app app templates sync [PRODUCT_ID]`. A WABA's listing
replaces what the product kept for it only once every page was read: a failed page changes
nothing. Each WABA is read with the token of one of the product's numbers in it.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from ..extensions import db
from ..jobs import crontab, enqueue, job, periodic
from ..meta.graph import Graph, GraphError
from ..models import NEEDS_RECONNECT, MessageTemplate, Product, WhatsAppAccount, utcnow
from ..tenancy import current_product_id, enter_product, leave_product

log = logging.getLogger(__name__)

FIELDS = "id,name,status,category,language,components,parameter_format,quality_score,rejected_reason"
PAGE_LIMIT = 100
MAX_PAGES = 200  # 20,000 templates: far above Meta's per-WABA limit; stops a paging loop


@dataclass
class SyncResult:
    templates: int = 0  # kept after the sync
    removed: int = 0
    problems: list[str] = field(default_factory=list)  # per WABA, in words (English: logs and CLI)
    failed: dict[str, str] = field(default_factory=dict)  # WABA id -> Meta's error, for the page's own words


def product_wabas(product_id: uuid.UUID) -> dict[str, WhatsAppAccount]:
    """WABA id -> one of the product's numbers in it whose token can still be used."""
    accounts = db.session.execute(
        select(WhatsAppAccount).where(WhatsAppAccount.product_id == product_id)
        .order_by(WhatsAppAccount.created_at).execution_options(all_products=True)
    ).scalars()
    wabas: dict[str, WhatsAppAccount] = {}
    for account in accounts:
        if account.state != NEEDS_RECONNECT:
            wabas.setdefault(account.business_account_id, account)
    return wabas


def fetch_all(account: WhatsAppAccount) -> list[dict]:
    """Every template of the account's WABA, following `paging.next` to the last page."""
    graph = Graph(account.access_token)
    page = graph.get(f"{account.business_account_id}/message_templates", params={"fields": FIELDS, "limit": PAGE_LIMIT})
    found = []
    for _ in range(MAX_PAGES):
        data = page.get("data")
        if not isinstance(data, list):
            raise GraphError("Meta's template list was not the JSON expected.", kind="malformed")
        found += [t for t in data if isinstance(t, dict) and t.get("name") and t.get("language")]
        following = (page.get("paging") or {}).get("next") if isinstance(page.get("paging"), dict) else None
        if not following:
            return found
        page = graph.get(following)
    raise GraphError("Meta's template list did not end.", kind="malformed")


def sync_product(product_id: uuid.UUID) -> SyncResult:
    """Sync every WABA of one product; commits per WABA. Works with or without the product in scope."""
    result = SyncResult()
    previous = current_product_id()
    enter_product(product_id)
    try:
        for waba_id, account in product_wabas(product_id).items():
            try:
                listing = fetch_all(account)
            except GraphError as error:
                result.problems.append(f"WhatsApp account {waba_id}: {error}")
                result.failed[waba_id] = str(error)
                log.info("template sync of WABA %s failed: code=%s kind=%s", waba_id, error.code, error.kind)
                continue
            kept, removed = store_listing(product_id, waba_id, listing)
            db.session.commit()
            result.templates += kept
            result.removed += removed
    finally:
        leave_product()
        if previous is not None:
            enter_product(previous)
    return result


def store_listing(product_id: uuid.UUID, waba_id: str, listing: list[dict]) -> tuple[int, int]:
    """Make the product's templates of `waba_id` what Meta listed (upsert; drop the ones Meta no longer has)."""
    existing = {(t.name, t.language): t for t in db.session.execute(
        select(MessageTemplate).where(MessageTemplate.product_id == product_id,
                                      MessageTemplate.business_account_id == waba_id)).scalars()}
    now = utcnow()
    seen = set()
    for item in listing:
        key = (str(item["name"])[:512], str(item["language"])[:16])
        seen.add(key)
        template = existing.get(key)
        if template is None:
            template = MessageTemplate(product_id=product_id, business_account_id=waba_id, name=key[0], language=key[1])
            db.session.add(template)
        apply_listing_item(template, item)
        template.synced_at = now
    removed = [t for key, t in existing.items() if key not in seen]
    for template in removed:
        db.session.delete(template)
    return len(seen), len(removed)


def apply_listing_item(template: MessageTemplate, item: dict) -> None:
    template.meta_id = str(item.get("id") or template.meta_id or "")[:64] or None
    template.category = _short(item.get("category"), 32) or template.category
    template.status = _short(item.get("status"), 32) or template.status or "PENDING"
    template.parameter_format = _short(item.get("parameter_format"), 16) or "POSITIONAL"
    quality = item.get("quality_score")
    template.quality_score = _short(quality.get("score") if isinstance(quality, dict) else quality, 16)
    reason = item.get("rejected_reason")
    template.rejected_reason = str(reason) if reason and reason != "NONE" else None
    components = item.get("components")
    template.components = components if isinstance(components, list) else []


def _short(value, length: int) -> str | None:
    return str(value)[:length] if isinstance(value, (str, int)) and str(value) else None


# --- on the job engine ----------------------------------------------------------------

@job(product_job=True)
def sync_product_job(product_id) -> None:
    """Sync one product's templates. A WABA that fails is logged; the next periodic sync repairs it."""
    result = sync_product(uuid.UUID(str(product_id)))
    if result.problems:
        log.warning("template sync of product %s: %d problem(s)", product_id, len(result.problems))


@periodic(crontab(minute="17", hour="*/4"))
def sync_all_products() -> None:
    """Every few hours: a sync job per product with a linked number."""
    product_ids = db.session.execute(
        select(WhatsAppAccount.product_id).distinct().execution_options(all_products=True)).scalars().all()
    for product_id in product_ids:
        enqueue(sync_product_job, str(product_id))


def sync_linked_product(sender, product_id=None, **extra) -> None:
    """Receiver of portal.signals.numbers_linked: the new numbers' templates, on the engine."""
    if product_id is not None and db.session.get(Product, product_id) is not None:
        enqueue(sync_product_job, str(product_id))
