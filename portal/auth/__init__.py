from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import link_routes, routes  # noqa: E402,F401
