"""`flask --app app templates sync [PRODUCT_ID]`: sync templates from Meta now."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..cli import product_or_fail
from ..extensions import db
from ..models import Product, WhatsAppAccount
from .sync import sync_product

templates_cli = AppGroup("templates", help="WhatsApp message templates.")


@templates_cli.command("sync")
@click.argument("product_id", required=False)
def sync_command(product_id):
    """Sync one product's templates (or every product with a linked number) from Meta."""
    if product_id:
        products = [product_or_fail(product_id)]
    else:
        ids = db.session.execute(select(WhatsAppAccount.product_id).distinct()).scalars().all()
        products = [db.session.get(Product, i) for i in ids]
    failed = False
    for product in products:
        result = sync_product(product.id)
        click.echo(f"{product.name}: {result.templates} template(s), {result.removed} removed")
        for problem in result.problems:
            click.echo(f"  failed: {problem}", err=True)
            failed = True
    if failed:
        raise click.ClickException("some WhatsApp accounts could not be synced (see above)")
