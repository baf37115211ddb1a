"""Adding, pausing and resuming a product's endpoints (used by the pages and the CLI)."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..jobs import enqueue_after_commit
from ..models import OutgoingDelivery, OutgoingEndpoint, utcnow
from .events import EVENT_TYPES
from .safety import UnsafeDestination, check_url
from .signing import new_secret


class EndpointError(ValueError):
    """The endpoint cannot be added as asked; the message says why."""


def add_endpoint(product_id, url: str, event_types, description: str | None = None) -> OutgoingEndpoint:
    """Add an endpoint to the session, with a new signing secret (`endpoint.secret`)."""
    url = (url or "").strip()
    try:
        check_url(url)
    except UnsafeDestination as error:
        raise EndpointError(str(error)) from None
    chosen = sorted(set(event_types or ()))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown or not chosen:
        raise EndpointError(_("Choose at least one event among: %(events)s.", events=", ".join(EVENT_TYPES)))
    endpoint = OutgoingEndpoint(product_id=product_id, url=url, secret=new_secret(), events=chosen,
                                description=(description or "").strip()[:200] or None)
    db.session.add(endpoint)
    return endpoint


def paused() -> list[OutgoingEndpoint]:
    return list(db.session.execute(select(OutgoingEndpoint).where(OutgoingEndpoint.paused_at.is_not(None))).scalars())


def resume(endpoint: OutgoingEndpoint) -> int:
    """Unpause and send again what waited; the caller commits (the jobs run after it)."""
    from .delivery import deliver

    endpoint.paused_at = endpoint.paused_reason = endpoint.failing_since = None
    waiting = db.session.execute(select(OutgoingDelivery).where(
        OutgoingDelivery.endpoint_id == endpoint.id, OutgoingDelivery.status == "paused")).scalars().all()
    for delivery in waiting:
        delivery.status, delivery.next_attempt_at = "pending", utcnow()
        enqueue_after_commit(deliver, delivery.product_id, delivery.id)
    return len(waiting)
