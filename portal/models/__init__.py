"""All models, importable from one place (Alembic sees every table through this)."""
from .accounts import CONNECTED, NEEDS_RECONNECT, WhatsAppAccount
from .audit import AuditEvent
from .base import TenantScoped, utcnow
from .events import AccountEvent, ConnectAttempt, DataDeletionRequest, RejectedWebhook, UnroutedChange, WebhookDelivery
from .inbox import INBOUND, OUTBOUND, STATUS_RANK, Contact, Conversation, Message, PendingStatus
from .templates import MessageTemplate
from .users import MANAGER_ROLES, ROLES, Membership, Product, User

__all__ = [
    "AccountEvent", "AuditEvent", "CONNECTED", "ConnectAttempt", "Contact", "Conversation",
    "DataDeletionRequest", "INBOUND", "MANAGER_ROLES", "Membership", "Message", "MessageTemplate", "NEEDS_RECONNECT",
    "OUTBOUND", "PendingStatus", "Product", "ROLES", "RejectedWebhook", "STATUS_RANK", "TenantScoped",
    "UnroutedChange", "User", "WebhookDelivery", "WhatsAppAccount", "utcnow",
]
