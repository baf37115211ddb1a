"""Command line: `flask --app app users|products|tokens ...`.

Each command prints what it did, and exits non-zero with a clear message on
bad input (click.ClickException does both).
"""
from __future__ import annotations

import uuid

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import column, select, table, update

from . import crypto
from .extensions import db
from .models import ROLES, Product, User
from .products.members import MemberError, add_member, create_product

users_cli = AppGroup("users", help="Manage portal users.")
products_cli = AppGroup("products", help="Manage products (tenants) and their members.")
tokens_cli = AppGroup("tokens", help="Manage the encrypted Meta tokens.")

# Every encrypted column, read and written as raw ciphertext by `tokens rotate`.
ENCRYPTED_COLUMNS = {"whatsapp_accounts": ("access_token", "oauth_access_token", "oauth_refresh_token"),
                     "outgoing_endpoints": ("secret",)}


def product_or_fail(product_id: str) -> Product:
    """The product a command names by id, or a one-line error (exit 1) for a malformed or unknown id."""
    try:
        product = db.session.get(Product, uuid.UUID(product_id))
    except ValueError:
        product = None
    if product is None:
        raise click.ClickException(f"no product with id {product_id}")
    return product


@users_cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user(email, password):
    """Create a user who can log in."""
    email = User.normalize_email(email)
    if "@" not in email or len(email) > 320:
        raise click.ClickException(f"not an email address: {email!r}")
    if len(password) < 8:
        raise click.ClickException("the password must be at least 8 characters")
    if db.session.execute(User.by_email(email)).first():
        raise click.ClickException(f"a user with email {email} already exists")
    user = User(email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created user {email}")


@users_cli.command("reset-link")
@click.argument("email")
def reset_link_cmd(email):
    """Print a one-time password reset link for a user (for portals without email)."""
    from .auth.links import reset_link

    user = db.session.execute(User.by_email(email)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user with email {User.normalize_email(email)}")
    with current_app.test_request_context():  # url_for needs a request; the link is the path on the portal
        link = reset_link(user, external=False)
    click.echo(f"reset link for {user.email} (works once; open it on the portal's address): {link}")


@products_cli.command("create")
@click.argument("name")
@click.option("--owner", "owner_email", required=True, help="Email of an existing user.")
@click.option("--timezone", default="UTC", show_default=True,
              help="The team's IANA time zone (every time its pages show), e.g. America/La_Paz.")
def create_product_cmd(name, owner_email, timezone):
    """Create a product with its first owner; prints the product id."""
    owner = db.session.execute(User.by_email(owner_email)).scalar_one_or_none()
    if owner is None:
        raise click.ClickException(f"no user with email {User.normalize_email(owner_email)}")
    try:
        product = create_product(name, owner, timezone)
    except MemberError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(product.id)


@products_cli.command("add-member")
@click.argument("product_id")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
def add_member_cmd(product_id, email, role):
    """Add an existing user to a product."""
    product = product_or_fail(product_id)
    try:
        add_member(product.id, email, role)
    except MemberError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"added {User.normalize_email(email)} to {product.name} as {role}")


@products_cli.command("list")
def list_products():
    """List products with their ids."""
    for product in db.session.execute(select(Product).order_by(Product.name)).scalars():
        click.echo(f"{product.id}  {product.name}")


@tokens_cli.command("rotate")
def rotate_tokens():
    """Re-encrypt every stored token with the first key of TOKEN_ENCRYPTION_KEYS."""
    rotated = 0
    for table_name, names in ENCRYPTED_COLUMNS.items():
        raw = table(table_name, column("id"), *(column(n) for n in names))
        for row in db.session.execute(select(raw)).mappings():
            values = {}
            for name in names:
                if row[name]:
                    try:
                        values[name] = crypto.rotate(row[name])
                    except crypto.TokenDecryptError as error:
                        db.session.rollback()
                        raise click.ClickException(f"{table_name} row {row['id']}: {error}; nothing was changed") from None
            if values:
                db.session.execute(update(raw).where(raw.c.id == row["id"]).values(**values))
                rotated += len(values)
    db.session.commit()
    click.echo(f"re-encrypted {rotated} token(s) with the first key")


def init_app(app):
    for group in (users_cli, products_cli, tokens_cli):
        app.cli.add_command(group)
