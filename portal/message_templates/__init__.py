"""Message templates: sync from Meta, live status from Meta's webhooks, the templates page,
and sending a template (the only message WhatsApp delivers once the 24-hour window is closed)."""
from flask_babel import lazy_gettext as _l

from ..tenancy import product_blueprint

bp = product_blueprint("message_templates", __name__)

from . import routes  # noqa: E402,F401


def init_app(app):
    """Registers the blueprint, the nav link, the `templates` CLI, the template webhooks'
    handlers, the sync on connect and the engine's jobs (declared in sync.py)."""
    from .. import layout
    from ..signals import numbers_linked
    from ..webhook import account_events
    from . import status, sync  # noqa: F401  (sync declares the jobs)
    from .cli import templates_cli
    from .labels import label
    from .routes import picker_context, template_render, template_slots

    app.register_blueprint(bp)
    layout.add_nav(app, "message_templates.index", _l("Templates"), 15)
    app.cli.add_command(templates_cli)
    for field, handler in status.HANDLERS.items():
        account_events.register(field, handler)
    numbers_linked.connect(sync.sync_linked_product)
    app.add_template_global(picker_context, "template_picker_context")
    app.add_template_global(template_slots, "template_slots")
    app.add_template_global(template_render, "template_render")
    app.add_template_global(label, "template_label")
