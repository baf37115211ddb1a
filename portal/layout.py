"""What each feature adds to the shared layout: product navigation links and dashboard panels.

Features register here from their init_app so the base templates need not
know every feature.
"""
from __future__ import annotations

from flask import current_app, g
from flask_login import current_user

from .extensions import db


def _registry(app):
    return app.extensions.setdefault("maestra_layout", {"nav": [], "panels": []})


def add_nav(app, endpoint: str, label: str, order: int = 50) -> None:
    """A link in the product navigation (endpoint of a product blueprint)."""
    _registry(app)["nav"].append((order, endpoint, label))


def add_panel(app, template: str, order: int = 50) -> None:
    """A template included on the product dashboard (a partial that may refresh itself)."""
    _registry(app)["panels"].append((order, template))


def init_app(app):
    add_nav(app, "product.dashboard", "Channels", 20)  # numbers, Meta connection, health, activity
    add_nav(app, "product.members", "Team", 80)
    add_nav(app, "product.audit_log", "Audit log", 90)

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
            return [(endpoint, label) for _, endpoint, label in sorted(_registry(current_app)["nav"])]

        def dashboard_panels():
            return [template for _, template in sorted(_registry(current_app)["panels"])]

        return {
            "current_user_products": current_user_products,
            "product_nav_links": product_nav_links,
            "dashboard_panels": dashboard_panels,
        }
