"""Media: inbound downloads (a job), storage per product, serving to members, uploads from the reply box."""
from ..tenancy import product_blueprint

bp = product_blueprint("media", __name__)

from . import routes  # noqa: E402,F401


def init_app(app):
    """Registers the media blueprint, its template helpers and (by importing them) its jobs."""
    from . import download, labels, uploads  # noqa: F401  (declare the jobs before the engine is made)

    app.register_blueprint(bp)
    labels.init_app(app)
    uploads.init_app(app)
