"""Product scope: the ONE place a product is loaded and membership and role checked.

Every product page lives on a blueprint made by `product_blueprint()`, under
`/p/<product_id>/`. Before any of its views runs, the product is loaded
through the current user's membership; a product that does not exist and a
product the user is not a member of both answer 404.

While a product is in scope, every ORM statement on a `TenantScoped` model
(select, update, delete) is filtered by its product_id, and every new
`TenantScoped` row gets it, by the session hooks at the bottom of this file.
A view therefore cannot forget the scope. Any other statement that reaches a
tenant table while a product is in scope (a Core `select(Message.__table__)`,
`connection.execute`, `text()`) must carry that product's id among its
parameters, or it fails with TenantScopeError before it runs (the engine hook
`_refuse_unscoped_sql`), unless it says `all_products`. Code that works across
products on purpose (the webhook router, the CLI, jobs of no product) runs with
no product in scope and says which product it writes to.
"""
from __future__ import annotations

import contextvars
import re
import uuid
from functools import wraps

from flask import Blueprint, abort, g, has_app_context, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, with_loader_criteria

from .extensions import db
from .models import ApiKey, Membership, Product
from .models.base import TenantScoped

PRODUCT_URL_PREFIX = "/p/<uuid:product_id>"


class TenantScopeError(RuntimeError):
    """A write tried to cross the product in scope."""


def current_product_id() -> uuid.UUID | None:
    if not has_app_context():
        return None
    return g.get("tenant_product_id")


def current_product() -> Product:
    return g.product


def current_membership() -> Membership:
    return g.membership


