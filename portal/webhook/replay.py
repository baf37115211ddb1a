"""Replay kept (unrouted) changes once their number is linked to a product.

Storing is idempotent (see ingest), so a replay that runs twice, or at the
same time as another, still stores each event once. A change that is still
unroutable stays kept for a later replay.

Three ways in: the connect flow's signal (replay_linked_numbers), `flask webhooks
replay` by hand, and the engine's catch-up (catch_up, every minute). The catch-up
closes a race the signal cannot: on PostgreSQL a drain that read the routes just
before a link committed keeps its change as unrouted, and commits it after the
link's replay has already looked.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..jobs import crontab, periodic
from ..meta.payloads import change_from_raw
from ..models import UnroutedChange, WhatsAppAccount
from ..models.base import utcnow
from ..tenancy import current_product_id, enter_product, leave_product
from .ingest import store_changes

log = logging.getLogger(__name__)
BATCH_SIZE = 500

kept = UnroutedChange.__table__


@dataclass
class ReplayResult:
    replayed: int = 0  # changes now stored for a product
    still_unrouted: int = 0


def replay(phone_number_ids=None, batch_size: int = BATCH_SIZE) -> ReplayResult:
    """Replay every kept change (or only those of `phone_number_ids` and their WABAs), committing per batch."""
    condition = kept.c.replayed_at.is_(None)
    if phone_number_ids is not None:
        numbers = list(phone_number_ids)
        wabas = list(db.session.execute(
            select(WhatsAppAccount.business_account_id).where(WhatsAppAccount.phone_number_id.in_(numbers))
            .execution_options(all_products=True)
        ).scalars())
        condition = and_(condition, or_(
            kept.c.phone_number_id.in_(numbers),
            and_(kept.c.phone_number_id.is_(None), kept.c.business_account_id.in_(wabas)),
        ))
    return _replay(condition, batch_size)


def replay_routable(batch_size: int = BATCH_SIZE) -> ReplayResult:
    """Replay the kept changes that some product's linked number (or its WABA) routes by now.
    Cheap when there are none: kept changes of numbers nobody linked are not read."""
    accounts = WhatsAppAccount.__table__  # every product's: routing is what decides the product
    condition = and_(kept.c.replayed_at.is_(None), or_(
        kept.c.phone_number_id.in_(select(accounts.c.phone_number_id)),
        and_(kept.c.phone_number_id.is_(None), kept.c.business_account_id.in_(select(accounts.c.business_account_id))),
    ))
    return _replay(condition, batch_size)


def _replay(condition, batch_size: int) -> ReplayResult:
    result = ReplayResult()
    last_id = None
    while True:
        query = select(kept.c.id, kept.c.change_key, kept.c.payload).where(condition).order_by(kept.c.id).limit(batch_size)
        if last_id is not None:
            query = query.where(kept.c.id > last_id)
        rows = db.session.execute(query).all()
        if not rows:
            return result
        last_id = rows[-1].id
        outcome = store_changes([change_from_raw(row.payload) for row in rows])
        done = [row.id for row in rows if row.change_key not in outcome.unrouted_keys]
        if done:
            db.session.execute(update(kept).where(kept.c.id.in_(done)).values(replayed_at=utcnow()))
        db.session.commit()
        result.replayed += len(done)
        result.still_unrouted += len(rows) - len(done)


def replay_linked_numbers(sender, product_id=None, phone_number_ids=(), **extra) -> None:
    """Receiver of portal.signals.numbers_linked: replay what was kept for the new numbers.

    Runs after the connect flow committed, possibly inside that product's request: the
    replay works across products (a WABA event may concern several), so it leaves the
    product scope while it runs. A failure is logged, never raised into the connect flow;
    `flask webhooks replay` catches up later.
    """
    previous = current_product_id()
    leave_product()
    try:
        result = replay(list(phone_number_ids))
        if result.replayed:
            log.info("replayed %d kept webhook change(s) for newly linked numbers", result.replayed)
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("replay after linking numbers failed (%s); run `flask webhooks replay`", type(error).__name__)
    finally:
        if previous is not None:
            enter_product(previous)


@periodic(crontab(minute="*"))
def catch_up() -> None:
    """Replay kept changes that a linked number routes by now."""
    result = replay_routable()
    if result.replayed:
        log.info("replayed %d kept webhook change(s) whose number is linked now", result.replayed)
