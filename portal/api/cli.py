"""`flask --app app api-keys create PRODUCT_ID --name NAME` (prints the key once) and `list`."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit
from ..cli import product_or_fail
from ..extensions import db
from ..models import ApiKey
from .keys import create_key

api_keys_cli = AppGroup("api-keys", help="Manage the product API's keys.")


@api_keys_cli.command("create")
@click.argument("product_id")
@click.option("--name", required=True, help="What will use the key.")
def create(product_id, name):
    """Create a key; prints it once (only its hash is kept)."""
    product = product_or_fail(product_id)
    try:
        api_key, key = create_key(product.id, name)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.flush()
    audit.record("api_key.created", product_id=product.id, user_id=None, key_id=str(api_key.id), name=api_key.name)
    db.session.commit()
    click.echo(f"created API key {api_key.prefix}… ({api_key.name}) for {product.name}; copy it now, it is not shown again:")
    click.echo(key)


@api_keys_cli.command("list")
@click.argument("product_id")
def list_keys(product_id):
    """A product's keys: prefix, name, last use, revoked."""
    product = product_or_fail(product_id)
    for k in db.session.execute(select(ApiKey).where(ApiKey.product_id == product.id)
                                .order_by(ApiKey.created_at).execution_options(all_products=True)).scalars():
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "live"
        click.echo(f"{k.prefix}…  {k.name}  last used {k.last_used_at or 'never'}  {state}")