def product_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A blueprint whose every route is a product page under /p/<product_id>/."""
    bp = Blueprint(name, import_name, url_prefix=PRODUCT_URL_PREFIX, **kwargs)

    @bp.url_value_preprocessor
    def _pop_product_id(endpoint, values):
        g.requested_product_id = values.pop("product_id", None) if values else None

    @bp.url_defaults
    def _add_product_id(endpoint, values):
        if "product_id" not in values and g.get("tenant_product_id") is not None:
            values["product_id"] = g.tenant_product_id

    bp.before_request(_enter_product_scope)
    return bp


def _enter_product_scope():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    if enter_product_as_member(g.requested_product_id) is None:
        abort(404)


def enter_product_as_member(product_id) -> Membership | None:
    """Load the current user's membership of `product_id` and put that product in scope.

    Returns None (and enters nothing) when the user is not a member: callers answer
    404, the same as for a product that does not exist. Every product page comes
    through here, and so does the one product flow that cannot carry the product in
    its URL (Meta's OAuth callback).
    """
    membership = db.session.execute(
        select(Membership)
        .options(joinedload(Membership.product))  # one query for both, on every product page
        .where(Membership.product_id == product_id, Membership.user_id == current_user.id)
        .execution_options(all_products=True)
    ).scalar_one_or_none()
    if membership is None:
        return None
    g.membership = membership
    g.product = membership.product
    g.tenant_product_id = membership.product_id
    return membership


def enter_product_for_api_key(key_hash: str):
    """Put the product of a live API key in scope (the product API's entry: no user, no membership).

    Returns the key, or None (and enters nothing) when no live key has that hash: callers
    answer 401. From here on the key's product is scoped exactly like a member's product
    page, so another product's objects answer 404.
    """
    found = db.session.execute(
        select(ApiKey, Product).join(Product, Product.id == ApiKey.product_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        .execution_options(all_products=True)
    ).first()
    if found is None:
        return None
    g.api_key, g.product = found
    g.tenant_product_id = found[0].product_id
    return found[0]


def enter_product(product_id: uuid.UUID) -> None:
    """Put a product in scope outside a product request (CLI, background work)."""
    g.tenant_product_id = product_id


def leave_product() -> None:
    g.pop("tenant_product_id", None)


def require_role(*roles: str):
    """Allow a product view only to members with one of `roles` (others get 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if g.membership.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def get_or_404(model, object_id):
    """Fetch one object of the product in scope by id; another product's object is a 404."""
    if not issubclass(model, TenantScoped) or current_product_id() is None:
        raise TenantScopeError(f"get_or_404({model.__name__}) needs a product in scope")
    try:
        object_id = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id))
    except ValueError:
        abort(404)
    obj = db.session.execute(select(model).where(model.id == object_id)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


@event.listens_for(Session, "do_orm_execute")
def _filter_by_product(state):
    product_id = current_product_id()
    if product_id is None or state.execution_options.get("all_products"):
        return
    if state.is_column_load:  # refreshing an object already loaded, by its primary key: its own row only
        state.update_execution_options(tenant_row_refresh=True)
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(TenantScoped, lambda cls: cls.product_id == product_id, include_aliases=True)
        )


@event.listens_for(Session, "before_flush")
def _stamp_product(session, flush_context, instances):
    product_id = current_product_id()
    if product_id is None:
        return
    for obj in session.new:
        if isinstance(obj, TenantScoped):
            if obj.product_id is None:
                obj.product_id = product_id
            elif obj.product_id != product_id:
                raise TenantScopeError("a new row names a product other than the one in scope")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and obj.product_id != product_id:
            raise TenantScopeError("a changed row belongs to a product other than the one in scope")


# Statements the ORM's flush writes for objects already checked by _stamp_product (rows loaded
# through the scope, changed or deleted by primary key) are not checked again.
_flushing: contextvars.ContextVar[bool] = contextvars.ContextVar("tenancy_flushing", default=False)


@event.listens_for(Session, "before_flush")
def _flush_begins(session, flush_context, instances):
    _flushing.set(True)


@event.listens_for(Session, "after_flush_postexec")
def _flush_ends(session, flush_context):
    _flushing.set(False)


@event.listens_for(Session, "after_soft_rollback")
def _flush_failed(session, previous_transaction):
    _flushing.set(False)


_tenant_tables_pattern: re.Pattern | None = None


def _tenant_tables() -> re.Pattern:
    """A pattern matching the name of any TenantScoped table in SQL text."""
    global _tenant_tables_pattern
    if _tenant_tables_pattern is None:
        names = sorted({mapper.local_table.name for mapper in db.Model.registry.mappers
                        if issubclass(mapper.class_, TenantScoped)})
        _tenant_tables_pattern = re.compile(r'\b"?(' + "|".join(map(re.escape, names)) + r')"?\b')
    return _tenant_tables_pattern


def _flat(parameters):
    if isinstance(parameters, dict):
        yield from parameters.values()
    elif isinstance(parameters, (list, tuple)):
        for value in parameters:
            if isinstance(value, (list, tuple, dict)):
                yield from _flat(value)
            else:
                yield value


def names_product(parameters, product_id: uuid.UUID) -> bool:
    """Whether `product_id` is among a statement's bound parameters (in any of its stored forms)."""
    forms = {product_id, product_id.hex, str(product_id)}
    return any(value in forms for value in _flat(parameters) if isinstance(value, (uuid.UUID, str)))


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_unscoped_sql(conn, cursor, statement, parameters, context, executemany):
    product_id = current_product_id()
    options = context.execution_options if context is not None else {}
    if product_id is None or options.get("all_products") or options.get("tenant_row_refresh"):
        return
    if _flushing.get() or not _tenant_tables().search(statement):
        return
    if not names_product(parameters, product_id):
        raise TenantScopeError("a statement on a tenant table does not name the product in scope "
                               "(filter by product_id, or say all_products=True)")


def init_app(app):
    @app.teardown_request
    def _forget_request_globals(exc):
        # g holds the request's product scope, its user and its CSRF token; none of it may
        # outlive the request, even where several requests share one app context (tests, CLI).
        for name in list(vars(g)):
            g.pop(name, None)
