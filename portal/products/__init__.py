"""Products: the list of one's products, and each product's dashboard, members and audit log."""
from flask import Blueprint

from .. import labels
from ..tenancy import product_blueprint

bp = Blueprint("products", __name__)  # pages outside a product (the product list)
product_bp = product_blueprint("product", __name__)  # pages of one product
bp.record_once(lambda state: labels.init_app(state.app))  # role and audit labels for every template

from . import routes  # noqa: E402,F401
