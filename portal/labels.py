"""Words for stored codes (roles, audit actions, delivery states): the code stays in the database,
people read a translated label (the code itself when it has none)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def N_(text: str) -> str:
    """Marks a text for the catalog without translating it: texts stored in English (a job or a webhook
    may write them, e.g. why a number needs a reconnect) and translated where they are shown (`_(text)`)."""
    return text


# Roles as they appear inside a sentence or a table ("as agent"); form choices capitalize them.
ROLE_LABELS = {"owner": _l("owner"), "admin": _l("admin"), "agent": _l("agent")}
ROLE_CHOICE_LABELS = {"owner": _l("Owner"), "admin": _l("Admin"), "agent": _l("Agent")}

AUDIT_LABELS = {
    "account.needs_reconnect": _l("Number needs a reconnect"),
    "api_key.created": _l("API key created"),
    "api_key.revoked": _l("API key revoked"),
    "conversation.assigned": _l("Conversation assigned"),
    "conversation.status": _l("Conversation status changed"),
    "member.added": _l("Member added"),
    "member.invitation_revoked": _l("Invitation withdrawn"),
    "member.invited": _l("Invitation created"),
    "member.joined": _l("Member joined"),
    "member.removed": _l("Member removed"),
    "member.role_changed": _l("Role changed"),
    "meta.connect_refused": _l("Meta connection refused"),
    "meta.connected": _l("Connected to Meta"),
    "meta.reconnected": _l("Reconnected to Meta"),
    "meta.disconnected": _l("Number disconnected"),
    "meta.deauthorized": _l("Meta access removed by the user"),
    "meta.data_deleted": _l("Data deletion requested by the user"),
    "outgoing.endpoint_added": _l("Webhook endpoint added"),
    "outgoing.endpoint_paused": _l("Webhook endpoint paused"),
    "outgoing.endpoint_removed": _l("Webhook endpoint removed"),
    "outgoing.endpoint_resumed": _l("Webhook endpoint resumed"),
    "product.created": _l("Product created"),
    "product.settings_changed": _l("Product settings changed"),
    "template.created": _l("Template created"),
    "template.deleted": _l("Template deleted"),
    "whatsapp.account_alert": _l("Alert from Meta on the account"),
    "whatsapp.needs_reconnect": _l("Number needs a reconnect"),
}

DELIVERY_STATUS_LABELS = {"pending": _l("pending"), "retrying": _l("retrying"), "delivered": _l("delivered"),
                          "failed": _l("failed"), "paused": _l("paused")}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def audit_label(action: str) -> str:
    return str(AUDIT_LABELS.get(action, action))


def delivery_status_label(status: str) -> str:
    return str(DELIVERY_STATUS_LABELS.get(status, status))


def init_app(app):
    app.jinja_env.globals.update(role_label=role_label, audit_label=audit_label,
                                 delivery_status_label=delivery_status_label)
