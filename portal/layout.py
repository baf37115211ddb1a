"""What each feature adds to the shared layout: product navigation links and dashboard panels.

Features register here from their init_app so the base templates need not
know every feature.
"""
from __future__ import annotations

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import db
from .models import MANAGER_ROLES


def _registry(app):
    return app.extensions.setdefault("maestra_layout", {"nav": [], "panels": []})


def add_nav(app, endpoint: str, label, order: int = 50, roles: tuple[str, ...] | None = None) -> None:
    """A link in the product navigation (endpoint of a product blueprint); `label` is a lazy_gettext
    string (translated when shown); `roles` limits it to members with those roles."""
    _registry(app)["nav"].append((order, endpoint, label, roles))


def add_panel(app, template: str, order: int = 50) -> None:
    """A template included on the product dashboard (a partial that may refresh itself)."""
    _registry(app)["panels"].append((order, template))


def _order(link):
    return link[0], link[1]  # labels are lazy strings: never compared


def init_app(app):
    add_nav(app, "product.dashboard", _l("Channels"), 20)  # numbers, Meta connection, health, activity
    add_nav(app, "product.members", _l("Team"), 80)
    add_nav(app, "product.audit_log", _l("Audit log"), 90)
    add_nav(app, "product.settings", _l("Settings"), 95, roles=MANAGER_ROLES)

    @app.get("/favicon.ico")
    def favicon():
        # Browsers ask for it on every site whatever the page links; without it each page logged a 404.
        return app.send_static_file("favicon.ico")

    @app.context_processor
    def _layout_helpers():
        def current_user_products():
            if not current_user.is_authenticated:
                return []
            if "user_products" not in g:
                # The switcher lists the user's own products only (no product scope applies to Product).
                g.user_products = db.session.execute(current_user.products()).scalars().all()
            return g.user_products

        def product_nav_links():
            role = g.membership.role if g.get("membership") else None
            return [(endpoint, label) for _, endpoint, label, roles in sorted(_registry(current_app)["nav"], key=_order)
                    if roles is None or role in roles]

        def dashboard_panels():
            return [template for _, template in sorted(_registry(current_app)["panels"])]

        return {
            "current_user_products": current_user_products,
            "product_nav_links": product_nav_links,
            "dashboard_panels": dashboard_panels,
        }
