"""`flask --app app hooks add PRODUCT_ID URL [--event TYPE ...]` (prints the signing secret) and `list`."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit
from ..cli import product_or_fail
from ..extensions import db
from ..models import OutgoingEndpoint
from .endpoints import EndpointError, add_endpoint
from .events import EVENT_TYPES

hooks_cli = AppGroup("hooks", help="Manage products' outgoing webhook endpoints.")


@hooks_cli.command("add")
@click.argument("product_id")
@click.argument("url")
@click.option("--event", "events", multiple=True, type=click.Choice(EVENT_TYPES),
              help="An event to send (repeat the option); default: all of them.")
def add(product_id, url, events):
    """Add an endpoint; prints its signing secret (shown once)."""
    product = product_or_fail(product_id)
    try:
        endpoint = add_endpoint(product.id, url, events or EVENT_TYPES)
    except EndpointError as error:
        raise click.ClickException(str(error)) from None
    db.session.flush()
    audit.record("outgoing.endpoint_added", product_id=product.id, user_id=None, endpoint_id=str(endpoint.id),
                 url=endpoint.url)
    db.session.commit()
    click.echo(f"added endpoint {endpoint.id} for {product.name}: {endpoint.url} ({', '.join(endpoint.events)})")
    click.echo(f"signing secret (verify X-Maestra-Signature with it): {endpoint.secret}")


@hooks_cli.command("list")
@click.argument("product_id")
def list_hooks(product_id):
    """A product's endpoints and their state."""
    product = product_or_fail(product_id)
    for e in db.session.execute(select(OutgoingEndpoint).where(OutgoingEndpoint.product_id == product.id)
                                .execution_options(all_products=True)).scalars():
        click.echo(f"{e.id}  {e.url}  {'paused' if e.paused_at else 'active'}  {', '.join(e.events)}")
