"""Products: the list of one's products, and each product's dashboard, members and audit log."""
from flask import Blueprint

from ..tenancy import product_blueprint

bp = Blueprint("products", __name__)  # pages outside a product (the product list)
product_bp = product_blueprint("product", __name__)  # pages of one product

from . import routes  # noqa: E402,F401
