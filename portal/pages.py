"""Page-or-fragment in one place, and htmx response helpers."""
from __future__ import annotations

from flask import render_template
from flask_htmx import make_response as htmx_response

from .extensions import htmx

__all__ = ["htmx_response", "is_fragment_request", "render_page_or_fragment"]


def is_fragment_request() -> bool:
    """An htmx request wants a fragment, except a history restore, which needs the whole page."""
    return bool(htmx) and not htmx.history_restore_request


def render_page_or_fragment(page: str, fragment: str, **context):
    """Render the full page, or only its partial for htmx; the URL serves both, so Vary on it."""
    template = fragment if is_fragment_request() else page
    response = htmx_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response
