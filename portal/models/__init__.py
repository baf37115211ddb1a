"""All models, importable from one place (Alembic sees every table through this)."""
from .accounts import CONNECTED, NEEDS_RECONNECT, WhatsAppAccount
from .audit import AuditEvent
from .base import TenantScoped, utcnow
from .events import AccountEvent, ConnectAttempt, DataDeletionRequest, RejectedWebhook, UnroutedChange, WebhookDelivery
from .inbox import CONVERSATION_STATUSES, INBOUND, OUTBOUND, STATUS_RANK, Contact, Conversation, Message, PendingStatus
from .invitations import Invitation, PasswordReset
from .teamwork import CannedReply, ConversationNote
from .users import MANAGER_ROLES, ROLES, Membership, Product, User

__all__ = [
    "AccountEvent", "AuditEvent", "CONNECTED", "CONVERSATION_STATUSES", "CannedReply", "ConversationNote",
    "Invitation", "PasswordReset", "ConnectAttempt", "Contact", "Conversation",
    "DataDeletionRequest", "INBOUND", "MANAGER_ROLES", "Membership", "Message", "NEEDS_RECONNECT",
    "OUTBOUND", "PendingStatus", "Product", "ROLES", "RejectedWebhook", "STATUS_RANK", "TenantScoped",
    "UnroutedChange", "User", "WebhookDelivery", "WhatsAppAccount", "utcnow",
]
